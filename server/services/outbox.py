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
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import F

from server.errors import WeChatAPIError
from server.meetings import Meeting, MeetingStatus
from server.models import Channel, Member, WeChatIdentity
from server.notices import Notice, NoticeStatus, SubscribeGrant
from server.wechat.client import WeChatClient

log = logging.getLogger("dangjian.outbox")
WEEKDAYS = "一二三四五六日"
LIMITS = {"thing": 20, "phrase": 5, "name": 10, "character_string": 32, "number": 32}
STALE_CLAIM = timedelta(minutes=5)  # a row still "sending" this long after its claim: a crash


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
            .prefetch_related("meeting", "member")
        )
        gate = asyncio.Semaphore(self.concurrency)
        spacing = 1 / self.rate if self.rate else 0.0
        start = time.monotonic()

        async def one(n: int, notice: Notice) -> None:
            if spacing:  # a steady rate: the n-th send waits for its slot
                await asyncio.sleep(max(0.0, start + n * spacing - time.monotonic()))
            async with gate:
                await self._one(notice, now, report)

        try:
            await asyncio.gather(*(one(n, notice) for n, notice in enumerate(due)))
        except _QuotaExhausted:
            report.paused = True
        return report

    async def _one(self, notice: Notice, now: datetime, report: Report) -> None:
        if self.paused_until and now < self.paused_until:
            return
        meeting: Meeting = notice.meeting
        news = notice.kind.startswith(("changed", "cancelled"))
        if not news and meeting.status == MeetingStatus.CANCELLED:
            await self._settle(notice, NoticeStatus.VOID)
            return
        if not news and meeting.starts_at <= now:
            await self._settle(notice, NoticeStatus.MISSED)  # the server was down at its time
            report.missed += 1
            return
        claimed = await Notice.filter(id=notice.id, status=NoticeStatus.PENDING).update(
            status=NoticeStatus.SENDING,
            attempts=F("attempts") + 1,
            claimed_at=now.astimezone(UTC),
        )
        if not claimed:
            return  # another sender has it
        try:
            channel, errcode = await self._deliver(notice, meeting, notice.member)
        except _QuotaExhausted:
            await self._settle(notice, NoticeStatus.PENDING)
            tomorrow = (now.astimezone(self.zone) + timedelta(days=1)).date()
            self.paused_until = datetime.combine(tomorrow, datetime.min.time(), self.zone)
            log.warning("45009: the day's quota is spent; notices resume at midnight")
            raise
        except WeChatAPIError as exc:  # transient (-1, unreachable API): later, or give up
            if notice.attempts + 1 >= self.max_attempts:
                await self._settle(notice, NoticeStatus.FAILED, errcode=exc.errcode)
                report.failed += 1
            else:
                backoff = timedelta(seconds=30 * 2**notice.attempts)
                await self._settle(notice, NoticeStatus.PENDING, due_at=now + backoff)
                report.retried += 1
            return
        if channel is None:
            await self._settle(notice, NoticeStatus.UNREACHABLE, errcode=errcode)
            report.unreachable += 1
        else:
            await self._settle(
                notice, NoticeStatus.SENT, channel=channel, sent_at=now.astimezone(UTC)
            )
            report.sent += 1

    async def _settle(self, notice: Notice, status: NoticeStatus, **values: object) -> None:
        if "due_at" in values:
            values["due_at"] = values["due_at"].astimezone(UTC)  # type: ignore[attr-defined]
        await Notice.filter(id=notice.id).update(status=status, **values)

    # --- the channels -----------------------------------------------------------------------

    async def _deliver(
        self, notice: Notice, meeting: Meeting, member: Member
    ) -> tuple[str | None, int | None]:
        ids = {i.channel: i for i in await WeChatIdentity.filter(member_id=member.id)}
        mp, oa = ids.get(Channel.MINIPROGRAM), ids.get(Channel.OFFICIAL_ACCOUNT)
        last: int | None = None
        t = self.templates
        if t.subscribe_id and mp and await self._take_grant(member, t.subscribe_id):
            data = self._data(t.subscribe_fields, notice, meeting)
            sent, last = await self._try(
                self.clients[Channel.MINIPROGRAM].send_subscribe(mp.openid, t.subscribe_id, data)
            )
            if sent:
                return "subscribe", None
            if last == 43101:  # the member withdrew the subscription: no grants left
                await SubscribeGrant.filter(member_id=member.id, template_id=t.subscribe_id).update(
                    remaining=0
                )
        if t.oa_id and oa:
            data = self._data(t.oa_fields, notice, meeting)
            sent, last = await self._try(
                self.clients[Channel.OFFICIAL_ACCOUNT].send_template(oa.openid, t.oa_id, data)
            )
            if sent:
                return "template", None
        for identity in (oa, mp):
            if identity is not None:
                text = self.text(notice, meeting)
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

    async def _take_grant(self, member: Member, template_id: str) -> bool:
        # One grant per message, taken atomically: two sends cannot spend the same grant.
        return bool(
            await SubscribeGrant.filter(
                member_id=member.id, template_id=template_id, remaining__gt=0
            ).update(remaining=F("remaining") - 1)
        )

    # --- what it says -----------------------------------------------------------------------

    def when(self, meeting: Meeting) -> str:
        t = meeting.starts_at.astimezone(self.zone)
        return f"{t.month}月{t.day}日（周{WEEKDAYS[t.weekday()]}）{t:%H:%M}"

    def _note(self, notice: Notice) -> str:
        head = notice.kind.split(":", 1)[0]
        return {"reminder": "会议提醒", "changed": "会议时间有变", "cancelled": "会议取消"}.get(
            head, "会议通知"
        )

    def _data(self, fields: dict[str, str], notice: Notice, meeting: Meeting) -> dict[str, object]:
        t = meeting.starts_at.astimezone(self.zone)
        values = {
            "kind": meeting.kind,
            "topic": meeting.topic,
            "time": f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}",
            "place": meeting.place or "另行通知",
            "note": self._note(notice),
        }
        return {key: {"value": cut(key, values[source])} for key, source in fields.items()}

    def text(self, notice: Notice, meeting: Meeting) -> str:
        where = f"\n地点：{meeting.place}" if meeting.place else ""
        head = notice.kind.split(":", 1)[0]
        if head == "cancelled":
            return f"【会议取消】编号 {meeting.id} 的{meeting.kind}（{meeting.topic}）已取消。"
        title = {"reminder": "会议提醒", "changed": "会议改期"}.get(head, "会议通知")
        return (
            f"【{title}】{meeting.kind}：{meeting.topic}\n时间：{self.when(meeting)}{where}\n"
            f"不能参加请回复：请假 {meeting.id} 原因"
        )
