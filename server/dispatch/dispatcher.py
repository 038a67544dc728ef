"""Feeds one inbound message through the routers and turns errors into polite replies.

This is the one place the chat layer translates the error hierarchy: a `DangjianError`
becomes its `user_message`, followed by the hint a router gave for its code (`Router.hint`:
how to send the command again); anything else is logged with its stack and the member gets an
apology instead of silence (WeChat would otherwise show "该公众号暂时无法提供服务").
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from server.cache import Cache
from server.channels import Channel
from server.dispatch.context import ChatContext
from server.dispatch.router import Router
from server.dispatch.state import Conversation
from server.errors import DangjianError, ValidationFailed
from server.inputs import NUL
from server.services.people.identities import IdentityDirectory
from server.services.people.union_link import follower_unionid, identify
from server.wechat.messages import InboundMessage
from server.wechat.replies import MAX_TEXT_BYTES, fit

NUL_IN_CHAT = "抱歉，这条消息里有无法识别的空字符，请删去后重新发送。"
log = logging.getLogger("dangjian.chat")

APOLOGY = "抱歉，系统刚才出了点问题，请稍后再试。如果一直这样，请联系支部书记。"


class Dispatcher:
    def __init__(
        self,
        root: Router,
        *,
        cache: Cache,
        identities: IdentityDirectory,
        conversation_ttl: float,
        deps: dict[str, Any],
    ) -> None:
        self.root = root
        self.cache = cache
        self.identities = identities
        self.conversation_ttl = conversation_ttl
        self.deps = {**deps, "help_entries": root.all_help()}
        self.hints = root.all_hints()

    async def feed(
        self,
        message: InboundMessage,
        appid: str,
        extra: dict[str, Any] | None = None,
        conversation_raw: str | Literal[False] | None = False,
    ) -> str | None:
        try:
            ctx = await self._context(message, appid, extra, conversation_raw)
        except Exception:
            # The database or the cache is failing: an apology beats WeChat's error screen.
            log.exception("could not load the sender", extra={"msg_type": message.msg_type})
            return APOLOGY
        try:
            # PostgreSQL cannot take a NUL; a JSON push or the chat CLI can carry one.
            if NUL in (message.text or ""):
                raise ValidationFailed(NUL_IN_CHAT, field="text")
            resolved = await self.root.resolve(ctx)
            if resolved is None:
                return None
            handler, found = resolved
            reply = await handler.call(ctx, found)
            if reply is not None and len(reply.encode()) > MAX_TEXT_BYTES:
                # Handlers build their replies to fit; this is the net under them.
                log.warning(
                    "reply over %d bytes cut",
                    MAX_TEXT_BYTES,
                    extra={"handler": handler.func.__qualname__},
                )
                reply = type(reply)(fit(reply))  # a PrivateReply stays one
            return reply
        except DangjianError as exc:
            hint = self.hints.get(exc.code)
            return f"{exc.user_message}{hint}" if hint else exc.user_message
        except Exception:
            log.exception("handler failed", extra={"msg_type": message.msg_type})
            return APOLOGY
        finally:
            try:
                await ctx.conversation.save()
            except Exception:
                log.exception("could not save the conversation state")

    async def _follower_unionid(self, appid: str, message: InboundMessage) -> str | None:
        """The 公众号 asks WeChat (user/info) when the deployment says it gives unionids."""
        settings = self.deps.get("settings")
        clients = self.deps.get("wechat_clients") or {}
        client = clients.get(message.channel)
        if (
            message.channel != Channel.OFFICIAL_ACCOUNT
            or client is None
            or not getattr(settings, "wechat_unionid", False)
        ):
            return None
        return await follower_unionid(client, self.cache, appid, message.from_user)

    async def _context(
        self,
        message: InboundMessage,
        appid: str,
        extra: dict[str, Any] | None,
        conversation_raw: str | Literal[False] | None,
    ) -> ChatContext:
        given = message.raw.get("UnionId")
        identity, member = await identify(
            appid,
            message.from_user,
            message.channel,
            given if isinstance(given, str) else None,
            self.identities,
            ask_unionid=lambda: self._follower_unionid(appid, message),
        )
        conversation = await Conversation.load(
            self.cache, appid, message.from_user, self.conversation_ttl, conversation_raw
        )
        return ChatContext(
            message=message,
            appid=appid,
            member=member,
            identity=identity,
            conversation=conversation,
            deps={**self.deps, **(extra or {})},
        )
