"""Late replies: what the server sends the member later through WeChat's API.

Those answers never come back on the push's request, so they are read from the fake WeChat API's
call log (`{api_base}/_fake/calls`); only the fake has one, so until it answers the chat does not
know whether late replies can be shown at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from server.chat_cli.options import ChatOptions
from server.chat_cli.screen import Screen
from server.chat_cli.users import Players

BOT_LATER = "党建助手（稍后）> "
# Never send fake-API probes to Tencent: the production base has no /_fake.
REAL_API_HOSTS = frozenset({"api.weixin.qq.com", "sh.api.weixin.qq.com", "sz.api.weixin.qq.com"})
# Outbound calls that reach the member later, and how each is labelled.
LATE_PATHS = (
    ("/cgi-bin/message/custom/send", "custom"),
    ("/cgi-bin/message/template/send", "模板消息"),
    ("/cgi-bin/message/subscribe/send", "订阅消息"),
)


def describe_call(kind: str, body: dict[str, Any]) -> str:
    if kind == "custom":
        msgtype = body.get("msgtype")
        if msgtype == "text":
            return str((body.get("text") or {}).get("content") or "")
        return f"[{msgtype}]"
    data = body.get("data") or {}
    fields = [f"{k}: {v.get('value') if isinstance(v, dict) else v}" for k, v in data.items()]
    return f"[{kind}] " + "，".join(fields)


class LateReplies:
    def __init__(
        self,
        options: ChatOptions,
        session: aiohttp.ClientSession,
        players: Players,
        screen: Screen,
    ) -> None:
        self.options = options
        self.session = session
        self.players = players
        self.screen = screen
        self.api_base = options.api_base.rstrip("/") if options.api_base else None
        # None until the fake API answers or clearly is not there (it may share a down server).
        self.fake: bool | None = None
        self.since = 0
        self.pending = 0  # `success` answers still waiting for their late reply
        self.settled = asyncio.Event()
        self.poll_lock = asyncio.Lock()

    def no_fake(self) -> None:
        if self.fake is not False:
            self.fake = False
            where = (
                f"{self.api_base} is not the fake WeChat API" if self.api_base else "no API base"
            )
            self.screen.say(
                f"» {where}: late replies (customer-service messages) can't be shown here"
            )

    async def _read_log(self, since: int) -> Any:
        """The log after `since`; None when the API base does not answer 200."""
        async with self.session.get(
            f"{self.api_base}/_fake/calls", params={"since": str(since)}
        ) as resp:
            if resp.status != 200:
                return None
            return await resp.json(content_type=None)

    async def probe(self) -> None:
        if self.fake is not None:
            return
        if not self.api_base or urlsplit(self.api_base).hostname in REAL_API_HOSTS:
            self.no_fake()
            return
        try:
            data = await self._read_log(0)
            if data is None:
                self.no_fake()
                return
            # Start at the end of the log: old traffic is not this chat's.
            self.since = int(data["next"])
        except (aiohttp.ClientConnectionError, TimeoutError):
            return  # perhaps the server is down: ask again before the next message
        except (aiohttp.ClientError, ValueError, KeyError, TypeError):
            self.no_fake()
            return
        self.fake = True

    async def server_answered(self) -> None:
        """The server is up, so an API base that still has not answered is not the fake."""
        if self.fake is None:
            await self.probe()
            if self.fake is None:
                self.no_fake()

    async def interact(self, kind: str) -> None:
        """Tell the fake the member acted, so it opens the 48-hour customer-service window."""
        await self.probe()
        if not self.fake:
            return
        try:
            async with self.session.post(
                f"{self.api_base}/_fake/interact",
                json={"openid": self.players.openid, "kind": kind},
            ) as resp:
                ok = resp.status < 300
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if not ok:
            self.no_fake()

    def expect(self) -> None:
        """The server answered `success`: its answer, if any, comes later through the API."""
        self.pending += 1

    async def poll(self) -> None:
        if not self.fake:
            return
        async with self.poll_lock:
            try:
                data = await self._read_log(self.since)
                if data is None:
                    return
                calls, after = list(data["calls"]), int(data["next"])
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError):
                return  # a missed round is caught up by the next one
            for call in calls:
                if isinstance(call, dict) and int(call.get("seq", 0)) > self.since:
                    self.show(call)
            # A log that ends before our mark was reset (`/_fake/reset` restarts seq at 1): read
            # it again from its start, all of which is newer than this chat.
            self.since = after if after >= self.since else 0

    def show(self, call: dict[str, Any]) -> None:
        if call.get("errcode") != 0:
            return  # WeChat refused it (45015 and the like): the member never sees it
        path = str(call.get("path") or "")
        kind = next((k for suffix, k in LATE_PATHS if path.endswith(suffix)), None)
        body = call.get("body")
        if isinstance(body, str):
            with contextlib.suppress(ValueError):
                body = json.loads(body)
        names = self.players.names
        if kind is None or not isinstance(body, dict) or body.get("touser") not in names:
            return
        touser = body["touser"]
        # Replies to a user played earlier in this session still show, with their name.
        other = f"党建助手（稍后，给 {names[touser]}）> "
        label = BOT_LATER if touser == self.players.openid else other
        self.screen.say(label + describe_call(kind, body))
        self.pending = max(0, self.pending - 1)
        if not self.pending:
            self.settled.set()

    async def poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.options.poll_seconds)
            await self.poll()

    async def wait(self) -> None:
        """After a script: wait until every `success` got its late reply, or the time is up."""
        if self.fake and self.pending:
            self.settled.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.settled.wait(), self.options.wait_seconds)
        await self.poll()
