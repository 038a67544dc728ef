"""One person, one identity across the 公众号 and the 小程序, when WeChat says so.

WeChat gives the same `unionid` to one user in every app of one open-platform account.  A user
who arrives unbound in one app with a unionid already bound in the other is that member: the
new app's identity is created for them, and recorded.  Only an exact unionid match counts —
never a name, a phone or a different unionid — and never onto a member who already has an
identity in this app (an unbind there is not undone behind the secretary's back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.channels import Channel
from server.models.people import (
    Member,
    MemberChange,
    MemberChangeKind,
    MemberStatus,
    WeChatIdentity,
    mask_openid,
)
from server.services.people.identities import IdentityDirectory

log = logging.getLogger("dangjian.binding")

UNIONLESS_TTL = 24 * 3600  # a follower WeChat gave no unionid is not asked again for a day
LOOKUP_TIMEOUT = 1.5  # of the reply's 5 s: a slow lookup answers as unbound, never late


class _Followers(Protocol):
    async def follower_unionid(self, openid: str) -> str | None: ...


async def follower_unionid(client: _Followers, cache: Any, appid: str, openid: str) -> str | None:
    """The unionid of an unbound 公众号 follower, from user/info (messages do not carry it).

    Asked once a day at most per follower who has none, and never for longer than
    LOOKUP_TIMEOUT; any failure answers None (the member can still bind the usual ways).
    """
    key = f"unionless:{appid}:{openid}"
    if await cache.get(key) is not None:
        return None
    try:
        unionid = await asyncio.wait_for(client.follower_unionid(openid), LOOKUP_TIMEOUT)
    except Exception as exc:  # a lookup is a convenience: the message is answered regardless
        log.warning("user/info lookup failed: %s", type(exc).__name__)
        return None
    if unionid is None:
        await cache.set(key, "1", ttl=UNIONLESS_TTL)
    return unionid


_LABELS = {Channel.OFFICIAL_ACCOUNT: "公众号", Channel.MINIPROGRAM: "小程序"}


async def link_by_unionid(
    appid: str,
    openid: str,
    unionid: str | None,
    channel: Channel,
    identities: IdentityDirectory,
) -> Member | None:
    """The member this unbound user turns out to be, now bound here too; None if none."""
    if not unionid:
        return None
    other = (
        await WeChatIdentity.filter(unionid=unionid)
        .exclude(appid=appid)
        .prefetch_related("member")
        .first()
    )
    if other is None or other.member.status != MemberStatus.ACTIVE:
        return None
    member = other.member
    if await WeChatIdentity.exists(appid=appid, member_id=member.id):
        return None
    try:
        async with in_transaction():
            await WeChatIdentity.create(
                appid=appid, openid=openid, unionid=unionid, channel=channel, member=member
            )
            await MemberChange.create(
                member=member,
                kind=MemberChangeKind.LINK,
                before=_LABELS.get(Channel(other.channel), str(other.channel)),
                after=_LABELS.get(channel, str(channel)),
                reason="同一微信用户（unionid 相同）已在另一应用绑定",
            )
    except IntegrityError:
        # Bound a moment ago by another request (or this openid is someone's already).
        return None
    await identities.forget(appid, openid)
    log.info(
        "identity linked by unionid",
        extra={"member_id": member.id, "openid": mask_openid(openid)},
    )
    return member


async def identify(
    appid: str,
    openid: str,
    channel: Channel,
    unionid: str | None,
    identities: IdentityDirectory,
    ask_unionid: Callable[[], Awaitable[str | None]],
) -> tuple[WeChatIdentity | None, Member | None]:
    """Who is writing, and the member they are served as.

    The identity bound in this app; else, when WeChat names the person's unionid (in the message,
    or asked of it by `ask_unionid` — a 公众号 follower's message carries none), the identity
    bound in the other app, linked here.  The member is None for someone not bound, and for one
    transferred out of the street: no longer served as one of its members.
    """
    identity = await identities.find(appid, openid)
    if identity is None and not unionid:
        unionid = await ask_unionid()
    if identity is None and unionid:
        # Bound in the other app by the same WeChat user: bound here too.
        if await link_by_unionid(appid, openid, unionid, channel, identities):
            identity = await identities.find(appid, openid)
    member = identity.member if identity is not None else None
    if member is not None and member.status != MemberStatus.ACTIVE:
        member = None
    return identity, member
