"""Nothing the product shows anyone is enough to bind as someone else (issue 11, 1 and 2).

A roster reader sees 170********; leaders bind only with a secretary's one-time code or WeChat's
phone verification; name and digits are for plain 党员 where the committee allows it, and
guessing them runs out per member and overall, however many WeChat accounts take turns.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.channels import Channel
from server.cli import main
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.models.people import Role, WeChatIdentity, mask_phone
from server.settings import load_settings
from server.typedefs import SETTINGS
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import login, signed_in
from tests.conftest import make_branch, make_member, migrated
from tests.wechat_peer import WeChatPeer, openid_for

BIND = "/api/v1/auth/bind"
START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def peer(settings: Any, aes_key: str, clock: FrozenClock) -> WeChatPeer:
    return WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )


async def _code_from_secretary(
    client: TestClient, peer: WeChatPeer, for_whom: str, phone: str = "13700000001"
) -> str:
    """The branch secretary, bound, asks the bot for a member's code in chat."""
    secretary = await make_member("书记甲", phone, role=Role.SECRETARY)
    await WeChatIdentity.create(
        appid=peer.appid,
        openid=openid_for("secretary"),
        channel=Channel.OFFICIAL_ACCOUNT,
        member=secretary,
    )
    reply = (await peer.say(client, openid_for("secretary"), f"绑定码 {for_whom}")).text or ""
    found = re.search(r"绑定 ([2-9A-Z]{4}-[2-9A-Z]{4})", reply)
    assert found, reply
    return found.group(1)


# --- what a roster reader sees is not enough --------------------------------------------------


async def test_a_committee_member_reads_the_roster_and_cannot_bind_as_the_deputy_secretary(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str], peer: WeChatPeer
) -> None:
    reader = await make_member("委员乙", "13600000002", role=Role.COMMITTEE_MEMBER)
    deputy = await make_member("副书记丙", "17012348969", role=Role.DEPUTY_SECRETARY)
    resp = await client.get(
        "/api/v1/members", headers=await signed_in(client, fake_wechat[0], reader)
    )
    assert resp.status == 200, await resp.text()
    shown = next(i for i in (await resp.json())["items"] if i["id"] == deputy.id)
    assert shown["phone"] == "170********"  # the prefix only: no digit of the old secret

    # Even knowing the real last four, from anywhere, name and digits never bind a leader.
    reply = await peer.say(client, openid_for("committee-member"), "绑定 副书记丙 8969")
    assert "没有找到" in (reply.text or "")
    assert not await WeChatIdentity.exists(member_id=deputy.id)


@pytest.mark.parametrize(
    "role",
    [
        Role.GROUP_LEADER,
        Role.COMMITTEE_MEMBER,
        Role.DEPUTY_SECRETARY,
        Role.SECRETARY,
        Role.GENERAL_SECRETARY,
        Role.STAFF,
        Role.ADMIN,
    ],
)
async def test_leadership_is_refused_on_name_and_digits_in_chat_and_api(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str], peer: WeChatPeer, role: Role
) -> None:
    await make_member("负责人", "13912345678", role=role)
    chat = await peer.say(client, openid_for("someone"), "绑定 负责人 5678")
    assert "没有找到" in (chat.text or "") and "绑定码" in (chat.text or "")
    token = (await login(client, fake_wechat[0], "o-someone"))["token"]
    api = await client.post(BIND, headers=bearer(token), json={"name": "负责人", "phone": "5678"})
    assert api.status == 400
    assert await WeChatIdentity.all().count() == 0


async def test_the_member_sees_their_own_number_others_see_the_prefix(
    client: TestClient, peer: WeChatPeer
) -> None:
    await make_member("王芳", "13912345678")
    reply = await peer.say(client, openid_for("wang"), "绑定 王芳 5678")
    assert "139****5678" in (reply.text or "")  # their own, as before
    assert mask_phone("13912345678") == "139********"


# --- one-time bind codes ------------------------------------------------------------------------


async def test_a_secretary_issues_a_code_in_chat_and_it_binds_once(
    client: TestClient, peer: WeChatPeer
) -> None:
    leader = await make_member("组长丁", "13800000004", role=Role.GROUP_LEADER)
    code = await _code_from_secretary(client, peer, "组长丁")

    done = await peer.say(client, openid_for("leader"), f"绑定 {code.lower()}")
    assert "绑定成功" in (done.text or ""), done.text
    assert (await WeChatIdentity.get(openid=openid_for("leader"))).member_id == leader.id  # type: ignore[attr-defined]

    again = await peer.say(client, openid_for("someone-who-saw-it"), f"绑定 {code}")
    assert "绑定码无效、已使用或已过期" in (again.text or "")
    assert await WeChatIdentity.filter(member_id=leader.id).count() == 1


async def test_an_expired_code_fails(
    client: TestClient, peer: WeChatPeer, clock: FrozenClock
) -> None:
    await make_member("组长丁", "13800000004", role=Role.GROUP_LEADER)
    code = await _code_from_secretary(client, peer, "组长丁")
    clock.advance(86400 + 1)
    reply = await peer.say(client, openid_for("leader"), f"绑定 {code}")
    assert "已过期" in (reply.text or "")
    assert not await WeChatIdentity.exists(openid=openid_for("leader"))


async def test_a_new_code_retires_the_old_one(client: TestClient, peer: WeChatPeer) -> None:
    await make_member("组长丁", "13800000004", role=Role.GROUP_LEADER)
    first = await _code_from_secretary(client, peer, "组长丁")
    second_reply = await peer.say(client, openid_for("secretary"), "绑定码 组长丁")
    second = re.search(r"绑定 ([2-9A-Z-]{9})", second_reply.text or "")
    assert second and second.group(1) != first
    assert "无效" in ((await peer.say(client, openid_for("leader"), f"绑定 {first}")).text or "")
    assert "绑定成功" in (
        (await peer.say(client, openid_for("leader"), f"绑定 {second.group(1)}")).text or ""
    )


async def test_only_leaders_issue_codes_and_only_within_their_scope(
    client: TestClient, peer: WeChatPeer
) -> None:
    elsewhere = await make_branch("示范街道党工委/西社区党总支/西社区第一党支部")
    await make_member("外支部戊", "13800000005", org=elsewhere)
    plain = await make_member("党员己", "13800000006")
    await WeChatIdentity.create(
        appid=peer.appid, openid=openid_for("plain"), channel=Channel.OFFICIAL_ACCOUNT, member=plain
    )
    refused = await peer.say(client, openid_for("plain"), "绑定码 外支部戊")
    assert not re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}", refused.text or "")

    secretary = await make_member("书记甲", "13700000001", role=Role.SECRETARY)
    await WeChatIdentity.create(
        appid=peer.appid,
        openid=openid_for("sec"),
        channel=Channel.OFFICIAL_ACCOUNT,
        member=secretary,
    )
    other = await peer.say(client, openid_for("sec"), "绑定码 外支部戊")
    assert "本组织" in (other.text or "")
    assert not re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}", other.text or "")


async def test_wrong_codes_are_limited_per_wechat_user(
    aiohttp_client: Any, make_settings: Any
) -> None:
    clock = FrozenClock(START)
    settings = make_settings(bind_max_failures=3)
    client = await aiohttp_client(create_app(settings, clock=clock))
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    await make_member("组长丁", "13800000004", role=Role.GROUP_LEADER)
    code = await _code_from_secretary(client, peer, "组长丁")
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):
        assert "无效" in (
            (await peer.say(client, openid_for("guesser"), f"绑定 {guess}")).text or ""
        )
    blocked = await peer.say(client, openid_for("guesser"), f"绑定 {code}")
    assert "次数过多" in (blocked.text or "")


async def test_wrong_codes_from_many_accounts_hit_the_global_limit(
    aiohttp_client: Any, make_settings: Any
) -> None:
    clock = FrozenClock(START)
    settings = make_settings(bind_global_max_failures=10)
    client = await aiohttp_client(create_app(settings, clock=clock))
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    for n in range(10):
        await peer.say(client, openid_for(f"throwaway-{n}"), "绑定 AAAA-AAA" + "BCDEFGHJKM"[n])
    paused = await peer.say(client, openid_for("fresh-account"), "绑定 ZZZZ-ZZZZ")
    assert "暂停" in (paused.text or "")
    clock.advance(3601)
    assert "无效" in (
        (await peer.say(client, openid_for("fresh-account"), "绑定 ZZZZ-ZZZZ")).text or ""
    )


def test_the_command_line_prints_the_code_alone_on_its_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    async def seed() -> None:
        await open_database(migrated(tmp_path / "dangjian.sqlite3"))
        await make_member("组长丁", "13800000004", role=Role.GROUP_LEADER)
        await close_database()

    asyncio.run(seed())
    assert main(["bind-code", "13800000004"]) == 0
    code = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}", code), code

    assert main(["bind-code", "13999999999"]) == 2
    assert "phone" in capsys.readouterr().err


async def test_the_code_printed_by_the_command_line_binds_in_the_server(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    aiohttp_client: Any,
) -> None:
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    def seed() -> None:
        async def run() -> None:
            await open_database(migrated(tmp_path / "dangjian.sqlite3"))
            await make_member("书记甲", "13700000001", role=Role.SECRETARY)
            await close_database()

        asyncio.run(run())

    await asyncio.to_thread(seed)
    assert await asyncio.to_thread(main, ["bind-code", "13700000001"]) == 0
    code = capsys.readouterr().out.splitlines()[-1]
    settings = load_settings()
    client = await aiohttp_client(create_app(settings))
    peer = WeChatPeer(token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid)
    assert "绑定成功" in ((await peer.say(client, openid_for("sec"), f"绑定 {code}")).text or "")
    assert "无效" in ((await peer.say(client, openid_for("thief"), f"绑定 {code}")).text or "")


async def test_the_api_binds_with_a_code(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str], peer: WeChatPeer
) -> None:
    leader = await make_member("组长丁", "13800000004", role=Role.GROUP_LEADER)
    code = await _code_from_secretary(client, peer, "组长丁")
    token = (await login(client, fake_wechat[0], "o-leader"))["token"]
    resp = await client.post(BIND, headers=bearer(token), json={"code": code})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["member"]["id"] == leader.id
    other = (await login(client, fake_wechat[0], "o-other"))["token"]
    again = await client.post(BIND, headers=bearer(other), json={"code": code})
    assert again.status == 400


# --- phone verification -------------------------------------------------------------------------


async def test_phone_verification_through_wechat_binds_the_right_member(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    await make_member("组员庚", "13800000007")
    deputy = await make_member("副书记丙", "17012348969", role=Role.DEPUTY_SECRETARY)
    token = (await login(client, fake, "o-deputy"))["token"]
    fake.add_phone_code("phone-code-1", "17012348969")

    resp = await client.post(BIND, headers=bearer(token), json={"phone_code": "phone-code-1"})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["member"]["id"] == deputy.id
    assert len(fake.calls_to("/wxa/business/getuserphonenumber")) == 1

    # The same code again (WeChat: single-use), and one WeChat never issued.
    other = (await login(client, fake, "o-other"))["token"]
    for code in ("phone-code-1", "made-up"):
        refused = await client.post(BIND, headers=bearer(other), json={"phone_code": code})
        assert refused.status == 400
        assert (await refused.json())["field"] == "phone_code"


async def test_a_verified_phone_not_on_the_roster_or_bound_elsewhere_binds_nobody(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    member = await make_member("组员庚", "13800000007")
    await WeChatIdentity.create(
        appid=client.app[SETTINGS].mp_appid,
        openid="o-earlier",
        channel=Channel.MINIPROGRAM,
        member=member,
    )
    token = (await login(client, fake, "o-stranger"))["token"]
    fake.add_phone_code("pc-stranger", "13999999999")
    fake.add_phone_code("pc-taken", "13800000007")
    stranger = await client.post(BIND, headers=bearer(token), json={"phone_code": "pc-stranger"})
    taken = await client.post(BIND, headers=bearer(token), json={"phone_code": "pc-taken"})
    assert stranger.status == taken.status == 400
    # Bound elsewhere reads exactly like not on the roster.
    assert (await stranger.json())["error"] == (await taken.json())["error"]
    assert await WeChatIdentity.filter(openid="o-stranger").count() == 0


def test_the_fake_expires_phone_codes_after_five_minutes() -> None:
    fake = FakeWeChat(clock=FrozenClock(START))
    fake.add_phone_code("c", "13800000007")
    fake.clock.advance(301)  # type: ignore[attr-defined]
    assert fake.handle_phone_number({}, {"code": "c"})["errcode"] == 40029
    fake.add_phone_code("d", "13800000007")
    answer = fake.handle_phone_number({}, {"code": "d"})
    assert answer["phone_info"]["purePhoneNumber"] == "13800000007"
    assert fake.handle_phone_number({}, {"code": "d"})["errcode"] == 40029
    assert fake.handle_phone_number({}, {})["errcode"] == 41008


# --- guessing from many accounts ----------------------------------------------------------------


async def test_thirteen_rotating_accounts_cannot_guess_past_the_per_member_limit(
    client: TestClient, peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    target = await make_member("组员庚", "13800006351")
    secretary = await make_member("书记甲", "13700000001", role=Role.SECRETARY)
    await WeChatIdentity.create(
        appid=peer.appid,
        openid=openid_for("sec"),
        channel=Channel.OFFICIAL_ACCOUNT,
        member=secretary,
    )
    fake.interact(openid_for("sec"))  # the secretary chatted lately: the window is open

    guesses = [f"{n:04d}" for n in range(63)]
    for n, digits in enumerate(guesses):
        account = openid_for(f"throwaway-{n % 13}")
        await peer.say(client, account, f"绑定 组员庚 {digits}")
    # The right digits, from a fresh account, no longer bind: the member is locked ...
    right = await peer.say(client, openid_for("throwaway-fresh"), "绑定 组员庚 6351")
    assert "没有找到" in (right.text or "")
    assert not await WeChatIdentity.exists(member_id=target.id)
    # ... and the secretary heard of it, once, with the remedy.
    await asyncio.sleep(0)
    told = [m for m in fake.messages_to(openid_for("sec")) if "组员庚" in str(m.body)]
    assert len(told) == 1 and "绑定码" in str(told[0].body)

    # The secretary's code still works: the lock is on guessing, not on the member.
    reply = (await peer.say(client, openid_for("sec"), "绑定码 组员庚")).text or ""
    code = re.search(r"绑定 ([2-9A-Z]{4}-[2-9A-Z]{4})", reply)
    assert code, reply
    done = await peer.say(client, openid_for("target"), f"绑定 {code.group(1)}")
    assert "绑定成功" in (done.text or "")


async def test_name_binding_can_be_switched_off(aiohttp_client: Any, make_settings: Any) -> None:
    settings = make_settings(bind_by_name=False)
    client = await aiohttp_client(create_app(settings))
    peer = WeChatPeer(token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid)
    await make_member("王芳", "13912345678")
    reply = await peer.say(client, openid_for("wang"), "绑定 王芳 5678")
    assert "绑定码" in (reply.text or "") and "绑定成功" not in (reply.text or "")


def test_name_binding_is_off_by_default_in_production(make_settings: Any) -> None:
    assert make_settings().name_binding is True  # development and tests
    production = make_settings(env="production")
    assert production.name_binding is False
    assert make_settings(env="production", bind_by_name=True).name_binding is True


async def test_a_committee_member_cannot_search_the_roster_by_the_last_four_digits(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    reader = await make_member("委员乙", "13600000002", role=Role.COMMITTEE_MEMBER)
    await make_member("副书记丙", "17012348969", role=Role.DEPUTY_SECRETARY)
    headers = await signed_in(client, fake_wechat[0], reader)
    found = await client.get("/api/v1/members", params={"q": "8969"}, headers=headers)
    assert found.status == 200
    assert (await found.json())["items"] == []  # no oracle for the digits
