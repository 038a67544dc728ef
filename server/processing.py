"""Exactly-once handling of WeChat pushes, within WeChat's deadline.

WeChat resends a push it got no answer to within 5 s (three attempts in all), possibly to
another server process.  The first process to claim the message's key in the shared cache
handles it; a retry waits for that result and gets the same reply without repeating anything.

Key states: `pending` (claimed; short TTL so a crashed owner does not swallow the message),
`done` (with the passive reply, kept a few minutes), `async` (the owner answered `success` and
the reply goes out through the customer-service API, so retries answer `success` too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from server.cache import Cache
from server.dispatch import Dispatcher
from server.dispatch.state import Conversation
from server.metrics import Metrics
from server.models import Channel
from server.wechat.client import WeChatClient
from server.wechat.messages import InboundMessage

log = logging.getLogger("dangjian.gateway")

RESULT_TTL = 300  # WeChat's retries arrive within ~15 s; keep results well beyond that.
# A live owner settles its claim at its deadline; a claim it never settles (the process died)
# lapses this long after, before WeChat's retry arrives (5 s after the first try).
CLAIM_MARGIN = 0.5
PENDING = json.dumps({"s": "pending"})
ASYNC = json.dumps({"s": "async"})
_RELEASED = object()  # the claim vanished before it was settled


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
        while True:
            # The sender's conversation state comes back in the same round trip as the claim.
            claimed, conversation = await self.cache.add_and_get(
                key, PENDING, self.deadline + CLAIM_MARGIN, conversation_key
            )
            if claimed:
                # A copy taking over from a dead owner has only what is left of its own time.
                budget = max(0.0, give_up - time.monotonic())
                return await self._handle(message, appid, key, conversation, budget)
            outcome = await self._await_result(key, give_up)
            if outcome is not _RELEASED:
                self.metrics.retries_deduplicated.inc()
                self.metrics.messages.labels(message.type_label, "duplicate").inc()
                return outcome  # type: ignore[return-value]
            # The owner died or gave up before settling: this copy takes over the work.

    async def _handle(
        self,
        message: InboundMessage,
        appid: str,
        key: str,
        conversation: str | None,
        budget: float,
    ) -> str | None:
        task = asyncio.create_task(
            self.dispatcher.feed(message, appid, conversation_raw=conversation)
        )
        if message.channel is Channel.MINIPROGRAM:
            # Mini-program customer service never takes a passive reply.
            await self.cache.set(key, ASYNC, RESULT_TTL)
            self._deliver_later(task, message)
            self.metrics.messages.labels(message.type_label, "async").inc()
            return None
        try:
            # asyncio.wait leaves the task running past the deadline, unlike wait_for.
            done, _ = await asyncio.wait((task,), timeout=budget)
        except BaseException:
            await self.cache.delete(key)  # release the claim: a retry may take over
            raise
        if not done:
            await self.cache.set(key, ASYNC, RESULT_TTL)
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
            await self.cache.delete(key)  # nothing was done: let WeChat's retry try again
            raise
        await self.cache.set(key, json.dumps({"s": "done", "r": reply}), RESULT_TTL)
        self.metrics.messages.labels(message.type_label, "replied" if reply else "ignored").inc()
        return reply

    async def _await_result(self, key: str, give_up: float) -> str | object | None:
        interval = 0.005
        while time.monotonic() < give_up:
            raw = await self.cache.get(key)
            if raw is None:
                return _RELEASED
            state = json.loads(raw)
            if state["s"] == "done":
                return state.get("r")
            if state["s"] == "async":
                return None
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.05)
        # Still pending at our own deadline: answer `success`; the owner settles it.
        return None

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
