"""Every morning: the 流动党员 to-dos, written to the 四单制's outbox (`community.outbox`), whose
sender delivers them outside the quiet hours.  The words and recipients are
`services.mobility.reminders`'; here is only when, and the once-only bookkeeping:

- 联系提醒: a member's due date, once told, is a `job_send` row (job `mobility-contact`, the
  due date, the member) written in the same transaction as the keeper's letter — so a second
  run of the day, or a rerun after a crash, tells nobody twice; a contact logged moves the due
  date, and the next one is told in its turn.
- 可能失联: keyed by the member, the day the silence began and the leader: once a spell.
- 除名程序: keyed by the case and the leader, and `removal_reminded_at` set in the same
  transaction.  A branch with no leader bound yet is asked again the next morning.

Half an hour after DANGJIAN_REPORT_TIME, so a secretary's morning messages do not all arrive
at once; `job_run` runs each day once, and a day missed by more than `GRACE` is let go (the
next morning finds the same members due).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from scheduler.jobs import Fence, after_report_time, no_fence
from server.clock import Clock
from server.models.community import CommunityMessage
from server.models.jobs import JobSend
from server.models.mobility import LostCase
from server.models.people import Member, Organisation
from server.services.community.outbox import Letter, QuietHours, enqueue, quiet_hours
from server.services.mobility.lost import removals_due
from server.services.mobility.reminders import (
    Told,
    contact_letter,
    contacts_due,
    keeper_of,
    lost_letter,
    possibly_lost,
    removal_letter,
)
from server.services.mobility.standing import Standing, open_cases, open_records, standings
from server.services.mobility.who import address, leaders_of
from server.settings import Settings

log = logging.getLogger("dangjian.scheduler")
JOB = "mobility"
CONTACT_JOB = "mobility-contact"
GRACE = timedelta(hours=10)
AFTER_REPORTS = timedelta(minutes=30)


def morning(report_time: str) -> tuple[int, int]:
    """The hour and minute the job is due: half an hour after DANGJIAN_REPORT_TIME."""
    return after_report_time(report_time, AFTER_REPORTS)


async def mobility_reminders(
    clock: Clock, settings: Settings, period: str | None = None, fence: Fence = no_fence
) -> Told:
    """Write today's to-dos; what was written.  `period` (the run's day) names the run only:
    what is due is read on the clock, so a run caught up late sees the day as it is."""
    today, now, zone = clock.today(), clock.now(), clock.zone
    quiet = quiet_hours(settings.quiet_window, settings.zone)
    records, cases = await open_records(None), await open_cases(None)
    lines = await standings(records, cases, today, now, zone, settings.mobile_contact_days)
    told = Told(
        contacts=await _contacts(lines, today, now, quiet, fence),
        questions=await _questions(lines, now, zone, quiet, fence),
        removals=await _removals(today, now, quiet, fence),
    )
    log.info(
        "mobility reminders%s: %d letters to keepers, %d questions, %d 除名 reminders",
        f" for {period}" if period else "",
        told.contacts,
        told.questions,
        told.removals,
    )
    return told


def _target(line: Standing) -> str:
    return f"member:{line.member.id}"


async def _contacts(
    lines: Sequence[Standing], today: date, now: datetime, quiet: QuietHours | None, fence: Fence
) -> int:
    by_keeper: dict[int, tuple[Member, list[Standing]]] = {}
    for line in contacts_due(lines, today):
        assert line.record is not None  # contacts_due keeps only recorded 流出 members
        keeper = await keeper_of(line.record)
        if keeper is not None:
            by_keeper.setdefault(keeper.id, (keeper, []))[1].append(line)
    written = 0
    for keeper, due in by_keeper.values():
        told = set(
            await JobSend.filter(job=CONTACT_JOB, target__in=[_target(d) for d in due]).values_list(
                "period_key", "target"
            )
        )
        new = [d for d in due if (str(d.due_on), _target(d)) not in told]
        to = await address(keeper.id) if new else None
        if to is None:
            continue  # nothing new, or a keeper never bound: they see it in 流动党员
        await fence()  # a paused ex-leader stops here, before its next letter
        letter = contact_letter(keeper, to, new, len(due) - len(new), today)
        marks = [
            JobSend(job=CONTACT_JOB, period_key=str(d.due_on), target=_target(d), sent_at=now)
            for d in new
        ]
        try:
            async with in_transaction() as conn:
                await JobSend.bulk_create(marks, using_db=conn)
                await enqueue([letter], now, quiet, using_db=conn)
        except IntegrityError:
            continue  # told a moment ago by another run: its letter stands
        written += 1
    return written


async def _new(letters: list[Letter]) -> list[Letter]:
    """The letters whose keys are not in the outbox yet."""
    keys = [letter.key for letter in letters]
    there = set(await CommunityMessage.filter(key__in=keys).values_list("key", flat=True))
    return [letter for letter in letters if letter.key not in there]


async def _questions(
    lines: Sequence[Standing],
    now: datetime,
    zone: ZoneInfo,
    quiet: QuietHours | None,
    fence: Fence,
) -> int:
    written = 0
    for line in possibly_lost(lines):
        since = line.silent_since
        if line.record is None or since is None:
            continue
        branch = await Organisation.get(id=line.record.branch_id)
        letters = []
        for leader in await leaders_of(branch.id):
            if (to := await address(leader.id)) is not None:
                letters.append(lost_letter(leader, to, line, since, branch))
        letters = await _new(letters)  # asked already for this spell of silence
        if letters:
            await fence()
            await enqueue(letters, now, quiet)
            written += len(letters)
    return written


async def _removals(today: date, now: datetime, quiet: QuietHours | None, fence: Fence) -> int:
    written = 0
    for case in await removals_due(today):
        member = await Member.get(id=case.member_id)
        branch = await Organisation.get(id=case.branch_id)
        letters = []
        for leader in await leaders_of(branch.id):
            if (to := await address(leader.id)) is not None:
                letters.append(removal_letter(leader, to, case, member, branch))
        letters = await _new(letters)
        if not letters:
            continue  # nobody bound to tell yet: asked again tomorrow
        await fence()
        async with in_transaction() as conn:
            # Conditional: of two runs at once only one reminds (and writes the letters).
            changed = (
                await LostCase.filter(id=case.id, removal_reminded_at__isnull=True)
                .using_db(conn)
                .update(removal_reminded_at=now)
            )
            if changed:
                await enqueue(letters, now, quiet, using_db=conn)
                written += len(letters)
    return written
