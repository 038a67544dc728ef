"""算党费: a member works out their monthly dues in chat, and the income they give is not kept."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.logs import JsonFormatter
from server.settings import Settings
from server.typedefs import CACHE
from tests.test_checkin_chat import WANG, bound_member, frozen_app
from tests.wechat_peer import WeChatPeer, openid_for


async def say(client: TestClient, peer: WeChatPeer, text: str, who: str = WANG) -> str:
    return (await peer.say(client, who, text)).text or ""


async def test_asking_what_i_should_pay_walks_through_situation_and_income(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    asked = await say(client, peer, "问 我该交多少党费")
    assert "请回复数字选择您的情况" in asked
    assert "1 在职" in asked and "2 离退休" in asked and "6 领取低保" in asked
    income = await say(client, peer, "1")
    assert "每月工资收入（税后）" in income and "相对固定的、经常性的部分" in income
    assert "收入只用于这次计算，不会保存" in income
    answer = await say(client, peer, "6500")
    assert "在职党员每月应交党费 97.50 元" in answer
    assert "6500.00 元 × 1.5%" in answer
    assert "5000元以上至10000元（含10000元）" in answer
    assert "《关于中国共产党党费收缴、使用和管理的规定》（2008年）" in answer
    assert "以党支部核定的数额为准" in answer
    assert "可以少交或免交" in answer
    assert "不会保存" in answer
    assert len(answer.encode()) < 2048  # a passive reply's limit
    # The flow is over: a number now is not taken for another income.
    assert "请先回复 算党费" in await say(client, peer, "6500")


async def test_a_retired_member_is_asked_for_the_pension_and_pays_by_the_retirees_rule(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await say(client, peer, "我每月交多少党费")
    asked = await say(client, peer, "退休")
    assert "离退休费总额或养老金总额" in asked
    answer = await say(client, peer, "５０００元")  # full-width, as a phone keyboard may type it
    assert "离退休党员每月应交党费 25.00 元" in answer and "0.5%" in answer


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("算党费 在职 6500", "在职党员每月应交党费 97.50 元"),
        ("算党费 退休 4800", "离退休党员每月应交党费 24.00 元"),
        ("算党费 在职 1.2万", "在职党员每月应交党费 240.00 元"),
        ("算党费 学生", "学生党员每月交纳党费 0.20 元"),
        ("党费计算 3", "农民党员每月交纳党费 0.20 元至1.00 元"),
    ],
)
async def test_all_at_once(client: TestClient, peer: WeChatPeer, typed: str, says: str) -> None:
    await bound_member()
    answer = await say(client, peer, typed)
    assert says in answer and "以党支部核定的数额为准" in answer
    assert await client.app[CACHE].get(f"conv:{peer.appid}:{WANG}") is None  # nothing left open


@pytest.mark.parametrize(
    ("choice", "amount"),
    [
        ("4", "学生党员每月交纳党费 0.20 元"),
        ("5", "下岗失业党员每月交纳党费 0.20 元"),
        ("低保", "低保或抚恤救济党员每月交纳党费 0.20 元"),
    ],
)
async def test_the_flat_situations_need_no_income(
    client: TestClient, peer: WeChatPeer, choice: str, amount: str
) -> None:
    await bound_member()
    await say(client, peer, "算党费")
    answer = await say(client, peer, choice)
    assert amount in answer and "不会保存" not in answer  # no income was asked for


async def test_the_general_questions_about_dues_still_go_to_the_study_corpus(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    for question in (
        "党费怎么交",
        "问 党费怎么交",
        "退休了党费交多少",
        "党费有什么用",
        "党员多久交一次党费",
        "我们支部党费交多少",
    ):
        reply = await say(client, peer, question)
        assert "请回复数字选择您的情况" not in reply, question
        assert "学习资料" in reply, question  # quoted from the corpus, or honestly not found


async def test_a_member_can_cancel_at_either_step(client: TestClient, peer: WeChatPeer) -> None:
    await bound_member()
    await say(client, peer, "算党费")
    assert "已取消计算党费" in await say(client, peer, "算了")
    await say(client, peer, "算党费")
    await say(client, peer, "1")
    assert "已取消" in await say(client, peer, "取消")
    assert "请先回复 算党费" in await say(client, peer, "6500")


async def test_what_is_not_an_income_is_asked_again_kindly(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await say(client, peer, "算党费")
    assert "没看懂您的选择" in await say(client, peer, "7")
    assert "没看懂您的选择" in await say(client, peer, "党费怎么交")  # a re-ask, not a quote
    await say(client, peer, "1")
    for typed, says in (
        ("六千多", "没看懂这个收入"),
        ("-5000", "收入应大于 0"),
        ("0", "收入应大于 0"),
        ("1000000000000", "合理范围"),
        ("NaN", "没看懂这个收入"),
        ("<script>alert(1)</script>", "没看懂这个收入"),
        ("😀😀😀", "没看懂这个收入"),
    ):
        reply = await say(client, peer, typed)
        assert says in reply and "每月工资收入（税后）" in reply, typed
        assert "——摘自" not in reply and "抱歉，系统" not in reply, typed
    assert "97.50 元" in await say(client, peer, "6,500")  # still waiting, and then answered


async def test_someone_not_yet_bound_may_work_out_their_dues_too(
    client: TestClient, peer: WeChatPeer
) -> None:
    stranger = openid_for("stranger")
    assert "请回复数字选择您的情况" in await say(client, peer, "我该交多少党费", stranger)
    await say(client, peer, "2", stranger)
    assert "离退休党员每月应交党费 50.00 元" in await say(client, peer, "5000.01", stranger)
    assert "算党费" in await say(client, peer, "帮助", stranger)


async def test_the_help_menu_lists_it(client: TestClient, peer: WeChatPeer) -> None:
    await bound_member()
    assert "· 算党费 —— " in await say(client, peer, "帮助")


async def test_a_command_typed_while_asked_for_income_still_works(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    await say(client, peer, "算党费 在职")
    checked_in = await say(client, peer, "打卡")
    assert "打卡" in checked_in and "没看懂" not in checked_in  # the command is answered
    assert "97.50 元" in await say(client, peer, "6500")  # and the flow still waits


def _stored(settings: Settings) -> bytes:
    path = Path(settings.db_url.removeprefix("sqlite://"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_the_income_is_kept_in_neither_the_database_the_state_nor_the_logs(
    client: TestClient, peer: WeChatPeer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await bound_member()
    caplog.set_level(logging.DEBUG)
    await say(client, peer, "算党费")
    await say(client, peer, "1")
    state = await client.app[CACHE].get(f"conv:{peer.appid}:{WANG}")
    assert json.loads(state or "") == {"name": "dues:income", "data": {"category": "在职"}}
    answer = await say(client, peer, "8765.43元")
    assert "131.48 元" in answer  # 8765.43 × 1.5% = 131.48145
    await say(client, peer, "算党费 退休 9876.54")
    await say(client, peer, "算党费 在职")
    await say(client, peer, "-8765.43")  # refused, and not kept either
    stored = _stored(settings)
    # With the decimals: counters elsewhere in the suite make ids and phones with these digits.
    assert stored and b"8765.4" not in stored and b"9876.5" not in stored
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "8765.4" not in logged and "9876.5" not in logged
    state = await client.app[CACHE].get(f"conv:{peer.appid}:{WANG}") or ""
    assert "8765" not in state


async def test_the_answer_repeating_the_income_is_cached_only_for_wechats_retries(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock = await frozen_app(
        aiohttp_client, make_settings, datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    )
    await bound_member()
    cache = client.app[CACHE]

    async def push(text: str, msg_id: int | None = None) -> tuple[str, int]:
        xml, msg_id = peer.text_xml(WANG, text, msg_id)
        body, query = peer.envelope(xml, "plain")
        return (await peer.post(client, body, query)).text or "", msg_id

    _, asked_id = await push("算党费 在职")
    answer, answer_id = await push("6500")
    assert "97.50 元" in answer
    clock.advance(10)
    again, _ = await push("6500", answer_id)  # WeChat's retry of the same push
    assert again == answer
    clock.advance(21)
    # Every reply is kept a few minutes for retries; the one repeating the income is not.
    assert await cache.get(f"dedup:{peer.appid}:msg:{answer_id}") is None
    assert await cache.get(f"dedup:{peer.appid}:msg:{asked_id}") is not None


async def test_a_number_that_is_no_income_is_not_taken_for_one(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    phone = await say(client, peer, "13900001111")  # a phone number: the corpus answers
    assert "算党费" not in phone and "学习资料" in phone
    stranger = openid_for("stranger")
    assert "还没有绑定" in await say(client, peer, "1234", stranger)  # the bind hint, as before
