"""A sender's hold on outbox rows: claimed, marked sending before the first call, settled.

The states a row goes through here are what make a notice go out exactly once and never be
stranded: `claimed` rows were never sent, so a sender that stops (shutdown, quota) or dies
(SIGKILL, then its lease runs out) lets them go back to `pending`; a `sending` row may have
reached WeChat, so it is settled by its own answer or else becomes `uncertain`, never resent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F

from server.models.notices import Notice, NoticeStatus

# A claim this old belongs to a sender that died or stalled: its rows never called for are
# pending again, those whose call may have begun are uncertain.
LEASE = timedelta(minutes=5)


class LostClaim(Exception):
    """The row is no longer this sender's (its lease ran out and another took it)."""


@dataclass
class Claim:
    """One sender's hold on a chunk of rows, and the moment of the run that took them."""

    token: str
    now: datetime
    told: set[int] = field(default_factory=set)  # meetings already marked notified
    settling: set[asyncio.Future[None]] = field(default_factory=set)  # outcomes being written


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
        marked = await Notice.filter(
            id=self.notice.id, claim=self.claim.token, status=NoticeStatus.CLAIMED
        ).update(status=NoticeStatus.SENDING, attempts=F("attempts") + 1)
        if not marked:
            raise LostClaim
        self.started = True


async def settle(notice: Notice, claim: Claim, status: NoticeStatus, **values: object) -> None:
    # Still ours (an expired lease made it uncertain, not someone else's): record the truth.
    await Notice.filter(id=notice.id, claim=claim.token).update(status=status, claim=None, **values)


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
