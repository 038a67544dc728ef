"""A faithful fake of OpenAI's chat completions API, as an aiohttp app.

    POST /v1/chat/completions

Like OpenAI it checks the bearer key first (401), then the body (400), and answers with the
`chat.completion` object; errors are `{"error": {"message", "type", "param", "code"}}`.  The
default answer is derived from the request, as an obedient model would give it: the first
sentence of passage [1] followed by "[1]", so a test that sees it knows the passages were sent.
Every request is recorded, headers and JSON, before anything else is checked.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.llm import REFUSAL


@dataclass(frozen=True)
class SentPassage:
    """A passage as the fake read it out of the user message."""

    number: int
    title: str
    source: str
    text: str


Answer = Callable[[list[SentPassage]], str]


def _first_sentence(passages: list[SentPassage]) -> str | None:
    first = next((p for p in passages if p.number == 1), None)
    if first is None:
        return None
    match = re.match(r".+?[。！？；]", first.text)
    return match.group(0) if match else first.text


def cite_first_sentence(passages: list[SentPassage]) -> str:
    """What an obedient model says: passage [1]'s first sentence, cited; else the refusal."""
    sentence = _first_sentence(passages)
    return REFUSAL if sentence is None else f"{sentence}[1]"


def refuse(passages: list[SentPassage]) -> str:
    return REFUSAL


def without_citation(passages: list[SentPassage]) -> str:
    return _first_sentence(passages) or "党员应当认真学习。"


def citing_passage_9(passages: list[SentPassage]) -> str:
    return f"{_first_sentence(passages) or '党员应当认真学习。'}[9]"


@dataclass(frozen=True)
class RecordedRequest:
    headers: dict[str, str]
    body: Any  # the JSON sent, or None when it was not JSON


@dataclass
class FakeLLMBehaviour:
    api_key: str | None = None  # when set, requests must carry `Authorization: Bearer <key>`
    answer: str | Answer = cite_first_sentence  # scripted text, or derived from the passages
    status: int = 200  # 429 and 5xx answer OpenAI's error for that status
    delay: float = 0.0  # real seconds before answering: exercises the client's real timeout
    malformed: bool = False  # HTTP 200 with a body that is not JSON
    empty_choices: bool = False
    finish_reason: str = "stop"  # "length": the answer was cut off at max_tokens
    requests: list[RecordedRequest] = field(default_factory=list)


FAKE_LLM = web.AppKey("fake_llm", FakeLLMBehaviour)
_PASSAGE = re.compile(r"^\[(\d+)\]《(.+?)》（出处：(.+?)）(.*)$", re.MULTILINE)
_ROLES = {"system", "developer", "user", "assistant", "tool"}
_STATUS_ERRORS = {
    429: (
        "Rate limit reached for requests. Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def _error(
    status: int, message: str, kind: str, code: str | None, param: str | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status)


def _invalid(message: str, param: str | None = None) -> web.Response:
    return _error(400, message, "invalid_request_error", None, param)


def _check_body(body: Any) -> web.Response | None:
    if not isinstance(body, dict):
        return _invalid("We could not parse the JSON body of your request.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        return _invalid("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _invalid("'messages' must be a non-empty array", "messages")
    for n, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            return _invalid(f"Invalid value for 'messages[{n}].role'", f"messages[{n}].role")
        if not isinstance(message.get("content"), str | list):
            return _invalid(f"Invalid type for 'messages[{n}].content'", f"messages[{n}].content")
    temperature = body.get("temperature", 1)
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        return _invalid("temperature must be a number between 0 and 2", "temperature")
    max_tokens = body.get("max_tokens", 1)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        return _invalid("max_tokens must be a positive integer", "max_tokens")
    return None


def sent_passages(body: dict[str, Any]) -> list[SentPassage]:
    """The numbered passages in the last user message, as the model would read them."""
    users = [m["content"] for m in body["messages"] if m["role"] == "user"]
    text = users[-1] if users and isinstance(users[-1], str) else ""
    return [SentPassage(int(n), t, s, x.strip()) for n, t, s, x in _PASSAGE.findall(text)]


async def _completions(request: web.Request) -> web.StreamResponse:
    behaviour = request.app[FAKE_LLM]
    raw = await request.read()
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = None
    behaviour.requests.append(RecordedRequest(dict(request.headers), body))
    if behaviour.api_key is not None:
        sent = request.headers.get("Authorization", "")
        if not sent.startswith("Bearer "):
            return _error(401, "You didn't provide an API key.", "invalid_request_error", None)
        if sent.removeprefix("Bearer ") != behaviour.api_key:
            message = "Incorrect API key provided."
            return _error(401, message, "invalid_request_error", "invalid_api_key")
    bad = _check_body(body)
    if bad is not None:
        return bad
    if behaviour.delay:
        await asyncio.sleep(behaviour.delay)
    if behaviour.status != 200:
        message, kind, code = _STATUS_ERRORS.get(behaviour.status, ("Error", "server_error", None))
        return _error(behaviour.status, message, kind, code)
    if behaviour.malformed:
        return web.Response(
            text='{"id": "chatcmpl-broken", "choices": [', content_type="application/json"
        )
    answer = behaviour.answer
    content = answer if isinstance(answer, str) else answer(sent_passages(body))
    choices = (
        []
        if behaviour.empty_choices
        else [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": behaviour.finish_reason,
            }
        ]
    )
    # Characters stand in for tokens: close enough for a fake, and never zero.
    prompt = sum(len(m["content"]) for m in body["messages"] if isinstance(m["content"], str))
    return web.json_response(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": len(content),
                "total_tokens": prompt + len(content),
            },
        }
    )


def create_fake_llm(behaviour: FakeLLMBehaviour) -> web.Application:
    app = web.Application()
    app[FAKE_LLM] = behaviour
    app.router.add_post("/v1/chat/completions", _completions)
    return app
