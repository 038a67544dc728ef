"""问: a member asks in their own words and gets the study corpus's answer, with its source."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from tests.fake_llm import FakeLLMBehaviour, create_fake_llm
from tests.test_checkin_chat import WANG, bound_member
from tests.wechat_peer import WeChatPeer, openid_for


async def test_asking_about_dues_quotes_the_dues_unit_with_its_source(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    reply = (await peer.say(client, WANG, "问 党费怎么交")).text or ""
    # How, first: the unit's own answer; then the passage it comes from, and its source.
    assert reply.startswith(
        "关于「党费怎么交」：党员应当按月主动交纳党费，不能等人催。\n学习资料原文：\n"
    )
    assert "——摘自《按期交纳党费》" in reply and "（出处：《中国共产党章程》" in reply
    assert "按月主动交纳党费" in reply.split("\n")[2]  # the quoted passage itself
    assert len(reply.encode()) < 2048  # a passive reply's limit


async def test_a_member_can_just_type_the_question(client: TestClient, peer: WeChatPeer) -> None:
    await bound_member()
    reply = (await peer.say(client, WANG, "三会一课是哪三会？")).text or ""
    assert "三会一课" in reply and "——摘自《" in reply


async def test_a_question_beginning_with_wen_ti_keeps_its_words(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    reply = (await peer.say(client, WANG, "问题：预备党员的预备期是多长时间")).text or ""
    assert "预备期" in reply and "——摘自《" in reply


async def test_something_the_corpus_does_not_cover_is_not_made_up(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    reply = (await peer.say(client, WANG, "问 明天天气怎么样")).text or ""
    assert "没有找到能回答「明天天气怎么样」的内容" in reply and "不凭空作答" in reply
    assert "党章" in reply and "党史" in reply  # topics to ask about instead
    assert "——摘自" not in reply


async def test_hostile_text_gets_the_same_honest_answer(
    client: TestClient, peer: WeChatPeer
) -> None:
    await bound_member()
    for text in ("'; DROP TABLE member; --", "<script>alert(1)</script>", "😀😀😀", "问 "):
        reply = (await peer.say(client, WANG, text)).text or ""
        assert reply and "——摘自" not in reply, text


async def test_someone_not_yet_bound_may_ask_but_is_asked_to_bind_for_the_rest(
    client: TestClient, peer: WeChatPeer
) -> None:
    stranger = openid_for("stranger")
    reply = (await peer.say(client, stranger, "问 入党誓词是什么")).text or ""
    assert "——摘自《" in reply
    reply = (await peer.say(client, stranger, "入党誓词是什么")).text or ""
    assert "还没有绑定" in reply


async def with_model(
    aiohttp_client: Any, aiohttp_server: Any, make_settings: Any, behaviour: FakeLLMBehaviour
) -> tuple[TestClient, WeChatPeer]:
    model = await aiohttp_server(create_fake_llm(behaviour))
    settings = make_settings(
        llm_url=str(model.make_url("/v1")),
        llm_key="sk-test",
        llm_model="test-model",
        llm_timeout=0.5,
    )
    client = await aiohttp_client(create_app(settings))
    return client, WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid
    )


async def test_with_a_model_configured_the_answer_is_phrased_from_the_passages(
    aiohttp_client: Any, aiohttp_server: Any, make_settings: Any
) -> None:
    behaviour = FakeLLMBehaviour(api_key="sk-test")
    client, peer = await with_model(aiohttp_client, aiohttp_server, make_settings, behaviour)
    await bound_member()
    reply = (await peer.say(client, WANG, "问 党费怎么交")).text or ""
    assert "[1]" in reply and "——出处：[1]《" in reply
    sent = behaviour.requests[-1].body
    assert sent["model"] == "test-model"
    assert "问题：党费怎么交" in sent["messages"][1]["content"]
    assert "[1]《" in sent["messages"][1]["content"]  # the retrieved passages went with it


async def test_a_model_that_fails_leaves_the_member_with_the_quoted_passage(
    aiohttp_client: Any, aiohttp_server: Any, make_settings: Any
) -> None:
    behaviour = FakeLLMBehaviour(api_key="sk-test", status=500)
    client, peer = await with_model(aiohttp_client, aiohttp_server, make_settings, behaviour)
    await bound_member()
    reply = (await peer.say(client, WANG, "问 党费怎么交")).text or ""
    assert "——摘自《" in reply and "学习资料原文" in reply
    assert len(behaviour.requests) == 1


async def test_a_slow_model_is_not_waited_for(
    aiohttp_client: Any, aiohttp_server: Any, make_settings: Any
) -> None:
    behaviour = FakeLLMBehaviour(api_key="sk-test", delay=3.0)
    client, peer = await with_model(aiohttp_client, aiohttp_server, make_settings, behaviour)
    await bound_member()
    reply = (await peer.say(client, WANG, "问 党费怎么交")).text or ""
    assert "——摘自《" in reply  # the passage, within WeChat's 5 seconds


async def test_the_model_is_not_asked_when_nothing_matched(
    aiohttp_client: Any, aiohttp_server: Any, make_settings: Any
) -> None:
    behaviour = FakeLLMBehaviour(api_key="sk-test")
    client, peer = await with_model(aiohttp_client, aiohttp_server, make_settings, behaviour)
    await bound_member()
    reply = (await peer.say(client, WANG, "问 股票怎么买")).text or ""
    assert "不凭空作答" in reply and behaviour.requests == []
