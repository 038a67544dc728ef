"""The fake WeChat's template lists, shaped as WeChat's documentation shows them: what the
official account's 模板消息 and the mini-program's 订阅消息 hold, each field as {{key.DATA}}."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.wechat.fake import FakeWeChat, create_fake_app

APPID, SECRET = "wxfaketest0000001", "fake-secret"
OA_LIST = "/cgi-bin/template/get_all_private_template"
MP_LIST = "/wxaapi/newtmpl/gettemplate"


@pytest.fixture
def fake() -> FakeWeChat:
    return FakeWeChat(appid_secrets={APPID: SECRET})


@pytest.fixture
async def http(aiohttp_client: Callable[..., Any], fake: FakeWeChat) -> TestClient:
    return await aiohttp_client(create_fake_app(fake))


async def token(http: TestClient) -> str:
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    async with http.post("/cgi-bin/stable_token", json=body) as resp:
        return str((await resp.json())["access_token"])


async def listed(http: TestClient, path: str, **params: str) -> dict[str, Any]:
    async with http.get(path, params=params) as resp:
        assert resp.status == 200
        return dict(await resp.json())


def keys(content: str) -> list[str]:
    return re.findall(r"\{\{(\w+)\.DATA\}\}", content)


async def test_both_lists_hold_the_registered_templates_and_their_fields(
    http: TestClient, fake: FakeWeChat
) -> None:
    fake.add_template("TPL-MEETING", ["thing1", "time2", "thing3"])
    fake.add_template("TPL-BARE")  # registered without fields: none to list
    access = await token(http)

    oa = await listed(http, OA_LIST, access_token=access)
    assert oa["errcode"] == 0
    by_id = {t["template_id"]: t for t in oa["template_list"]}
    assert set(by_id) == {"TPL-MEETING", "TPL-BARE"}
    meeting = by_id["TPL-MEETING"]
    assert set(meeting) == {
        "template_id",
        "title",
        "primary_industry",
        "deputy_industry",
        "content",
        "example",
    }
    assert keys(meeting["content"]) == ["thing1", "time2", "thing3"]
    assert keys(by_id["TPL-BARE"]["content"]) == []

    mp = await listed(http, MP_LIST, access_token=access)
    assert mp["errcode"] == 0
    subscribe = {t["priTmplId"]: t for t in mp["data"]}
    assert set(subscribe) == {"TPL-MEETING", "TPL-BARE"}
    assert subscribe["TPL-MEETING"]["type"] == 2  # one-time subscription
    assert keys(subscribe["TPL-MEETING"]["content"]) == ["thing1", "time2", "thing3"]


async def test_an_account_without_templates_lists_none(http: TestClient) -> None:
    access = await token(http)
    assert (await listed(http, OA_LIST, access_token=access))["template_list"] == []
    assert (await listed(http, MP_LIST, access_token=access))["data"] == []


@pytest.mark.parametrize("path", [OA_LIST, MP_LIST])
async def test_the_lists_need_a_valid_access_token(http: TestClient, path: str) -> None:
    assert (await listed(http, path))["errcode"] == 41001
    assert (await listed(http, path, access_token="made-up"))["errcode"] == 40001
