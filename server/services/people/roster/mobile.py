"""流动党员 in a roll: a member marked 流动党员=是 gets the branch's working record of being
流出 (`MobileMember`, by no one: the import is the operator's), once.

Optional columns say more: 流出去向 (or 外出地点), 流动原因, 外出时间.  Without a 去向 the place is
“未登记” and the reason 其他, for the branch to complete; without a 外出时间, the day of the import.
A roll saying 否 for a member the branch has recorded as 流出 does not end that record (the
national system's roll may lag the branch): the member stays 流动党员 and the report says so,
so the branch ends it (结束流动) if they are back.  A roll saying 转出 does end it (“组织关系
转出”): the relationship has left the branch, and they are no 流动党员 of ours.  Cells here are
checked with the rest of the row, and the records written in the import's one transaction: all
of the file, or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.models.mobility import Direction, FlowReason, FlowStatus, MobileMember
from server.models.people import Member, MemberStatus
from server.services.mobility.words import REASONS_TEXT, reason_of
from server.services.people.roster.batches import BATCH, PHONE_CHUNK, chunks
from server.services.people.roster.dates import parse_date
from server.services.people.roster.fields import BadCell, norm, text
from server.services.people.roster.report import RowError

UNRECORDED = "未登记"
TRANSFERRED_NOTE = "组织关系转出"
LONGEST_PLACE = 100
MOBILE_COLUMNS = ("mobile_place", "mobile_reason", "mobile_since")
_MONTH = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?")


def parse_place(value: Any) -> str | None:
    place = " ".join(text(value).split())
    if len(place) > LONGEST_PLACE:
        raise BadCell(f"超过{LONGEST_PLACE}字 / longer than {LONGEST_PLACE} characters")
    return place or None


def parse_reason(value: Any) -> FlowReason | None:
    given = norm(value)
    if not given:
        return None
    found = reason_of(given)
    if found is None:
        raise BadCell(f"流动原因“{given}”应为{REASONS_TEXT} / reason must be one of {REASONS_TEXT}")
    return found


def parse_since(value: Any) -> date | None:
    """A day as `dates` reads them, or a month (2025年8月, 2025-08): its first day."""
    try:
        return parse_date(value)
    except BadCell:
        match = _MONTH.fullmatch(norm(value))
        if match is None or not 1 <= int(match[2]) <= 12:
            raise
        return date(int(match[1]), int(match[2]), 1)


def check_row(
    line: int,
    parsed: Mapping[str, Any],
    labels: Mapping[str, str],
    today: date,
    errors: list[RowError],
) -> None:
    """Rules across the row's cells: a 外出时间 not in the future, and details only for a
    member the row marks 流动党员."""
    since = parsed.get("mobile_since")
    if since is not None and since > today:
        errors.append(RowError(line, labels["mobile_since"], "外出时间晚于今天 / in the future"))
    if since is not None and since.year < 1950:
        errors.append(RowError(line, labels["mobile_since"], "外出时间早于1950年 / before 1950"))
    given = [key for key in MOBILE_COLUMNS if parsed.get(key) is not None]
    if given and parsed.get("is_mobile") is False:
        errors.append(
            RowError(
                line,
                labels[given[0]],
                f"填写了外出情况，但“{labels['is_mobile']}”不是“是” / "
                "mobile details given for a member not marked 流动党员",
            )
        )


async def plan_mobile(
    plan: Any,
    records: Sequence[Any],
    existing: Mapping[str, Any],
    labels: Mapping[str, str],
    using_db: BaseDBAsyncClient | None,
) -> None:
    """Which rows get a 流出 record (`plan.mobile_out`), which keep one the roll says 否 to
    (`plan.mobile_kept`), and whose open record a 转出 ends (`plan.mobile_ended`).  `plan` is
    the `UpsertPlan` being made from `records`, its creates and updates decided and each
    record's status the one it will have (stored, when the roll has no 状态); rows already
    refused (a 流入 member's phone, guards.py) are left alone."""
    refused = {error.line for error in plan.errors}
    ids = [m.id for m in existing.values()]
    open_by_member: dict[int, str] = {}
    for chunk in chunks(ids, PHONE_CHUNK):
        rows = await (
            MobileMember.filter(member_id__in=list(chunk), current__not_isnull=True)
            .using_db(using_db)
            .values_list("member_id", "direction")
        )
        open_by_member.update({int(m): str(d) for m, d in rows})
    ended: set[int] = set()
    for record in records:
        if record.line in refused:
            continue
        stored = existing.get(record.phone)
        held = open_by_member.get(stored.id) if stored is not None else None
        if stored is not None and held is not None and record.status == MemberStatus.TRANSFERRED:
            # 组织关系转出: no longer the branch's to keep in touch with (end_transferred).
            record.is_mobile = False
            plan.mobile_ended.append((stored.id, record))
            ended.add(stored.id)
        elif record.is_mobile and held is None and record.status == MemberStatus.ACTIVE:
            plan.mobile_out.append(record)
    # 否 in the roll, an open 流出 record in the branch's: the flag stays with the record.
    kept: list[Any] = []
    updates = []
    for member_id, record, changed in plan.updates:
        if (
            "is_mobile" in changed
            and not record.is_mobile
            and open_by_member.get(member_id)
            and member_id not in ended
        ):
            record.is_mobile = True
            changed = changed - {"is_mobile"}
            kept.append(record)
        if changed:
            updates.append((member_id, record, changed))
        else:
            plan.unchanged += 1
    plan.updates = updates
    plan.mobile_kept = kept


async def end_transferred(
    member_ids: Sequence[int], today: date, using_db: BaseDBAsyncClient | None
) -> None:
    """End the open records of members the roll says are 转出 (after their update is written):
    as 结束流动 would, noting why."""
    for chunk in chunks(member_ids, PHONE_CHUNK):
        await (
            MobileMember.filter(member_id__in=list(chunk), current__not_isnull=True)
            .using_db(using_db)
            .update(
                status=FlowStatus.ENDED, current=None, ended_on=today, end_note=TRANSFERRED_NOTE
            )
        )
        # Written by the update already when the roll has the column; this when it has not.
        await Member.filter(id__in=list(chunk)).using_db(using_db).update(is_mobile=False)


async def apply_mobile(
    records: Sequence[Any], today: date, now: datetime, using_db: BaseDBAsyncClient | None
) -> int:
    """The 流出 records of `records` (members written a moment ago); returns how many."""
    ids: dict[str, tuple[int, int]] = {}
    for chunk in chunks([r.phone for r in records], PHONE_CHUNK):
        rows = await (
            Member.filter(phone__in=list(chunk))
            .using_db(using_db)
            .values_list("phone", "id", "organisation_id")
        )
        ids.update({str(p): (int(i), int(o)) for p, i, o in rows})
    made = now.astimezone(UTC)
    new = []
    for record in records:
        member_id, branch_id = ids[record.phone]
        new.append(
            MobileMember(
                member_id=member_id,
                direction=Direction.OUT,
                branch_id=branch_id,
                status=FlowStatus.ACTIVE,
                current=f"member:{member_id}",
                since=record.mobile_since or today,
                place=record.mobile_place or UNRECORDED,
                reason=record.mobile_reason or FlowReason.OTHER,
                created_by_id=None,
                created_at=made,
            )
        )
    for batch in chunks(new, BATCH):
        await MobileMember.bulk_create(list(batch), using_db=using_db)
    return len(new)
