"""What services need of WeChat to tell a member something, as protocols: the services send
through whatever the app factory hands them (the WeChat API client, or a fake in tests) and
import no client themselves.

`tell` sends a customer-service message to a bound identity — for outcomes the member is
waiting for (a 心得 reviewed, a leave decided).  It reaches them only inside WeChat's 48-hour
window; when it cannot, the caller records that, and the member sees the outcome the next time
they look (我的心得).  Meeting notices go through the outbox (`outbox.py`), which `WakeOutbox`
asks to look now rather than at its next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from server.channels import Channel
from server.errors import WeChatAPIError
from server.models.people import WeChatIdentity, mask_openid

log = logging.getLogger("dangjian.messaging")


class ChannelClient(Protocol):
    """The calls of one WeChat channel (公众号 or 小程序) that deliver to a member."""

    async def send_custom_text(self, openid: str, content: str) -> dict[str, Any]: ...

    async def send_subscribe(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        page: str | None = None,
        miniprogram_state: str = "formal",
    ) -> dict[str, Any]: ...

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        url: str | None = None,
        miniprogram: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...


Clients = Mapping[Channel, ChannelClient]
# Look at the outbox now: a meeting was just scheduled or changed, its notices are due.
WakeOutbox = Callable[[], None]


def no_wake() -> None:
    """For a caller with no sender in its process (the CLI): the next tick sends."""


async def tell(member_id: int, text: str, clients: Clients) -> bool:
    """True once one of the member's identities accepted the message."""
    return await tell_identities(await WeChatIdentity.filter(member_id=member_id), text, clients)


async def tell_identities(identities: list[WeChatIdentity], text: str, clients: Clients) -> bool:
    """Like `tell`, to identities already read (unbinding deletes them before the message)."""
    # The official account first: that is where members chat with the bot.
    for identity in sorted(identities, key=lambda i: i.channel != Channel.OFFICIAL_ACCOUNT):
        client = clients.get(identity.channel)
        if client is None:
            continue
        try:
            await client.send_custom_text(identity.openid, text)
        except WeChatAPIError as exc:
            log.info("could not tell %s: %s", mask_openid(identity.openid), exc.errcode)
            continue
        return True
    return False
