"""Reading what chat says about 流动党员: whom a message names (with or without a space after
the name, as older members write), the month 党费 is paid up to, and whose records a sender
may see — a branch's leaders their branches', a 联系人 the members they keep."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from tortoise.expressions import Q

from server.errors import NotFound, ValidationFailed
from server.models.mobility import Direction, DuesPaid, FlowStatus, MobileMember
from server.models.people import Member, MemberStatus, Organisation
from server.services.mobility import naming
from server.services.mobility.who import CONTACT_ROLES, PHONE
from server.services.people.access import is_leader, scope_of
from server.services.people.scope import subtree

_LEAD = " ：:，,。；;"
# Names are two to four characters; a longer one is written with a space after it.
_LONGEST_NAME = 4
# Besides the branch's leaders, these may log a contact with the branch's mobile members.


async def split_name(text: str) -> tuple[str, str, bool]:
    """`王强 电话 聊了近况` → ("王强", "电话 聊了近况", True); `王强电话聊了近况` → the same,
    the name being the longest start that is a member's.  The bool: a member of the street has
    that name (or phone) — a sentence that merely begins with a command's word has none."""
    text = " ".join(text.split())
    first, _, rest = text.partition(" ")
    if not first:
        return "", "", False
    statuses = [MemberStatus.ACTIVE, MemberStatus.STOPPED]
    if PHONE.fullmatch(first):
        return first, rest, await Member.exists(phone=first, status__in=statuses)
    starts = [first[:n] for n in range(min(_LONGEST_NAME, len(first) - 1), 1, -1)]
    names = await Member.filter(name__in=[first, *starts], status__in=statuses).values_list(
        "name", flat=True
    )
    known = {str(n) for n in names}
    if first in known:
        return first, rest, True
    for start in starts:  # longest first
        if start in known:
            after = f"{first[len(start) :]} {rest}".strip(_LEAD + " ")
            return start, after, True
    return first, rest, False


async def kept_ids(actor: Member) -> list[int]:
    """The members whose open record names `actor` as their 联系人."""
    rows = await MobileMember.filter(keeper_id=actor.id, current__not_isnull=True).values_list(
        "member_id", flat=True
    )
    return [int(str(r)) for r in rows if r is not None]


async def for_contact(actor: Member, given: str, tail: str | None = None) -> Member:
    """Whom a 支委委员, 党小组长 or 联系人 may log a contact with: the branch's members (for the
    committee and group leaders), or those the actor keeps — of namesakes, the one they are
    联系人 for."""
    given = given.strip()
    kept = await kept_ids(actor)
    mine = Q(id__in=kept)
    if actor.role in CONTACT_ROLES:
        mine |= Q(organisation_id=actor.organisation_id)
    which = Q(phone=given) if PHONE.fullmatch(given) else Q(name=given)
    if tail is not None:
        which &= Q(phone__endswith=tail)
    found = await Member.filter(mine, which, status=MemberStatus.ACTIVE)
    if len(found) > 1:  # the one they are named 联系人 for is the one they mean
        found = [m for m in found if m.id in kept] or found
    if not found:
        raise NotFound(f"您联系的党员里没有「{given[:20]}」。")
    if len(found) > 1:
        tails = is_leader(actor)  # a 党小组长 or 联系人 sees no phone tails beyond their scope
        raise ValidationFailed(await naming.ambiguous(found, tails=tails), field="name")
    return found[0]


async def branch_ids(actor: Member) -> list[int] | None:
    """The organisations whose records a leader keeps (None: every one, for an admin)."""
    scope = await scope_of(actor)
    if scope.everything:
        return None
    if scope.path is None or scope.group:
        return []
    ids = await Organisation.filter(subtree(scope.path)).values_list("id", flat=True)
    return [int(str(i)) for i in ids]


async def kept_records(actor: Member) -> list[MobileMember]:
    """The open 流出 records that name `actor` as their 联系人 (a keeper's own list)."""
    return await MobileMember.filter(
        keeper_id=actor.id, status=FlowStatus.ACTIVE, direction=Direction.OUT
    ).order_by("id")


async def pending_count(ids: list[int] | None) -> int:
    query = MobileMember.filter(direction=Direction.IN, status=FlowStatus.PENDING)
    if ids is not None:
        query = query.filter(branch_id__in=ids)
    return await query.count()


def may_contact(member: Member) -> bool:
    """Leaders, the committee and group leaders (a plain 联系人 is found by their records)."""
    return member.status == MemberStatus.ACTIVE and (
        is_leader(member) or member.role in CONTACT_ROLES
    )


# --- 党费: the month paid up to, and the amount ------------------------------------------------

_MONTH = re.compile(r"(?:交至|交到|至|到)?\s*(?:(\d{4})\s*[年./-]\s*)?(\d{1,2})\s*月?(?:份)?")
_AMOUNT = re.compile(r"(\d{1,6}(?:\.\d{1,2})?)\s*元?")
USAGE = "请写明交至哪个月，例如：收党费 王强 交至2026年12月 120元。"


def _year_for(month: int, today: date) -> int:
    """A month written without its year: the latest such month less than a year ahead —
    `交到12月` in December 2026 is December 2026, in March 2026 December 2026 too."""
    ahead = today.year * 12 + today.month - 1 + 11
    return today.year + 1 if (today.year + 1) * 12 + month - 1 <= ahead else today.year


def month_and_amount(text: str, today: date) -> tuple[date, Decimal | None]:
    """`交至2026年12月 120元` → (2026-12-01, 120); the amount may be left out, and the year
    (`交到12月 60元`) when it is plain which."""
    text = " ".join(text.split())
    found = _MONTH.match(text)
    if found is None or (found[1] is None and "月" not in found[0]):
        raise ValidationFailed(USAGE, field="through")
    month = int(found[2])
    if not 1 <= month <= 12:
        raise ValidationFailed("没有这个月份，请检查。", field="through")
    year = int(found[1]) if found[1] else _year_for(month, today)
    if year < 1950:
        raise ValidationFailed("没有这个月份，请检查。", field="through")
    rest = text[found.end() :].strip(_LEAD + " ")
    if not rest:
        return date(year, month, 1), None
    amount = _AMOUNT.fullmatch(rest)
    if amount is None:
        raise ValidationFailed("金额请写成数字，例如 120元 或 36.5。", field="amount")
    try:
        return date(year, month, 1), Decimal(amount[1])
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise ValidationFailed("金额请写成数字。", field="amount") from None


async def not_before_recorded(target: Member, through: date) -> None:
    """An earlier month than the one recorded is most likely a slip: said, not recorded as the
    latest (the list reads the latest 交至)."""
    latest = await DuesPaid.filter(member_id=target.id).order_by("-through").first()
    if latest is not None and through < latest.through:
        was = latest.through
        raise ValidationFailed(
            f"{target.name}的党费已登记交至{was.year}年{was.month}月，"
            f"{through.year}年{through.month}月比它早，请核对后重新发送。",
            field="through",
        )
