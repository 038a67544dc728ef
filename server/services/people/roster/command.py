"""`dangjian import-members FILE`: read the whole roll, then plan and write in one transaction."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

from tortoise.transactions import in_transaction

from server.clock import Clock
from server.services.people.roster.mobile import apply_mobile, end_transferred
from server.services.people.roster.plan import plan_upsert
from server.services.people.roster.reading import read_records
from server.services.people.roster.records import MemberRecord
from server.services.people.roster.report import ImportReport
from server.services.people.roster.write import apply_upsert


async def import_members(
    path: Path,
    *,
    dry_run: bool = False,
    progress: bool = False,
    today: date | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import a member roll.  Any bad row → nothing written and every bad row reported.

    `today` (default: the organisation's local date) bounds birth, joined and 外出 dates and is
    a 流出 record's 外出时间 when the roll gives none; `now` stamps the records written.
    File-level problems (type, encoding, missing columns, empty file) raise ValidationFailed.
    """
    path = Path(path)
    clock = Clock()
    today = today or clock.today()
    now = now or clock.now()
    parsed = await asyncio.to_thread(read_records, path, today=today, progress=progress)
    report = ImportReport(
        file=path.name,
        rows=parsed.rows,
        errors=list(parsed.errors),
        dry_run=dry_run,
        ignored_columns=parsed.ignored_columns,
    )
    if not parsed.records:
        return report
    async with in_transaction() as conn:
        plan = await plan_upsert(
            parsed.records, columns=parsed.columns, labels=parsed.labels, using_db=conn
        )
        report.errors.extend(plan.errors)
        report.errors.sort(key=lambda error: error.line)
        if report.errors:
            return report
        report.created = len(plan.creates)
        report.updated = len(plan.updates)
        report.unchanged = plan.unchanged
        report.organisations_created = len(plan.new_org_paths)
        report.mobile_created = len(plan.mobile_out)
        report.mobile_kept = [_named(r) for r in plan.mobile_kept]
        report.mobile_ended = [_named(r) for _, r in plan.mobile_ended]
        report.stopped_kept = [_named(r) for r in plan.stopped_kept]
        report.incoming_taken = [_named(r) for _, r in plan.incoming_taken]
        if not dry_run:
            await apply_upsert(plan, using_db=conn, progress=progress)
            # The members exist now; their 流出 records in the same transaction, and the records
            # of those 转出 ended.
            await apply_mobile(plan.mobile_out, today, now, conn)
            await end_transferred([member_id for member_id, _ in plan.mobile_ended], today, conn)
    return report


def _named(record: MemberRecord) -> str:
    return f"{record.name}（第{record.line}行）"
