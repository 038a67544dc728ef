"""LLMAnswerer against the fake chat completions API, over real HTTP, with real corpus passages."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from server.llm import MAX_REPLY_BYTES, REFUSAL, SYSTEM_PROMPT, LLMAnswerer
from study_content.corpus import SHIPPED, Unit, load_corpus
from study_content.retrieval import Passage
from tests.fake_llm import (
    FakeLLMBehaviour,
    citing_passage_9,
    create_fake_llm,
    refuse,
    without_citation,
)

KEY = "sk-test-0123456789abcdef"
MODEL = "qwen-plus"
QUESTION = "主题党日多久开展一次？党员可以自己去做志愿服务吗？"

Serve = Callable[[FakeLLMBehaviour], Awaitable[str]]
MakeAnswerer = Callable[..., LLMAnswerer]


@pytest.fixture(scope="module")
def corpus() -> dict[str, Unit]:
    return {unit.id: unit for unit in load_corpus(SHIPPED)}


def passage(unit: Unit, score: float) -> Passage:
    # The unit's first paragraph: whole sentences of the real text, as retrieval quotes them.
    return Passage(unit=unit, text=unit.body.split("\n\n")[0], score=score)


@pytest.fixture
def passages(corpus: dict[str, Unit]) -> list[Passage]:
    return [
        passage(corpus["comm-volunteer-service"], 9.1),
        passage(corpus["branch-theme-day"], 7.4),
        passage(corpus["branch-sanhui-yike"], 5.2),
    ]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def serve(aiohttp_server: Any) -> Serve:
    async def start(behaviour: FakeLLMBehaviour) -> str:
        server: TestServer = await aiohttp_server(create_fake_llm(behaviour))
        return str(server.make_url("/v1"))

    return start


@pytest.fixture
def make_answerer(session: aiohttp.ClientSession) -> MakeAnswerer:
    def make(base_url: str, *, api_key: str | None = KEY, timeout: float = 3.0) -> LLMAnswerer:
        return LLMAnswerer(
            session, base_url=base_url, api_key=api_key, model=MODEL, timeout=timeout
        )

    return make


def first_sentence(p: Passage) -> str:
    return p.text.split("。")[0] + "。"


def source_line(n: int, p: Passage) -> str:
    return f"——出处：[{n}]《{p.unit.title}》（{p.unit.source}）"


async def test_the_model_answers_only_from_the_passages_and_the_member_sees_the_sources(
    serve: Serve, make_answerer: MakeAnswerer, passages: list[Passage]
) -> None:
    fake = FakeLLMBehaviour(api_key=KEY)
    answerer = make_answerer(await serve(fake))

    reply = await answerer.answer(QUESTION, passages)

    # The fake quotes passage [1]'s first sentence: it can only have it if it was sent.
    assert reply == f"{first_sentence(passages[0])}[1]\n{source_line(1, passages[0])}"
    [request] = fake.requests
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["model"] == MODEL
    assert body["temperature"] == 0
    assert 0 < body["max_tokens"] <= 500
    system, user = body["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert "只能依据" in system["content"] and REFUSAL in system["content"]
    assert user["role"] == "user"
    for n, p in enumerate(passages, 1):
        assert (
            f"[{n}]《{p.unit.title}》（出处：{p.unit.source}）{first_sentence(p)}"
            in user["content"]
        )
    assert user["content"].endswith(f"问题：{QUESTION}")


async def test_only_the_passages_the_model_cited_are_listed_as_sources(
    serve: Serve, make_answerer: MakeAnswerer, passages: list[Passage]
) -> None:
    text = "党支部每月开展一次主题党日[2]，内容包括开展志愿服务[2][3]。"
    answerer = make_answerer(await serve(FakeLLMBehaviour(answer=f"  {text}\n")))

    reply = await answerer.answer(QUESTION, passages)

    assert reply == "\n".join([text, source_line(2, passages[1]), source_line(3, passages[2])])
    assert passages[0].unit.title not in reply


async def test_two_passages_of_one_unit_share_a_source_line(
    serve: Serve, make_answerer: MakeAnswerer, corpus: dict[str, Unit]
) -> None:
    unit = corpus["branch-theme-day"]
    first, second = unit.body.split("\n\n")[:2]
    both = [Passage(unit, first, 6.0), Passage(unit, second, 5.0)]
    answerer = make_answerer(await serve(FakeLLMBehaviour(answer="每月一次［1］【2】。")))

    reply = await answerer.answer("主题党日", both)

    assert reply == f"每月一次［1］【2】。\n——出处：[1][2]《{unit.title}》（{unit.source}）"


async def test_without_a_key_no_authorization_header_is_sent(
    serve: Serve, make_answerer: MakeAnswerer, passages: list[Passage]
) -> None:
    fake = FakeLLMBehaviour()
    # A trailing slash on the configured base URL must not double up in the path.
    answerer = make_answerer(await serve(fake) + "/", api_key=None)

    assert await answerer.answer(QUESTION, passages) is not None
    [request] = fake.requests
    assert "Authorization" not in request.headers


async def test_a_wrong_key_is_refused_and_never_logged(
    serve: Serve,
    make_answerer: MakeAnswerer,
    passages: list[Passage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    answerer = make_answerer(await serve(FakeLLMBehaviour(api_key="sk-the-right-one")))

    with caplog.at_level(logging.WARNING, logger="dangjian.llm"):
        assert await answerer.answer(QUESTION, passages) is None

    assert "HTTP 401 (invalid_api_key)" in caplog.text
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (FakeLLMBehaviour(status=500), "HTTP 500 (server_error)"),
        (FakeLLMBehaviour(status=429), "HTTP 429 (rate_limit_exceeded)"),
        (FakeLLMBehaviour(malformed=True), "not JSON"),
        (FakeLLMBehaviour(empty_choices=True), "no choices"),
        (FakeLLMBehaviour(answer=refuse), "do not answer"),
        (FakeLLMBehaviour(answer=f"{REFUSAL}。"), "do not answer"),
        (FakeLLMBehaviour(answer=" \n "), "empty answer"),
        (FakeLLMBehaviour(answer=without_citation), "cites no passage"),
        (FakeLLMBehaviour(answer=citing_passage_9), "not given: [9] of 3"),
        (FakeLLMBehaviour(answer="党员应当交纳党费[0]。"), "not given: [0] of 3"),
        (FakeLLMBehaviour(finish_reason="length"), "cut off"),
        (FakeLLMBehaviour(answer="党员" * 301 + "[1]"), "too long (605 characters)"),
    ],
    ids=[
        "server-error",
        "rate-limited",
        "not-json",
        "no-choices",
        "refusal",
        "refusal-with-punctuation",
        "blank",
        "no-citation",
        "cites-unknown-passage",
        "cites-passage-0",
        "cut-off-at-max-tokens",
        "far-too-long",
    ],
)
async def test_an_unusable_answer_falls_back_to_retrieval_and_says_why(
    behaviour: FakeLLMBehaviour,
    reason: str,
    serve: Serve,
    make_answerer: MakeAnswerer,
    passages: list[Passage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    answerer = make_answerer(await serve(behaviour))

    with caplog.at_level(logging.WARNING, logger="dangjian.llm"):
        assert await answerer.answer(QUESTION, passages) is None

    assert len(behaviour.requests) == 1  # no retries: the WeChat deadline is short
    [record] = [r for r in caplog.records if r.name == "dangjian.llm"]
    assert record.levelno == logging.WARNING
    assert reason in record.getMessage()
    assert QUESTION not in caplog.text and KEY not in caplog.text


async def test_a_slow_model_is_abandoned_at_the_timeout(
    serve: Serve,
    make_answerer: MakeAnswerer,
    passages: list[Passage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    answerer = make_answerer(await serve(FakeLLMBehaviour(delay=2.0)), timeout=0.2)

    with caplog.at_level(logging.WARNING, logger="dangjian.llm"):
        assert await answerer.answer(QUESTION, passages) is None

    assert "no answer within 0.2s" in caplog.text


async def test_an_unreachable_service_falls_back(
    make_answerer: MakeAnswerer, passages: list[Passage], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answerer = make_answerer(f"http://127.0.0.1:{port}/v1")

    with caplog.at_level(logging.WARNING, logger="dangjian.llm"):
        assert await answerer.answer(QUESTION, passages) is None

    assert "ClientConnectorError" in caplog.text


async def test_no_passages_means_no_call(serve: Serve, make_answerer: MakeAnswerer) -> None:
    fake = FakeLLMBehaviour()
    answerer = make_answerer(await serve(fake))

    assert await answerer.answer(QUESTION, []) is None
    assert fake.requests == []


async def test_a_long_answer_is_cut_to_fit_a_wechat_reply_and_keeps_its_sources(
    serve: Serve, make_answerer: MakeAnswerer, passages: list[Passage]
) -> None:
    # 590 characters: within the answer limit, but 1,770 bytes of UTF-8 before the sources.
    text = "党支部每月开展一次主题党日" * 45 + "[1][2][3]"
    answerer = make_answerer(await serve(FakeLLMBehaviour(answer=text)))

    reply = await answerer.answer(QUESTION, passages)

    assert reply is not None
    assert len(reply.encode()) <= MAX_REPLY_BYTES
    body, *sources = reply.split("\n")
    assert body.endswith("…") and text.startswith(body[:-1])
    assert sources == [source_line(n, p) for n, p in enumerate(passages, 1)]


async def test_the_fake_refuses_a_malformed_request_like_openai(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url = await serve(FakeLLMBehaviour())
    bad = {"model": MODEL, "messages": [{"role": "wizard", "content": "hi"}]}

    async with session.post(url + "/chat/completions", json=bad) as resp:
        assert resp.status == 400
        error = (await resp.json())["error"]

    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages[0].role"
    assert set(error) == {"message", "type", "param", "code"}
