"""Yearly carry-over: a year's unfinished items copied into the next, each linked to the one it
continues, by a staff member's action (or `dangjian`'s command line) — never by itself.

The copy keeps the five columns, the source, the owner and the links, takes the new deadline
given, and starts with a 结转 note naming the original; the original gets a 结转 note naming
the copy.  An item is carried once (`carried_from` is unique): running it again, or twice at
once, copies nothing more.
"""

from __future__ import annotations

from datetime import date, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.errors import ValidationFailed
from server.models.duty_lists import DutyItem, DutyLink, DutyNote, NoteKind
from server.models.people import Member, Organisation
from server.services.duty_lists import who
from server.services.duty_lists.items import check_deadline, check_year
from server.services.people.access import Hidden


async def unfinished(committee: Organisation, year: int) -> list[DutyItem]:
    """The year's items not done and not carried over yet."""
    carried = DutyItem.filter(carried_from_id__not_isnull=True).values_list(
        "carried_from_id", flat=True
    )
    return (
        await DutyItem.filter(committee_id=committee.id, year=year, completed_on__isnull=True)
        .exclude(id__in=[i for i in await carried if i is not None])
        .order_by("id")
    )


async def carry_over(
    actor: Member | None,
    committee: Organisation,
    year: int,
    deadline: date,
    now: datetime,
    today: date,
) -> list[DutyItem]:
    """Copy `year`'s unfinished items into `year + 1` with `deadline`; the copies made."""
    if actor is not None and (await who.committee_of(actor)).id != committee.id:
        raise Hidden()
    check_year(year)
    check_deadline(deadline, today)
    if deadline.year != year + 1:
        raise ValidationFailed(f"结转后的时限应在 {year + 1} 年内。", field="deadline")
    made: list[DutyItem] = []
    for item in await unfinished(committee, year):
        links = await DutyLink.filter(item_id=item.id).values_list("organisation_id", flat=True)
        try:
            async with in_transaction() as conn:
                copy = await DutyItem.create(
                    committee_id=item.committee_id, year=year + 1, source=item.source,
                    problem=item.problem, task=item.task, measures=item.measures,
                    deadline=deadline, owner_id=item.owner_id, owner_org_id=item.owner_org_id,
                    carried_from_id=item.id, created_by_id=actor.id if actor else None,
                    created_at=now, using_db=conn,
                )  # fmt: skip
                for org_id in links:
                    await DutyLink.create(item_id=copy.id, organisation_id=org_id, using_db=conn)
                by = actor.id if actor else None
                await DutyNote.create(
                    item_id=copy.id, kind=NoteKind.CARRIED, day=today, by_id=by, at=now,
                    text=f"由{year}年第 {item.id} 项结转，原时限"
                    f"{item.deadline.year}年{item.deadline.month}月{item.deadline.day}日。",
                    using_db=conn,
                )  # fmt: skip
                await DutyNote.create(
                    item_id=item.id, kind=NoteKind.CARRIED, day=today, by_id=by, at=now,
                    text=f"未完成，结转至{year + 1}年第 {copy.id} 项。", using_db=conn,
                )  # fmt: skip
        except IntegrityError:
            continue  # carried a moment ago by another run: its copy stands
        made.append(copy)
    return made
