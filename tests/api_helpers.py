"""Signing people in to the REST API the way the mini-program does: wx.login's code, then login."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp.test_utils import TestClient

from server.channels import Channel
from server.models.people import Member, WeChatIdentity
from server.typedefs import SETTINGS
from server.wechat.fake_state import FakeWeChat

_codes = itertools.count(1)


def openid_of(member: Member) -> str:
    return f"o-mp-{member.id:06d}-{member.phone[-4:]}"


async def login(client: TestClient, fake: FakeWeChat, openid: str) -> dict[str, Any]:
    """wx.login() on the phone, then POST /api/v1/auth/login with the code."""
    code = f"code-{next(_codes)}-{openid}"
    fake.add_code(code, openid)
    resp = await client.post("/api/v1/auth/login", json={"code": code})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def signed_in(client: TestClient, fake: FakeWeChat, member: Member) -> dict[str, str]:
    """Headers for `member`, bound in the mini-program (as if they had bound in its chat)."""
    appid = client.app[SETTINGS].mp_appid
    openid = openid_of(member)
    await WeChatIdentity.get_or_create(
        appid=appid,
        openid=openid,
        defaults={"member": member, "channel": Channel.MINIPROGRAM},
    )
    answer = await login(client, fake, openid)
    assert answer["member"] is not None and answer["member"]["id"] == member.id
    return {"Authorization": f"Bearer {answer['token']}"}


async def signed_in_unbound(client: TestClient, fake: FakeWeChat, openid: str) -> dict[str, str]:
    """Headers for a mini-program user who never binds: a resident, an outside unit's member."""
    answer = await login(client, fake, openid)
    assert answer["member"] is None
    return {"Authorization": f"Bearer {answer['token']}"}
