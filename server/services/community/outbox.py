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
uncertain.

Channels, as for meeting notices: a customer-service message first, the whole text, to whoever
wrote within 48 hours.  When WeChat says that window is closed (45015, 45047, 43004, 43101)
to a 公众号 user, the official account's template message (WECHAT_TEMPLATE_SERVICE) says the
gist instead: a short title, the moment, a short note (`Gist`; no link), and only its refusal
makes the row unreachable.  Never after a call that may have reached WeChat (a timeout, an
error mid-call): that row is uncertain, as before.  A mini-program user gets customer-service
messages only: subscribe messages need a grant asked for in the mini-program (`SubscribeGrant`,
a member's, for meetings), and residents and members from units grant none.
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
from server.services.delivery.messenger import ChannelClient, Clients
from server.services.delivery.outbox import cut
from server.services.delivery.outbox_claims import LEASE
from server.settings import SERVICE_FIELD_SOURCES, Settings, parse_fields

log = logging.getLogger("dangjian.outbox.community")
BATCH = 500  # rows claimed by one run; the next run (seconds later) takes the rest


@dataclass(frozen=True)
class Gist:
    """What a template message says instead of the whole text: a short title (新服务, 点单受理,
    服务完成: five Chinese characters at most, so a `phrase` field takes it whole), a short
    note (cut to the field's limit when sent), and the moment it is about (unset: when it was
    written)."""

    title: str
    note: str
    moment: datetime | None = None


@dataclass(frozen=True)
class Letter:
    """One message to one WeChat user, before it is a row."""

    key: str
    kind: str
    appid: str
    openid: str
    text: str
    gist: Gist | None = None  # None: taken from the text when a template needs it


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
                title=letter.gist.title[:20] if letter.gist else None,
                note=letter.gist.note[:100] if letter.gist else None,
                moment=(
                    letter.gist.moment.astimezone(UTC)
                    if letter.gist and letter.gist.moment
                    else None
                ),
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


@dataclass(frozen=True)
class ServiceTemplate:
    """The official account's template for these messages: its id, and which of title, time
    and note goes in each of its fields (WECHAT_TEMPLATE_SERVICE, …_FIELDS)."""

    template_id: str
    fields: Mapping[str, str]

    @classmethod
    def of(cls, settings: Settings) -> ServiceTemplate | None:
        if not settings.service_template:
            return None
        fields = parse_fields(settings.service_template_fields, SERVICE_FIELD_SOURCES)
        return cls(settings.service_template, fields)

    def data(self, row: CommunityMessage, zone: ZoneInfo) -> dict[str, object]:
        t = (row.moment or row.created_at).astimezone(zone)
        title, note = row.title, row.note
        if not title or not note:  # written before rows had them: from the text's first line
            title, note = gist_of(row.text)
        values = {"title": title, "time": f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}", "note": note}
        return {key: {"value": cut(key, values[what])} for key, what in self.fields.items()}


def gist_of(text: str) -> tuple[str, str]:
    """`【新服务】服务单 7：…` → (新服务, 服务单 7：…); a text without 【】 → (社区服务, its
    first line)."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if line.startswith("【") and "】" in line:
        title, _, rest = line[1:].partition("】")
        return title or "社区服务", rest.strip() or title
    return "社区服务", line or "社区服务"


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
        template = ServiceTemplate.of(settings)
        return cls(reach.clients, reach.channels, settings.zone, quiet, template, **options)

    def __init__(
        self,
        clients: Clients,
        channels: Mapping[str, Channel],
        zone: ZoneInfo,
        quiet: QuietHours | None,
        template: ServiceTemplate | None = None,
        *,
        concurrency: int = 10,
        max_attempts: int = 5,
        batch: int = BATCH,
    ) -> None:
        self.clients = clients
        self.channels = channels
        self.zone = zone
        self.quiet = quiet
        self.template = template
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

        if channel is None or client is None:  # an appid no longer configured: no way to them
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
            used = await self._send(row, client, channel)
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
                why = exc.errmsg if isinstance(exc, _TemplateRefused) else f"{exc.errcode}"
                log.info("community message %s unreachable: %s", row.id, why)
                await mine().update(status=MessageStatus.UNREACHABLE, claim=None, error=why)
                report.unreachable += 1
        except Exception:
            # A bug, or the cache or the database failing mid-call: perhaps sent, never resent.
            log.exception("community message %s: unexpected error while sending", row.id)
            await self._uncertain(row, token, "error mid-call")
            report.uncertain += 1
        else:
            await mine().update(
                status=MessageStatus.SENT, claim=None, sent_at=now.astimezone(UTC), channel=used
            )
            report.sent += 1

    async def _send(self, row: CommunityMessage, client: ChannelClient, channel: Channel) -> str:
        """The whole text as a customer-service message; to a 公众号 user whose window WeChat
        says is closed, the template instead.  The channel that took it; what refused it raises
        (the template's refusal as `_TemplateRefused`, naming both answers)."""
        try:
            await client.send_custom_text(row.openid, row.text)
            return "custom"
        except WeChatUnavailable:
            raise  # may have reached WeChat, or never did: either way not the template's turn
        except WeChatAPIError as exc:
            if not exc.channel_closed:
                raise
            if self.template is None or channel != Channel.OFFICIAL_ACCOUNT:
                raise
            closed = exc.errcode
        template = self.template
        try:
            await client.send_template(
                row.openid, template.template_id, template.data(row, self.zone)
            )
        except WeChatUnavailable:
            raise
        except WeChatAPIError as exc:
            if exc.transient or exc.quota_exhausted:
                raise
            if not exc.channel_closed:  # a bad template id or field, not authorised: say so
                log.warning(
                    "community message %s: the template (WECHAT_TEMPLATE_SERVICE) was refused: "
                    "%s %s",
                    row.id,
                    exc.errcode,
                    exc.errmsg,
                )
            raise _TemplateRefused(exc.errcode, f"{closed}, template {exc.errcode}") from exc
        return "template"

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


class _TemplateRefused(WeChatAPIError):
    """Customer service closed and the template refused too: `errmsg` names both answers."""


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
