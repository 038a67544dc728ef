"""The sender: due notices out of the outbox, each by the first channel that reaches the member.

Order: a mini-program subscribe message when the member has a grant left for the template
(one grant per message); else the official account's template message; else a customer-service
message (inside WeChat's 48-hour window); else the notice is recorded unreachable and listed
for the secretary.  A closed channel (43101, 43004, 45015, 45047, or any refusal of this
message) falls through to the next; -1 is retried later with back-off; 45009 (the day's quota)
stops sending until midnight.  Each row is claimed in one conditional UPDATE before WeChat is
called, so no notice is sent twice, by two processes or after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import F

from server.clock import day_start, when_text
from server.errors import WeChatAPIError
from server.meetings import Meeting, MeetingChange, MeetingStatus
from server.models import Channel, WeChatIdentity
from server.notices import Notice, NoticeStatus, SubscribeGrant
from server.wechat.client import WeChatClient

log = logging.getLogger("dangjian.outbox")
LIMITS = {"thing": 20, "phrase": 5, "name": 10, "character_string": 32, "number": 32}
STALE_CLAIM = timedelta(minutes=5)  # a row still "sending" this long after its claim: a crash
CHUNK = 500  # notices claimed and settled together: a crash leaves at most this many uncertain


@dataclass(frozen=True)
class Templates:
    subscribe_id: str | None = None
    subscribe_fields: dict[str, str] = field(default_factory=dict)
    oa_id: str | None = None
    oa_fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Report:
    sent: int = 0
    unreachable: int = 0
    retried: int = 0
    failed: int = 0
    missed: int = 0
    paused: bool = False


class _QuotaExhausted(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    what: str  # sent | unreachable | retry | quota
    channel: str | None = None
    errcode: int | None = None


def reason(notice: Notice, reasons: dict[int, str]) -> str:
    """The reason given for the change a `changed:N` / `cancelled:N` notice tells of, if any."""
    head, _, change = notice.kind.partition(":")
    if head not in ("changed", "cancelled") or not change.isdigit():
        return ""
    return reasons.get(int(change), "")


def cut(key: str, value: str) -> str:
    """A template field's value within WeChat's limit for its kind (thing: 20 characters...)."""
    limit = LIMITS.get(key.rstrip("0123456789"))
    return value if limit is None or len(value) <= limit else value[: limit - 1] + "…"


class Outbox:
    def __init__(
        self,
        clients: dict[Channel, WeChatClient],
        templates: Templates,
        zone: ZoneInfo,
        *,
        concurrency: int = 20,
        rate: float = 0.0,
        max_attempts: int = 5,
        batch: int = 2000,
    ) -> None:
        self.clients = clients
        self.templates = templates
        self.zone = zone
        self.concurrency = concurrency
        self.rate = rate
        self.max_attempts = max_attempts
        self.batch = batch
        self.paused_until: datetime | None = None
        self._slot = 0.0  # monotonic time of the last reserved send, for the rate limit

    # --- the run ----------------------------------------------------------------------------

    async def deliver_due(self, now: datetime) -> Report:
        report = Report()
        if self.paused_until and now < self.paused_until:
            report.paused = True
            return report
        await Notice.filter(
            status=NoticeStatus.SENDING, claimed_at__lt=(now - STALE_CLAIM).astimezone(UTC)
        ).update(status=NoticeStatus.UNCERTAIN)
        due = (
            await Notice.filter(status=NoticeStatus.PENDING, due_at__lte=now.astimezone(UTC))
            .order_by("due_at", "id")
            .limit(self.batch)
            .prefetch_related("meeting")  # the member's id is enough: no Member rows
        )
        self._slot = time.monotonic()
        for first in range(0, len(due), CHUNK):
            if self.paused_until and now < self.paused_until:
                report.paused = True
                break
            await self._chunk(due[first : first + CHUNK], now, report)
        return report

    async def _chunk(self, rows: list[Notice], now: datetime, report: Report) -> None:
        """A few hundred notices: decided, claimed and settled in a handful of statements."""
        live: list[Notice] = []
        for notice in rows:
            news = notice.kind.startswith(("changed", "cancelled"))
            if not news and notice.meeting.status == MeetingStatus.CANCELLED:
                await self._settle([notice.id], NoticeStatus.VOID)
            elif not news and notice.meeting.starts_at <= now:
                await self._settle([notice.id], NoticeStatus.MISSED)  # the server was down
                report.missed += 1
            else:
                live.append(notice)
        if not live:
            return
        token = secrets.token_hex(8)
        await Notice.filter(id__in=[n.id for n in live], status=NoticeStatus.PENDING).update(
            status=NoticeStatus.SENDING,
            attempts=F("attempts") + 1,
            claimed_at=now.astimezone(UTC),
            claim=token,
        )
        # Only the rows this sender claimed: another sender may have taken some meanwhile.
        mine = set(await Notice.filter(claim=token).values_list("id", flat=True))
        live = [n for n in live if n.id in mine]
        reasons = await self._reasons(live)
        identities: dict[int, dict[Channel, WeChatIdentity]] = defaultdict(dict)
        for identity in await WeChatIdentity.filter(member_id__in={n.member_id for n in live}):  # type: ignore[attr-defined]
            identities[identity.member_id][identity.channel] = identity  # type: ignore[attr-defined]
        gate = asyncio.Semaphore(self.concurrency)

        async def one(notice: Notice) -> tuple[Notice, Outcome]:
            await self._wait_for_slot()
            async with gate:
                ids = identities.get(notice.member_id, {})  # type: ignore[attr-defined]
                return notice, await self._outcome(notice, ids, reason(notice, reasons))

        done = await asyncio.gather(*(one(n) for n in live))
        await self._settle_all(done, now, report)

    async def _reasons(self, rows: list[Notice]) -> dict[int, str]:
        """The reason the secretary gave for each change or cancellation these notices tell of,
        by the change's id (the number in `changed:N` / `cancelled:N`)."""
        ids = {
            int(n.kind.split(":", 1)[1])
            for n in rows
            if n.kind.startswith(("changed:", "cancelled:")) and n.kind.split(":", 1)[1].isdigit()
        }
        if not ids:
            return {}
        found = await MeetingChange.filter(id__in=ids).values_list("id", "detail")
        return {
            change_id: str(detail.get("reason") or "").strip()
            for change_id, detail in found
            if isinstance(detail, dict)
        }

    async def _wait_for_slot(self) -> None:
        if self.rate:  # a steady rate: each send waits for its turn
            self._slot = max(self._slot, time.monotonic()) + 1 / self.rate
            await asyncio.sleep(max(0.0, self._slot - 1 / self.rate - time.monotonic()))

    async def _outcome(
        self, notice: Notice, ids: dict[Channel, WeChatIdentity], why: str = ""
    ) -> Outcome:
        try:
            channel, errcode = await self._deliver(
                notice,
                notice.meeting,
                notice.member_id,  # type: ignore[attr-defined]
                ids,
                why,
            )
        except _QuotaExhausted:
            return Outcome("quota")
        except WeChatAPIError as exc:  # transient (-1, the API unreachable)
            return Outcome("retry", errcode=exc.errcode)
        if channel is None:
            return Outcome("unreachable", errcode=errcode)
        return Outcome("sent", channel=channel)

    async def _settle_all(
        self, done: list[tuple[Notice, Outcome]], now: datetime, report: Report
    ) -> None:
        groups: dict[tuple[str, str | None, int | None], list[int]] = defaultdict(list)
        for notice, outcome in done:
            what = outcome.what
            if what == "retry" and notice.attempts + 1 >= self.max_attempts:
                what = "failed"
            groups[(what, outcome.channel, outcome.errcode)].append(notice.id)
            if what == "retry":  # each its own back-off: 30 s, 1 min, 2 min, ...
                backoff = timedelta(seconds=30 * 2**notice.attempts)
                await self._settle(
                    [notice.id], NoticeStatus.PENDING, due_at=(now + backoff).astimezone(UTC)
                )
        told = {n.meeting_id for n, o in done if o.what == "sent" and n.kind == "scheduled"}  # type: ignore[attr-defined]
        if told:  # planned → notified, once its first notice has gone out
            await Meeting.filter(id__in=told, status=MeetingStatus.PLANNED).update(
                status=MeetingStatus.NOTIFIED
            )
        for (what, channel, errcode), ids in groups.items():
            if what == "sent":
                await self._settle(
                    ids, NoticeStatus.SENT, channel=channel, sent_at=now.astimezone(UTC)
                )
                report.sent += len(ids)
            elif what == "unreachable":
                await self._settle(ids, NoticeStatus.UNREACHABLE, errcode=errcode)
                report.unreachable += len(ids)
            elif what == "failed":
                await self._settle(ids, NoticeStatus.FAILED, errcode=errcode)
                report.failed += len(ids)
            elif what == "retry":
                report.retried += len(ids)
            elif what == "quota":
                await self._settle(ids, NoticeStatus.PENDING)
        if any(outcome.what == "quota" for _, outcome in done):
            tomorrow = (now.astimezone(self.zone) + timedelta(days=1)).date()
            self.paused_until = day_start(tomorrow, self.zone)
            report.paused = True
            log.warning("45009: the day's quota is spent; notices resume at midnight")

    async def _settle(self, ids: list[int], status: NoticeStatus, **values: object) -> None:
        await Notice.filter(id__in=ids).update(status=status, claim=None, **values)

    # --- the channels -----------------------------------------------------------------------

    async def _deliver(
        self,
        notice: Notice,
        meeting: Meeting,
        member_id: int,
        ids: dict[Channel, WeChatIdentity],
        why: str = "",
    ) -> tuple[str | None, int | None]:
        mp, oa = ids.get(Channel.MINIPROGRAM), ids.get(Channel.OFFICIAL_ACCOUNT)
        last: int | None = None
        t = self.templates
        if t.subscribe_id and mp and await self._take_grant(member_id, t.subscribe_id):
            data = self._data(t.subscribe_fields, notice, meeting, why)
            sent, last = await self._try(
                self.clients[Channel.MINIPROGRAM].send_subscribe(mp.openid, t.subscribe_id, data)
            )
            if sent:
                return "subscribe", None
            if last == 43101:  # the member withdrew the subscription: no grants left
                await SubscribeGrant.filter(member_id=member_id, template_id=t.subscribe_id).update(
                    remaining=0
                )
        if t.oa_id and oa:
            data = self._data(t.oa_fields, notice, meeting, why)
            sent, last = await self._try(
                self.clients[Channel.OFFICIAL_ACCOUNT].send_template(oa.openid, t.oa_id, data)
            )
            if sent:
                return "template", None
        for identity in (oa, mp):
            if identity is not None:
                text = self.text(notice, meeting, why)
                sent, last = await self._try(
                    self.clients[identity.channel].send_custom_text(identity.openid, text)
                )
                if sent:
                    return "custom", None
        return None, last

    async def _try(self, call: object) -> tuple[bool, int | None]:
        try:
            await call  # type: ignore[misc]
        except WeChatAPIError as exc:
            if exc.quota_exhausted:
                raise _QuotaExhausted from None
            if exc.transient:
                raise
            return False, exc.errcode  # this channel refused this message: the next one
        return True, None

    async def _take_grant(self, member_id: int, template_id: str) -> bool:
        # One grant per message, taken atomically: two sends cannot spend the same grant.
        return bool(
            await SubscribeGrant.filter(
                member_id=member_id, template_id=template_id, remaining__gt=0
            ).update(remaining=F("remaining") - 1)
        )

    # --- what it says -----------------------------------------------------------------------

    def _note(self, notice: Notice, why: str = "") -> str:
        head = notice.kind.split(":", 1)[0]
        note = {"reminder": "会议提醒", "changed": "会议时间有变", "cancelled": "会议取消"}.get(
            head, "会议通知"
        )
        return f"{note}：{why}" if why else note

    def _data(
        self, fields: dict[str, str], notice: Notice, meeting: Meeting, why: str = ""
    ) -> dict[str, object]:
        t = meeting.starts_at.astimezone(self.zone)
        values = {
            "kind": meeting.kind,
            "topic": meeting.topic,
            "time": f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}",
            "place": meeting.place or "另行通知",
            "note": self._note(notice, why),
        }
        return {key: {"value": cut(key, values[source])} for key, source in fields.items()}

    def text(self, notice: Notice, meeting: Meeting, why: str = "") -> str:
        """A customer-service message; `why` is the reason the secretary gave for a change."""
        where = f"\n地点：{meeting.place}" if meeting.place else ""
        head = notice.kind.split(":", 1)[0]
        if head == "cancelled":
            because = f"\n原因：{why}" if why else ""
            what = f"编号 {meeting.id} 的{meeting.kind}（{meeting.topic}）"
            return f"【会议取消】{what}已取消。{because}"
        title = {"reminder": "会议提醒", "changed": "会议改期"}.get(head, "会议通知")
        when = when_text(meeting.starts_at, self.zone)
        because = f"\n改期原因：{why}" if why else ""
        return (
            f"【{title}】{meeting.kind}：{meeting.topic}\n时间：{when}{where}{because}\n"
            f"不能参加请回复：请假 {meeting.id} 原因"
        )
