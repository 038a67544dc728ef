"""A sender's hold on outbox rows: claimed, marked sending before the first call, settled.

The states a row goes through here are what make a notice go out exactly once and never be
stranded: `claimed` rows were never sent, so a sender that stops (shutdown, quota) or dies
(SIGKILL, then its lease runs out) lets them go back to `pending`; a `sending` row may have
reached WeChat, so it is settled by its own answer or else becomes `uncertain`, never resent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from tortoise.expressions import F

from server.models.notices import Notice, NoticeStatus

# A claim this old belongs to a sender that died or stalled: its rows never called for are
# pending again, those whose call may have begun are uncertain.
LEASE = timedelta(minutes=5)


class LostClaim(Exception):
    """The row is no longer this sender's (its lease ran out and another took it)."""


Statement = Callable[[list[int]], Awaitable[set[int] | None]]
WINDOW = 0.003  # seconds a row's update waits for the updates of other sends to join it
MOST = 200  # rows in one statement


class Together:
    """Single-row updates asked for by concurrent sends, run as one statement per kind.

    A fan-out to a district is thousands of rows: marking each `sending` and settling each with
    a statement of its own cost two statements a notice, most of the sender's time
    (bench/notices.py).  Each send still waits for its own row's statement before it goes on,
    so a row is `sending` before its call and its answer is recorded before it counts as done.
    A send cancelled while waiting is left out of the statement."""

    def __init__(self) -> None:
        self._queued: dict[Hashable, tuple[Statement, list[tuple[int, asyncio.Future[bool]]]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def update(self, key: Hashable, row: int, statement: Statement) -> bool:
        """Run `statement` on this row with the others of `key`; True if it touched the row
        (a statement returning None touches every row it is given)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        _, rows = self._queued.setdefault(key, (statement, []))
        rows.append((row, done))
        if len(rows) >= MOST:
            self._start(loop, key)
        elif self._timer is None:
            self._timer = loop.call_later(WINDOW, self._start, loop, None)
        return await done

    def _start(self, loop: asyncio.AbstractEventLoop, key: Hashable | None) -> None:
        if key is None:
            self._timer = None
            batches = list(self._queued.values())
            self._queued.clear()
        else:
            batches = [self._queued.pop(key)]
        for statement, rows in batches:
            task = loop.create_task(self._run(statement, rows))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    @staticmethod
    async def _run(statement: Statement, rows: list[tuple[int, asyncio.Future[bool]]]) -> None:
        waiting = [(row, done) for row, done in rows if not done.done()]
        if not waiting:
            return
        try:
            touched = await statement([row for row, _ in waiting])
        except BaseException as exc:
            for _, done in waiting:
                if not done.done():
                    done.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            if not isinstance(exc, Exception):
                raise
            return
        for row, done in waiting:
            if not done.done():
                done.set_result(touched is None or row in touched)


@dataclass
class Claim:
    """One sender's hold on a chunk of rows, and the moment of the run that took them."""

    token: str
    now: datetime
    told: set[int] = field(default_factory=set)  # meetings already marked notified
    settling: set[asyncio.Future[None]] = field(default_factory=set)  # outcomes being written
    together: Together = field(default_factory=Together)


@dataclass
class Attempt:
    """One notice's way through the channels; `started` once a call to WeChat may have begun."""

    notice: Notice
    claim: Claim
    started: bool = False

    async def begin(self) -> None:
        """Marks the row sending before the first call, so that no crash can lead to a resend."""
        if self.started:
            return
        token = self.claim.token

        async def mark(rows: list[int]) -> set[int]:
            await Notice.filter(id__in=rows, claim=token, status=NoticeStatus.CLAIMED).update(
                status=NoticeStatus.SENDING, attempts=F("attempts") + 1
            )
            marked = Notice.filter(id__in=rows, claim=token, status=NoticeStatus.SENDING)
            return set(cast(list[int], await marked.values_list("id", flat=True)))

        if not await self.claim.together.update("sending", self.notice.id, mark):
            raise LostClaim
        self.started = True


async def settle(notice: Notice, claim: Claim, status: NoticeStatus, **values: object) -> None:
    # Still ours (an expired lease made it uncertain, not someone else's): record the truth.
    async def record(rows: list[int]) -> None:
        await Notice.filter(id__in=rows, claim=claim.token).update(
            status=status, claim=None, **values
        )

    key = ("settle", status, tuple(sorted(values.items())))
    await claim.together.update(key, notice.id, record)


async def release(claim: Claim) -> None:
    """What a claim still holds when its fan-out stops: never called → pending again; a call
    begun and never answered (cancelled mid-call) → uncertain."""
    await asyncio.gather(*claim.settling, return_exceptions=True)  # answers recorded first
    await Notice.filter(claim=claim.token, status=NoticeStatus.CLAIMED).update(
        status=NoticeStatus.PENDING, claim=None, claimed_at=None
    )
    await Notice.filter(claim=claim.token, status=NoticeStatus.SENDING).update(
        status=NoticeStatus.UNCERTAIN, claim=None
    )


async def expire_leases(now: datetime) -> None:
    """Claims of a sender that died (SIGKILL) or stalled: the rows it never called WeChat for
    are pending again; those whose call may have begun are uncertain, never resent."""
    stale = (now - LEASE).astimezone(UTC)
    await Notice.filter(status=NoticeStatus.CLAIMED, claimed_at__lt=stale).update(
        status=NoticeStatus.PENDING, claim=None, claimed_at=None
    )
    # The claim stays: a sender that was only slow still records what WeChat answered.
    await Notice.filter(status=NoticeStatus.SENDING, claimed_at__lt=stale).update(
        status=NoticeStatus.UNCERTAIN
    )
