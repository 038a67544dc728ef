"""The 四单制's outbox: each message a row before anything is sent, sent once by whichever
process claims it.

Enqueue: one `CommunityMessage` per recipient, keyed by what it tells and to whom
(`order:12:dispatched:volunteer:34`); a second enqueue of a key (a retried request, a step
done twice) writes nothing.  The rows are written in the step's own transaction (`using_db`),
so a step that commits has its messages and one rolled back has none.  A message due in the
quiet hours (DANGJIAN_QUIET_HOURS, in DANGJIAN_TZ) waits until they end.

Send: due rows are claimed (pending → claimed, with a token) in one conditional UPDATE, so two
senders never take the same row; each is marked sending just before its call to WeChat and
settled by the answer: sent; unreachable when the channel is closed to that person (43101,
43004, 45015, 45047, a bad openid…); pending again with back-off after a definite failure
(-1 system busy); uncertain, never resent, when the call may have reached WeChat (a timeout, a
dropped connection, an error mid-call); a stalled Redis fails a send before it is posted, so
that one is pending again.  Rows a dead sender claimed and never called for are
pending again once its lease (`outbox_claims.LEASE`) has run out; its `sending` ones are
uncertain.  Customer-service messages only: the one channel open to a resident or a member
from a unit, who grant no templates — so they reach only those who wrote within 48 hours.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.queryset import QuerySet

from server.cache import CacheUnavailable
from server.channels import Channel
from server.clock import day_start
from server.errors import WeChatAPIError, WeChatUnavailable
from server.models.community import CommunityMessage, MessageStatus
from server.models.people import mask_openid
from server.services.delivery.messenger import Clients
from server.services.delivery.outbox_claims import LEASE
from server.settings import Settings

log = logging.getLogger("dangjian.outbox.community")
BATCH = 500  # rows claimed by one run; the next run (seconds later) takes the rest


@dataclass(frozen=True)
class Letter:
    """One message to one WeChat user, before it is a row."""

    key: str
    kind: str
    appid: str
    openid: str
    text: str


@dataclass(frozen=True)
class QuietHours:
    """Local hours no message goes out in; `start` after `end` spans midnight (22:00–07:00)."""

    start: time
    end: time
    zone: ZoneInfo

    def quiet(self, moment: datetime) -> bool:
        t = moment.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def release(self, moment: datetime) -> datetime:
        """`moment` itself outside the quiet hours; else the end of the quiet spell it is in."""
        if not self.quiet(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)  # 23:00 → tomorrow 07:00
        return datetime.combine(day, self.end, self.zone).astimezone(UTC)


def quiet_hours(window: tuple[time, time] | None, zone: ZoneInfo) -> QuietHours | None:
    """Settings.quiet_window in the organisation's zone (None: no quiet hours)."""
    return None if window is None else QuietHours(window[0], window[1], zone)


async def enqueue(
    letters: Iterable[Letter],
    now: datetime,
    quiet: QuietHours | None,
    *,
    using_db: BaseDBAsyncClient | None = None,
) -> int:
    """Write the letters as pending rows (a key already written is left as it is); the number
    of them that are in the outbox now."""
    unique = {letter.key: letter for letter in letters}
    if not unique:
        return 0
    due = (quiet.release(now) if quiet else now).astimezone(UTC)
    await CommunityMessage.bulk_create(
        [
            CommunityMessage(
                key=letter.key,
                kind=letter.kind,
                appid=letter.appid,
                openid=letter.openid,
                text=letter.text,
                not_before=due,
                created_at=now.astimezone(UTC),
            )
            for letter in unique.values()
        ],
        ignore_conflicts=True,  # written already (a retry): the unique key keeps the first
        using_db=using_db,
    )
    return await CommunityMessage.filter(key__in=list(unique)).using_db(using_db).count()


# --- the sender ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """The clients the sender sends through, and which channel each of our appids is."""

    clients: Clients
    channels: Mapping[str, Channel]

    @classmethod
    def of(cls, clients: Clients, settings: Settings) -> Reach:
        # In development both are one appid: the official account is where people chat.
        return cls(
            clients,
            {settings.mp_appid: Channel.MINIPROGRAM, settings.appid: Channel.OFFICIAL_ACCOUNT},
        )


# This person has closed the channel (refused, not following, outside the 48-hour window, over
# the window's count) or cannot be reached by it: not retried.
CLOSED = frozenset({40003, 43004, 43101, 45015, 45047})


@dataclass
class SendReport:
    sent: int = 0
    unreachable: int = 0
    retried: int = 0
    uncertain: int = 0


class CommunitySender:
    """Sends what is due; `channels` maps each of our appids to the channel it is."""

    @classmethod
    def of(cls, clients: Clients, settings: Settings, **options: int) -> CommunitySender:
        reach = Reach.of(clients, settings)
        quiet = quiet_hours(settings.quiet_window, settings.zone)
        return cls(reach.clients, reach.channels, settings.zone, quiet, **options)

    def __init__(
        self,
        clients: Clients,
        channels: Mapping[str, Channel],
        zone: ZoneInfo,
        quiet: QuietHours | None,
        *,
        concurrency: int = 10,
        max_attempts: int = 5,
        batch: int = BATCH,
    ) -> None:
        self.clients = clients
        self.channels = channels
        self.zone = zone
        self.quiet = quiet
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.batch = batch

    async def deliver_due(self, now: datetime) -> SendReport:
        report = SendReport()
        await expire_leases(now)
        if self.quiet is not None and self.quiet.quiet(now):
            return report  # rows retried into the quiet hours wait for the morning too
        at = now.astimezone(UTC)
        due = (
            await CommunityMessage.filter(status=MessageStatus.PENDING, not_before__lte=at)
            .order_by("not_before", "id")
            .limit(self.batch)
            .values_list("id", flat=True)
        )
        if not due:
            return report
        token = secrets.token_hex(8)
        # The claim: only rows still pending and due; another sender's are left to it.
        await CommunityMessage.filter(
            id__in=list(cast("list[int]", due)), status=MessageStatus.PENDING, not_before__lte=at
        ).update(status=MessageStatus.CLAIMED, claim=token, claimed_at=at)
        mine = await CommunityMessage.filter(claim=token, status=MessageStatus.CLAIMED).order_by(
            "id"
        )
        gate = asyncio.Semaphore(self.concurrency)

        async def one(row: CommunityMessage) -> None:
            async with gate:
                await self._one(row, token, now, report)

        try:
            await asyncio.gather(*(one(row) for row in mine))
        finally:
            # Cancelled (shutdown): what was never called for is pending again, what was
            # begun is uncertain — shielded, so a second cancellation strands nothing.
            await asyncio.shield(release(token))
        return report

    async def _one(
        self, row: CommunityMessage, token: str, now: datetime, report: SendReport
    ) -> None:
        channel = self.channels.get(row.appid)
        client = self.clients.get(channel) if channel is not None else None

        def mine() -> QuerySet[CommunityMessage]:
            return CommunityMessage.filter(id=row.id, claim=token)

        if client is None:  # an appid no longer configured: nothing can reach them
            await mine().update(status=MessageStatus.UNREACHABLE, claim=None, error="no channel")
            report.unreachable += 1
            return
        began = (
            await mine()
            .filter(status=MessageStatus.CLAIMED)
            .update(status=MessageStatus.SENDING, attempts=F("attempts") + 1)
        )
        if not began:
            return  # our lease ran out and another sender has it now
        try:
            await client.send_custom_text(row.openid, row.text)
        except CacheUnavailable:
            # A stalled Redis: the access token is read (or renewed, after a refusal) before a
            # message is posted, so nothing went out; tried again once the back-off is over.
            await self._retry(row, token, now, -1, report)
        except WeChatUnavailable as exc:
            if exc.maybe_delivered:
                await self._uncertain(row, token, f"{exc.errcode}: may have been delivered")
                report.uncertain += 1
            else:
                await self._retry(row, token, now, exc.errcode, report)
        except WeChatAPIError as exc:
            if exc.transient or exc.quota_exhausted:
                await self._retry(row, token, now, exc.errcode, report)
            else:  # the channel is closed to this person, or refuses this message: not retried
                log.info("community message %s unreachable: %s", row.id, exc.errcode)
                await mine().update(
                    status=MessageStatus.UNREACHABLE, claim=None, error=f"{exc.errcode}"
                )
                report.unreachable += 1
        except Exception:
            # A bug, or the cache or the database failing mid-call: perhaps sent, never resent.
            log.exception("community message %s: unexpected error while sending", row.id)
            await self._uncertain(row, token, "error mid-call")
            report.uncertain += 1
        else:
            await mine().update(status=MessageStatus.SENT, claim=None, sent_at=now.astimezone(UTC))
            report.sent += 1

    async def _uncertain(self, row: CommunityMessage, token: str, why: str) -> None:
        log.warning("community message %s to %s: uncertain", row.id, mask_openid(row.openid))
        await CommunityMessage.filter(id=row.id, claim=token).update(
            status=MessageStatus.UNCERTAIN, claim=None, error=why
        )

    async def _retry(
        self, row: CommunityMessage, token: str, now: datetime, errcode: int, report: SendReport
    ) -> None:
        """Refused before anything was delivered: pending again after a back-off (30 s, 1 min,
        2 min…), out of the quiet hours; a 45009 (the day's quota) waits for tomorrow."""
        mine = CommunityMessage.filter(id=row.id, claim=token)
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            await mine.update(
                status=MessageStatus.UNREACHABLE, claim=None, error=f"{errcode} × {attempts}"
            )
            report.unreachable += 1
            return
        if errcode == 45009:
            later = day_start(now.astimezone(self.zone).date() + timedelta(days=1), self.zone)
        else:
            later = now + timedelta(seconds=30 * 2**row.attempts)
        if self.quiet is not None:
            later = self.quiet.release(later)
        await mine.update(
            status=MessageStatus.PENDING,
            claim=None,
            claimed_at=None,
            not_before=later.astimezone(UTC),
            error=f"{errcode}",
        )
        report.retried += 1


async def release(token: str) -> None:
    """What a run still holds when it stops: never called for → pending; begun → uncertain."""
    await CommunityMessage.filter(claim=token, status=MessageStatus.CLAIMED).update(
        status=MessageStatus.PENDING, claim=None, claimed_at=None
    )
    await CommunityMessage.filter(claim=token, status=MessageStatus.SENDING).update(
        status=MessageStatus.UNCERTAIN, claim=None
    )


async def expire_leases(now: datetime) -> None:
    """A sender that died (SIGKILL) or stalled past its lease: the rows it never called for are
    pending again; those whose call may have begun are uncertain, never resent."""
    stale = (now - LEASE).astimezone(UTC)
    await CommunityMessage.filter(status=MessageStatus.CLAIMED, claimed_at__lt=stale).update(
        status=MessageStatus.PENDING, claim=None, claimed_at=None
    )
    # The claim stays: a sender that was only slow still records what WeChat answered.
    await CommunityMessage.filter(status=MessageStatus.SENDING, claimed_at__lt=stale).update(
        status=MessageStatus.UNCERTAIN
    )
