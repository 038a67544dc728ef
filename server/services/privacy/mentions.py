"""Where a person's name or phone may sit in someone else's free text, and its replacement.

Free text is where people write about each other: a meeting's minutes, a secretary's note of a
contact, the community's timeline (`党员 张三 接单`), a message written to the community about a
member who reported.  An erasure replaces the erased member's phone in all of it (a phone is
one person's), and their name too when no one else on record bears it; with a namesake a name
cannot be told apart, so only the rows tied to the member by id are changed and the erasure
says so.  The search is the database's (`LIKE`), so a large street is not read into memory.
"""

from __future__ import annotations

from tortoise.expressions import Q
from tortoise.models import Model

from server.models.community import (
    CommunityMessage,
    Need,
    OrderClaim,
    Resident,
    ServiceEvent,
    ServiceOrder,
    StandingPost,
    Volunteer,
)
from server.models.meetings import Meeting, MeetingAttendee
from server.models.mobility import (
    LostAttempt,
    LostCase,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.people import Member, MemberChange
from server.models.study import Submission

# Every column people write free text into, by model.  A new free-text column belongs here.
FREE_TEXT: tuple[tuple[type[Model], tuple[str, ...]], ...] = (
    (Meeting, ("topic", "minutes", "speaker", "place")),
    (MeetingAttendee, ("reason",)),
    (MemberChange, ("before", "after", "reason")),
    (Submission, ("content", "return_reason")),
    (ServiceEvent, ("actor", "note")),
    (CommunityMessage, ("text", "note")),
    (Need, ("text", "reason")),
    (ServiceOrder, ("title", "place", "rating_note")),
    (OrderClaim, ("note",)),
    (StandingPost, ("title", "duty")),
    (Volunteer, ("reason",)),
    (MobileMember, ("reach", "end_note", "refuse_reason", "place")),
    (MobileContact, ("note",)),
    (YearlyReport, ("org_life", "dues_where")),
    (LostCase, ("handling", "decision", "closed_note")),
    (LostAttempt, ("note",)),
)

PHONE_GONE = "（电话已删除）"
# A 流动 record's ways to reach someone and where they went: what an erasure and, for a refused
# 流入 report, the retention job empty (the dates and states stay, for the figures).
REACH_GONE: dict[str, object] = {
    "phone": None,
    "appid": None,
    "openid": None,
    "channel": None,
    "place": "",
    "reach": "",
    "other_contact": "",
    "certificate": "",
}
# A one-character "name" would eat ordinary words (王 in 王府井).
SHORTEST_NAME = 2


async def has_namesake(name: str, member_id: int) -> bool:
    """Someone else on record — a member, a reported member, a resident, a 流入 report — is
    called `name`."""
    if await Member.filter(name=name).exclude(id=member_id).exists():
        return True
    # Rows of nobody on the roster (member_id NULL) are someone else too: NOT (NULL = id) is
    # no row in SQL, hence the explicit test.
    someone_else = Q(member_id__isnull=True) | ~Q(member_id=member_id)
    if await Volunteer.filter(someone_else, name=name).exists():
        return True
    if await Resident.filter(name=name).exists():
        return True
    return await MobileMember.filter(someone_else, name=name).exists()


async def replace_everywhere(needle: str, replacement: str) -> int:
    """Replace `needle` in every free-text column; the rows changed."""
    if len(needle) < SHORTEST_NAME:
        return 0
    changed = 0
    for model, columns in FREE_TEXT:
        for column in columns:
            rows = await model.filter(**{f"{column}__contains": needle}).values("id", column)
            for row in rows:
                text = row[column]
                if isinstance(text, str) and needle in text:
                    await model.filter(id=row["id"]).update(
                        **{column: text.replace(needle, replacement)}
                    )
                    changed += 1
    return changed


def replaced(text: str | None, pairs: list[tuple[str, str]]) -> str | None:
    """`text` with each (needle, replacement) replaced; None stays None."""
    if text is None:
        return None
    for needle, replacement in pairs:
        if len(needle) >= SHORTEST_NAME:
            text = text.replace(needle, replacement)
    return text
