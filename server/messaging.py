"""Telling a member something outside a reply: a customer-service message to a bound identity.

Used for outcomes the member is waiting for (a 心得 reviewed).  It reaches them only inside
WeChat's 48-hour window; when it cannot, the caller records that, and the member sees the
outcome the next time they look (我的心得).  Meeting notices get their own outbox.
"""

from __future__ import annotations

import logging

from server.errors import WeChatAPIError
from server.models.people import Channel, WeChatIdentity, mask_openid
from server.wechat.client import WeChatClient

log = logging.getLogger("dangjian.messaging")


async def tell(member_id: int, text: str, clients: dict[Channel, WeChatClient]) -> bool:
    """True once one of the member's identities accepted the message."""
    identities = await WeChatIdentity.filter(member_id=member_id)
    # The official account first: that is where members chat with the bot.
    for identity in sorted(identities, key=lambda i: i.channel != Channel.OFFICIAL_ACCOUNT):
        client = clients.get(identity.channel)
        if client is None:
            continue
        try:
            await client.send_custom_text(identity.openid, text)
        except WeChatAPIError as exc:
            log.info(
                "could not tell %s: %s",
                mask_openid(identity.openid),
                exc.errcode,
            )
            continue
        return True
    return False


async def tell_identities(
    identities: list[WeChatIdentity], text: str, clients: dict[Channel, WeChatClient]
) -> bool:
    """Like `tell`, to identities already read (unbinding deletes them before the message)."""
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
