"""The sender: due notices out of the outbox, each by the first channel that reaches the member.

Order: a mini-program subscribe message when the member has a grant left for the template
(one grant per message); else the official account's template message; else a customer-service
message (inside WeChat's 48-hour window); else the notice is recorded unreachable and listed
for the secretary.  A closed channel (43101, 43004, 45015, 45047, or any refusal of this
message) falls through to the next; -1 is retried later with back-off; 45009 (the day's quota)
stops sending until midnight.

Exactly once, none stranded: rows are claimed (pending → claimed) in one conditional UPDATE, so
two processes never take the same one; each is marked sending just before its first call to
WeChat and settled the moment its own calls return.  A call that may have reached WeChat (a
timeout, a dropped connection, an error or a crash mid-call) settles as uncertain and is never
repeated; only a definite failure goes back to pending.  A fan-out that stops early lets go of
the rows it never called for, and a dead sender's untouched claims are pending again once its
lease has run out.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from tortoise.expressions import F

from server.channels import Channel
from server.clock import day_start, when_text
from server.errors import WeChatAPIError, WeChatUnavailable
from server.models.meetings import Meeting, MeetingChange, MeetingStatus
from server.models.notices import Notice, NoticeStatus, SubscribeGrant
from server.models.people import Member, WeChatIdentity
from server.services.delivery.messenger import Clients
from server.services.delivery.outbox_claims import (
    Attempt,
    Claim,
    LostClaim,
    expire_leases,
    release,
    settle,
)
from server.services.meetings.afar import WRITING_DAYS

log = logging.getLogger("dangjian.outbox")
LIMITS = {"thing": 20, "phrase": 5, "name": 10, "character_string": 32, "number": 32}
CHUNK = 500  # notices claimed together; each is still settled on its own


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
    uncertain: int = 0
    paused: bool = False


class _QuotaExhausted(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    what: str  # sent | unreachable | retry | quota | uncertain
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
        clients: Clients,
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
        await expire_leases(now)
        due = (
            await Notice.filter(status=NoticeStatus.PENDING, due_at__lte=now.astimezone(UTC))
            .order_by("due_at", "id")
            .limit(self.batch)
            .prefetch_related("meeting")  # the member's id is enough: no Member rows
        )
        self._slot = time.monotonic()
        # The chunks side by side through one gate: a chunk's last sends (a retry's back-off, a
        # slow call) no longer hold up the next chunk's first (bench/notices.py).
        gate = asyncio.Semaphore(self.concurrency)
        chunks = [due[first : first + CHUNK] for first in range(0, len(due), CHUNK)]
        ended = await asyncio.gather(
            *(self._chunk(rows, now, report, gate) for rows in chunks), return_exceptions=True
        )
        for failure in ended:  # each chunk let its rows go; the first failure is the run's
            if isinstance(failure, BaseException):
                raise failure
        if self.paused_until and now < self.paused_until:
            report.paused = True
        return report

    async def _chunk(
        self, rows: list[Notice], now: datetime, report: Report, gate: asyncio.Semaphore
    ) -> None:
        """A few hundred notices: decided and claimed together, each settled on its own."""
        live: list[Notice] = []
        for notice in rows:
            news = notice.kind.startswith(("changed", "cancelled"))
            if not news and notice.meeting.status == MeetingStatus.CANCELLED:
                await Notice.filter(id=notice.id).update(status=NoticeStatus.VOID)
            elif not news and notice.meeting.starts_at <= now:
                await Notice.filter(id=notice.id).update(status=NoticeStatus.MISSED)
                report.missed += 1  # the server was down
            else:
                live.append(notice)
        if not live:
            return
        claim = Claim(secrets.token_hex(8), now)
        await Notice.filter(id__in=[n.id for n in live], status=NoticeStatus.PENDING).update(
            status=NoticeStatus.CLAIMED, claimed_at=now.astimezone(UTC), claim=claim.token
        )
        # Only the rows this sender claimed: another sender may have taken some meanwhile.
        # flat=True gives the ids themselves; Tortoise 1.1 types them as tuples.
        claimed = await Notice.filter(claim=claim.token).values_list("id", flat=True)
        mine = set(cast("list[int]", claimed))
        live = [n for n in live if n.id in mine]
        try:
            reasons = await self._reasons(live)
            identities: dict[int, dict[Channel, WeChatIdentity]] = defaultdict(dict)
            for identity in await WeChatIdentity.filter(member_id__in={n.member_id for n in live}):
                identities[identity.member_id][identity.channel] = identity
            # 流动党员 (流出) among them: their notice says how to take part from afar.
            far = set(
                cast(
                    "list[int]",
                    await Member.filter(
                        id__in={n.member_id for n in live}, is_mobile=True
                    ).values_list("id", flat=True),
                )
            )

            async def one(notice: Notice) -> None:
                await self._wait_for_slot()
                async with gate:
                    if self.paused_until and now < self.paused_until:
                        return  # the day's quota ran out meanwhile: released below
                    ids = identities.get(notice.member_id, {})
                    why = reason(notice, reasons)
                    mobile = notice.member_id in far
                    await self._one(notice, ids, why, claim, report, mobile)

            await asyncio.gather(*(one(n) for n in live))
        finally:
            # Cancelled (shutdown) or stopped by the quota: whatever is still ours is let go,
            # shielded so that a second cancellation cannot strand the rows again.
            await asyncio.shield(release(claim))

    async def _one(
        self,
        notice: Notice,
        ids: dict[Channel, WeChatIdentity],
        why: str,
        claim: Claim,
        report: Report,
        mobile: bool = False,
    ) -> None:
        """One notice, settled as soon as its own calls return; its errors are its own."""
        attempt = Attempt(notice, claim)
        try:
            outcome = await self._outcome(attempt, ids, why, mobile)
        except LostClaim:
            return  # our lease ran out and another sender has it now
        except Exception:
            # A bug, or the cache or database failing under this one send: the others go on.
            log.exception("notice %s: unexpected error while sending", notice.id)
            if not attempt.started:
                return  # nothing went out: released with the rest of the claim
            outcome = Outcome("uncertain")
        # Shielded: a shutdown now must not lose what WeChat has just answered.
        settling = asyncio.ensure_future(self._settle_one(notice, outcome, claim, report))
        claim.settling.add(settling)
        try:
            await asyncio.shield(settling)
        except Exception:  # the database failed us: the row stays sending, released as uncertain
            log.exception("notice %s: its outcome (%s) could not be recorded", notice.id, outcome)

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
        self,
        attempt: Attempt,
        ids: dict[Channel, WeChatIdentity],
        why: str = "",
        mobile: bool = False,
    ) -> Outcome:
        notice = attempt.notice
        try:
            channel, errcode = await self._deliver(
                attempt, notice.meeting, notice.member_id, ids, why, mobile
            )
        except _QuotaExhausted:
            return Outcome("quota")
        except WeChatUnavailable as exc:
            if exc.maybe_delivered:  # the client did not resend it: neither do we
                return Outcome("uncertain", errcode=exc.errcode)
            return Outcome("retry", errcode=exc.errcode)  # -1 throughout, or never connected
        except WeChatAPIError as exc:  # transient (-1)
            return Outcome("retry", errcode=exc.errcode)
        if channel is None:
            return Outcome("unreachable", errcode=errcode)
        return Outcome("sent", channel=channel)

    async def _settle_one(
        self, notice: Notice, outcome: Outcome, claim: Claim, report: Report
    ) -> None:
        what, now = outcome.what, claim.now
        if what == "retry" and notice.attempts + 1 >= self.max_attempts:
            what = "failed"
        if what == "sent":
            await settle(
                notice,
                claim,
                NoticeStatus.SENT,
                channel=outcome.channel,
                sent_at=now.astimezone(UTC),
            )
            report.sent += 1
            if notice.kind == "scheduled" and notice.meeting_id not in claim.told:
                claim.told.add(notice.meeting_id)
                # planned → notified, once its first notice has gone out
                await Meeting.filter(id=notice.meeting_id, status=MeetingStatus.PLANNED).update(
                    status=MeetingStatus.NOTIFIED
                )
        elif what == "unreachable":
            await settle(notice, claim, NoticeStatus.UNREACHABLE, errcode=outcome.errcode)
            report.unreachable += 1
        elif what == "uncertain":
            await settle(notice, claim, NoticeStatus.UNCERTAIN, errcode=outcome.errcode)
            report.uncertain += 1
        elif what == "failed":
            await settle(notice, claim, NoticeStatus.FAILED, errcode=outcome.errcode)
            report.failed += 1
        elif what == "retry":  # each its own back-off: 30 s, 1 min, 2 min, ...
            backoff = timedelta(seconds=30 * 2**notice.attempts)
            due = (now + backoff).astimezone(UTC)
            await settle(notice, claim, NoticeStatus.PENDING, due_at=due)
            report.retried += 1
        elif what == "quota":  # refused, so not delivered: it waits for tomorrow's quota
            await settle(notice, claim, NoticeStatus.PENDING)
            if not (self.paused_until and now < self.paused_until):
                tomorrow = (now.astimezone(self.zone) + timedelta(days=1)).date()
                self.paused_until = day_start(tomorrow, self.zone)
                log.warning("45009: the day's quota is spent; notices resume at midnight")
            report.paused = True

    # --- the channels -----------------------------------------------------------------------

    async def _deliver(
        self,
        attempt: Attempt,
        meeting: Meeting,
        member_id: int,
        ids: dict[Channel, WeChatIdentity],
        why: str = "",
        mobile: bool = False,
    ) -> tuple[str | None, int | None]:
        notice = attempt.notice
        mp, oa = ids.get(Channel.MINIPROGRAM), ids.get(Channel.OFFICIAL_ACCOUNT)
        last: int | None = None
        t = self.templates
        if t.subscribe_id and mp and await self._take_grant(member_id, t.subscribe_id):
            data = self._data(t.subscribe_fields, notice, meeting, why, mobile)
            sent, last = await self._try(
                attempt,
                self.clients[Channel.MINIPROGRAM].send_subscribe(mp.openid, t.subscribe_id, data),
            )
            if sent:
                return "subscribe", None
            if last == 43101:  # the member withdrew the subscription: no grants left
                await SubscribeGrant.filter(member_id=member_id, template_id=t.subscribe_id).update(
                    remaining=0
                )
        if t.oa_id and oa:
            data = self._data(t.oa_fields, notice, meeting, why, mobile)
            sent, last = await self._try(
                attempt,
                self.clients[Channel.OFFICIAL_ACCOUNT].send_template(oa.openid, t.oa_id, data),
            )
            if sent:
                return "template", None
        for identity in (oa, mp):
            if identity is not None:
                text = self.text(notice, meeting, why, mobile=mobile)
                sent, last = await self._try(
                    attempt, self.clients[identity.channel].send_custom_text(identity.openid, text)
                )
                if sent:
                    return "custom", None
        return None, last

    async def _try(
        self, attempt: Attempt, call: Coroutine[Any, Any, object]
    ) -> tuple[bool, int | None]:
        try:
            await attempt.begin()
        except BaseException:
            call.close()  # never started: nothing was sent
            raise
        try:
            await call
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

    def _note(self, notice: Notice, why: str = "", far: str = "") -> str:
        head = notice.kind.split(":", 1)[0]
        note = {"reminder": "会议提醒", "changed": "会议时间有变", "cancelled": "会议取消"}.get(
            head, "会议通知"
        )
        if why:
            return f"{note}：{why}"
        return f"{note}：{far}" if far and head != "cancelled" else note

    def _data(
        self,
        fields: dict[str, str],
        notice: Notice,
        meeting: Meeting,
        why: str = "",
        mobile: bool = False,
    ) -> dict[str, object]:
        t = meeting.starts_at.astimezone(self.zone)
        values = {
            "kind": meeting.kind,
            "topic": meeting.topic,
            "time": f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}",
            "place": meeting.place or "另行通知",
            # A template has no room for the whole line: a hint, the rest is in 会议 N.
            "note": self._note(notice, why, _far_hint(meeting) if mobile else ""),
        }
        return {key: {"value": cut(key, values[source])} for key, source in fields.items()}

    def text(self, notice: Notice, meeting: Meeting, why: str = "", *, mobile: bool = False) -> str:
        """A customer-service message; `why` is the reason the secretary gave for a change;
        `mobile`: to a 流动党员 (流出), who is told how to take part from afar."""
        where = f"\n地点：{meeting.place}" if meeting.place else ""
        head = notice.kind.split(":", 1)[0]
        if head == "cancelled":
            because = f"\n原因：{why}" if why else ""
            what = f"编号 {meeting.id} 的{meeting.kind}（{meeting.topic}）"
            return f"【会议取消】{what}已取消。{because}"
        title = {"reminder": "会议提醒", "changed": "会议改期"}.get(head, "会议通知")
        when = when_text(meeting.starts_at, self.zone)
        because = f"\n改期原因：{why}" if why else ""
        far = f"\n{far_line(meeting)}" if mobile else ""
        return (
            f"【{title}】{meeting.kind}：{meeting.topic}\n时间：{when}{where}{because}{far}\n"
            f"不能参加请回复：请假 {meeting.id} 原因"
        )


def far_line(meeting: Meeting) -> str:
    """What a 流动党员 far away may do instead of coming: join the online part (signing in with
    the code read out there), or send a 心得 on the topic — only the 心得 without an online part."""
    writing = (
        f"就会议主题交一篇心得代替参会：心得 {meeting.id} 内容（会议开始后至结束后 "
        f"{WRITING_DAYS} 天内发送，支部审核通过后计入参会）"
    )
    if meeting.online:
        return (
            f"您是流动党员，可以线上参加（{meeting.online}），用会上公布的签到码发送 签到 "
            f"六位数字；或{writing}。"
        )
    return f"您是流动党员，不能到会的，可以{writing}。"


def _far_hint(meeting: Meeting) -> str:
    return "可线上参加或交心得" if meeting.online else "可交心得代替参会"
