"""Reading the 五张清单: the items a member may see, filtered by year, source, organisation,
owner and state, each with its state and flags; the counts of what is shown.

A count is the number of rows the same filter lists (the page links each count to them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tortoise.expressions import Q

from server.models.duty_lists import DutyItem, DutyLink, DutyNote, DutySource, NoteKind
from server.models.people import Member, Organisation
from server.services.duty_lists import who
from server.services.duty_lists.items import owner_text
from server.services.duty_lists.status import (
    AT_RISK,
    FILTERS,
    Counts,
    State,
    at_risk,
    count,
    days_left_text,
    state_of,
)
from server.services.people.scope import under

PROGRESS_KINDS = (NoteKind.PROGRESS, NoteKind.EVIDENCE)


@dataclass(frozen=True)
class Filters:
    year: int | None = None
    source: DutySource | None = None
    org_id: int | None = None  # concerns this organisation or one beneath it
    owner_id: int | None = None  # a member named 责任人
    owner_org_id: int | None = None  # an organisation named 责任人
    state: str = ""  # a key of status.FILTERS, or status.AT_RISK


@dataclass
class Line:
    """An item as a list shows it."""

    item: DutyItem
    state: State
    at_risk: bool
    owner: str
    left: str  # 还有 5 天, 已超期 3 天
    links: list[Organisation] = field(default_factory=list)
    last_note: DutyNote | None = None
    carried_to: int | None = None  # the next year's copy, if carried over

    @property
    def progress(self) -> str:
        """进展情况: the latest progress or evidence, dated (the export's column)."""
        note = self.last_note
        if note is None:
            return ""
        return f"{note.day.month}月{note.day.day}日：{note.text}"


async def lines(actor: Member, today: date, filters: Filters = Filters()) -> list[Line]:
    """The items `actor` may read, by the filters (state last), by deadline then number."""
    query = DutyItem.filter(await who.visible(actor))
    if filters.year is not None:
        query = query.filter(year=filters.year)
    if filters.source is not None:
        query = query.filter(source=filters.source)
    if filters.owner_id is not None:
        query = query.filter(owner_id=filters.owner_id)
    if filters.owner_org_id is not None:
        query = query.filter(owner_org_id=filters.owner_org_id)
    if filters.org_id is not None:
        org = await Organisation.get_or_none(id=filters.org_id)
        if org is None:
            return []
        linked = DutyLink.filter(under(org.path)).values_list("item_id", flat=True)
        query = query.filter(Q(id__in=list(await linked)) | Q(owner_org_id=org.id))
    items = await query.distinct().order_by("deadline", "id")
    found = await described(items, today)
    if filters.state == AT_RISK:
        return [line for line in found if line.at_risk]
    if filters.state in FILTERS:
        return [line for line in found if line.state == FILTERS[filters.state]]
    return found


async def described(items: list[DutyItem], today: date) -> list[Line]:
    ids = [i.id for i in items]
    latest: dict[int, DutyNote] = {}
    for note in await DutyNote.filter(item_id__in=ids, kind__in=list(PROGRESS_KINDS)).order_by(
        "at", "id"
    ):
        latest[note.item_id] = note
    links: dict[int, list[Organisation]] = {}
    for link in await DutyLink.filter(item_id__in=ids).prefetch_related("organisation"):
        links.setdefault(link.item_id, []).append(link.organisation)
    copies = dict(
        await DutyItem.filter(carried_from_id__in=ids).values_list("carried_from_id", "id")
    )
    out = []
    for item in items:
        out.append(
            Line(
                item=item,
                state=state_of(item, today, item.id in latest),
                at_risk=at_risk(item, today),
                owner=await owner_text(item),
                left=days_left_text(item, today),
                links=sorted(links.get(item.id, []), key=lambda o: o.path),
                last_note=latest.get(item.id),
                carried_to=copies.get(item.id),
            )
        )
    return out


def counts(found: list[Line], today: date) -> Counts:
    return count(((line.item, line.state) for line in found), today)


async def years(actor: Member) -> list[int]:
    """The years with items `actor` may read, latest first."""
    found = await DutyItem.filter(await who.visible(actor)).distinct()
    return sorted({item.year for item in found}, reverse=True)


async def my_lines(actor: Member, today: date) -> list[Line]:
    """What `actor` answers for, not done: their items first by deadline."""
    candidates = await DutyItem.filter(who.mine(actor), completed_on__isnull=True).order_by(
        "deadline", "id"
    )
    theirs = [item for item in candidates if await who.owns(actor, item)]
    return [line for line in await described(theirs, today) if line.carried_to is None]
