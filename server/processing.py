"""Exactly-once handling of WeChat pushes, within WeChat's deadline.

WeChat resends a push it got no answer to within 5 s (three attempts in all), possibly to
another server process.  The first process to claim the message's key in the shared cache
handles it; a retry waits for that result and gets the same reply without repeating anything.

Key states: `pending` (claimed, with the owner's token and a lease; a short TTL too, so a
crashed owner does not swallow the message), `done` (with the passive reply, kept a few
minutes), `async` (the owner answered `success` and the reply goes out through the
customer-service API, so retries answer `success` too).

A stalled Redis runs a claim after its sender gave up on it: the claim then belongs to nobody.
Its lease was written by the sender's clock at sending time, so it has lapsed by the time
WeChat's retry reads it, and the retry takes the claim over (compare-and-set).  No copy answers
`success` for work it has not seen settled: it answers 503 and WeChat tries again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from typing import Any, Literal

from server.cache import Cache, CacheUnavailable
from server.channels import Channel
from server.dispatch import Dispatcher, PrivateReply
from server.dispatch.dispatcher import APOLOGY
from server.dispatch.state import Conversation
from server.metrics import Metrics
from server.wechat.client import WeChatClient
from server.wechat.messages import InboundMessage

log = logging.getLogger("dangjian.gateway")

RESULT_TTL = 300  # WeChat's retries arrive within ~15 s; keep results well beyond that.
# A reply repeating an income (算党费) is kept just past the last retry, not for minutes.
PRIVATE_RESULT_TTL = 30
# A live owner settles its claim at its deadline; a claim it never settles (the process died)
# lapses this long after, before WeChat's retry arrives (5 s after the first try).
CLAIM_MARGIN = 0.5
ASYNC = json.dumps({"s": "async"})
_RELEASED = object()  # the claim vanished before it was settled
_TAKEN_OVER = object()  # the owner stopped progressing; this copy now owns the claim


class RetryLater(Exception):
    """Neither done nor safely owned here: answer with an HTTP error so WeChat tries again."""


def _pending(token: str, lease: float) -> str:
    # The lease is wall-clock time because every process (and the retry) reads it.
    return json.dumps({"s": "pending", "o": token, "l": round(time.time() + lease, 3)})


def _lapsed(state: dict[str, Any]) -> bool:
    """The owner is not progressing: its lease ran out before it settled the claim."""
    lease = state.get("l")
    return isinstance(lease, int | float) and lease < time.time()


class MessageProcessor:
    def __init__(
        self,
        dispatcher: Dispatcher,
        cache: Cache,
        clients: dict[Channel, WeChatClient],
        metrics: Metrics,
        deadline: float,
    ) -> None:
        self.dispatcher = dispatcher
        self.cache = cache
        self.clients = clients
        self.metrics = metrics
        self.deadline = deadline
        self._background: set[asyncio.Task[Any]] = set()

    async def process(self, message: InboundMessage, appid: str) -> str | None:
        """The passive reply for this push, or None for `success`."""
        key = f"dedup:{appid}:{message.dedup_key}"
        give_up = time.monotonic() + self.deadline
        conversation_key = Conversation.key_for(appid, message.from_user)
        token = secrets.token_hex(8)
        while True:
            mine = _pending(token, self.deadline + CLAIM_MARGIN)
            try:
                # The sender's conversation state comes back in the same round trip as the claim.
                before, conversation = await self.cache.claim(
                    key, mine, self.deadline + CLAIM_MARGIN, conversation_key
                )
            except CacheUnavailable as exc:
                return self._claim_failed(message, exc)
            if before is not None and json.loads(before).get("o") == token:
                before = None  # our own claim, resent by redis-py after a lost answer
            if before is None:
                return await self._handle(message, appid, key, conversation, give_up)
            try:
                outcome = await self._await_result(key, before, mine, give_up)
            except CacheUnavailable as exc:
                log.warning("cache failed while waiting for another copy: %s", exc)
                self.metrics.messages.labels(message.type_label, "retry").inc()
                raise RetryLater from exc
            if outcome is _TAKEN_OVER:
                log.warning("took over a claim whose owner stopped progressing")
                return await self._handle(message, appid, key, False, give_up)
            if outcome is not _RELEASED:
                self.metrics.retries_deduplicated.inc()
                self.metrics.messages.labels(message.type_label, "duplicate").inc()
                return outcome  # type: ignore[return-value]  # not a sentinel: the reply or None
            # The owner died or gave up before settling: this copy takes over the work.

    def _claim_failed(self, message: InboundMessage, exc: CacheUnavailable) -> str:
        # Stalled: our claim may land later and own nothing.  WeChat's retry finds it lapsed
        # and takes it over, so the work is done once, later.  The mini-program takes no
        # passive reply, so a retry is the only answer it can have.
        if exc.landed_maybe or message.channel is Channel.MINIPROGRAM:
            log.warning("claim timed out; asking WeChat to retry: %s", exc)
            self.metrics.messages.labels(message.type_label, "retry").inc()
            raise RetryLater from exc
        # Down: nothing was claimed and nothing can be settled.  Tell the member, politely.
        log.error("cache unreachable; answering with the apology: %s", exc)
        self.metrics.messages.labels(message.type_label, "apology").inc()
        return APOLOGY

    async def _handle(
        self,
        message: InboundMessage,
        appid: str,
        key: str,
        conversation: str | Literal[False] | None,
        give_up: float,
    ) -> str | None:
        # A copy taking over from a dead owner has only what is left of its own time.
        budget = max(0.0, give_up - time.monotonic())
        task = asyncio.create_task(
            self.dispatcher.feed(message, appid, conversation_raw=conversation)
        )
        if message.channel is Channel.MINIPROGRAM:
            # Mini-program customer service never takes a passive reply.
            await self._settle(key, ASYNC)
            self._deliver_later(task, message)
            self.metrics.messages.labels(message.type_label, "async").inc()
            return None
        try:
            # asyncio.wait leaves the task running past the deadline, unlike wait_for.
            done, _ = await asyncio.wait((task,), timeout=budget)
        except BaseException:
            await self._release(key)  # a retry may take over
            raise
        if not done:
            await self._settle(key, ASYNC)
            log.warning(
                "reply missed the deadline; sending through the API",
                extra={"msg_type": message.msg_type},
            )
            self._deliver_later(task, message)
            self.metrics.messages.labels(message.type_label, "async").inc()
            return None
        try:
            reply = task.result()
        except BaseException:
            await self._release(key)  # nothing was done: let WeChat's retry try again
            raise
        ttl = PRIVATE_RESULT_TTL if isinstance(reply, PrivateReply) else RESULT_TTL
        await self._settle(key, json.dumps({"s": "done", "r": reply}), ttl)
        self.metrics.messages.labels(message.type_label, "replied" if reply else "ignored").inc()
        return reply

    async def _settle(self, key: str, state: str, ttl: float = RESULT_TTL) -> None:
        try:
            await self.cache.set(key, state, ttl)
        except CacheUnavailable as exc:
            # The work is done and its reply goes out; only a retry could repeat it, once its
            # lease lapses, and a repeat of our handlers (打卡, 绑定) is recognised as one.
            log.warning("could not record a handled message: %s", exc)

    async def _release(self, key: str) -> None:
        try:
            await self.cache.delete(key)
        except CacheUnavailable as exc:
            log.warning("could not release a claim (its lease lapses): %s", exc)

    async def _await_result(
        self, key: str, raw: str | None, mine: str, give_up: float
    ) -> str | object | None:
        """The settled outcome of another copy's claim (`raw`, as first seen)."""
        interval = 0.005
        while True:
            if raw is None:
                return _RELEASED
            state = json.loads(raw)
            if state["s"] == "done":
                return state.get("r")
            if state["s"] == "async":
                return None
            if _lapsed(state) and await self.cache.swap(
                key, raw, mine, self.deadline + CLAIM_MARGIN
            ):
                return _TAKEN_OVER
            if time.monotonic() >= give_up:
                break
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.05)
            raw = await self.cache.get(key)
        # Still pending at our own deadline: never `success` for work we have not seen done.
        raise RetryLater

    def _deliver_later(self, task: asyncio.Task[str | None], message: InboundMessage) -> None:
        async def deliver() -> None:
            try:
                reply = await task
            except Exception:
                log.exception("background handling failed")
                self.metrics.background_replies.labels("error").inc()
                return
            if not reply:
                return
            client = self.clients[message.channel]
            try:
                await client.send_custom_text(message.from_user, reply)
            except Exception as exc:
                # The member's window may be closed (45015/45047); nothing more we can do here.
                log.warning("could not deliver a late reply: %s", exc)
                self.metrics.background_replies.labels("failed").inc()
                return
            self.metrics.background_replies.labels("sent").inc()

        background = asyncio.create_task(deliver())
        self._background.add(background)
        background.add_done_callback(self._background.discard)

    async def drain(self, limit: float = 10) -> None:
        """Wait for late replies still being delivered (shutdown, and tests)."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=limit)
