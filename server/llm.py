"""Answer a member's question from retrieved passages with an OpenAI-compatible chat model.

Best-effort: the model must answer only from the numbered passages and cite them, and we check
that it did.  On any failure `answer` logs why and returns None, and the caller sends the plain
retrieval answer.  No retries: WeChat drops a passive reply after 5 seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:  # types only: this module reads passages, it never searches
    from study_content.retrieval import Passage

log = logging.getLogger("dangjian.llm")

REFUSAL = "无法回答"
MAX_TOKENS = 400
# The prompt asks for 200 characters; far past that the model has stopped following it.
MAX_ANSWER_CHARS = 600
# WeChat caps a passive text reply at 2,048 bytes; the rest is the caller's margin.
MAX_REPLY_BYTES = 1500

SYSTEM_PROMPT = (
    "你是党建学习助手，帮助党员学习党的理论、党章党规和党史。"
    "只能依据用户消息中给出的编号资料回答问题，不得使用资料以外的知识，"
    "不得编造任何事实、数字、日期或条文。"
    "每个事实后用方括号标注所依据的资料编号，例如[1]；依据多条资料时分别标注，例如[1][2]。"
    f"如果资料中没有问题的答案，只回复“{REFUSAL}”四个字，不要添加其他内容。"
    "回答使用简体中文，不超过200字。"
)

# Models write [1], ［1］ or 【1】, and sometimes [1, 2]: all of them are citations.
_CITATION = re.compile(r"[\[［【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]］】]")


class _Unusable(Exception):
    """The answer cannot be shown to a member; the message says why, for the log."""


class LLMAnswerer:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout: float,
    ) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._model = model
        self._timeout = timeout

    async def answer(self, question: str, passages: Sequence[Passage]) -> str | None:
        """The model's answer and the sources it cited, or None: use the retrieval answer."""
        if not passages:
            return None
        try:
            # One bound over connect, send, read and parse: the caller's deadline is whole.
            async with asyncio.timeout(self._timeout):
                text = await self._complete(question, passages)
            cited = _citations(text, len(passages))
        except TimeoutError:
            log.warning("LLM answer not used: no answer within %ss", self._timeout)
            return None
        except _Unusable as exc:
            log.warning("LLM answer not used: %s", exc)
            return None
        return _reply(text, [(n, passages[n - 1]) for n in cited])

    async def _complete(self, question: str, passages: Sequence[Passage]) -> str:
        payload = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": _user_message(question, passages)},
            ],
            "temperature": 0,
            "max_tokens": MAX_TOKENS,
        }
        try:
            async with self._session.post(self._url, json=payload, headers=self._headers) as resp:
                status, raw = resp.status, await resp.read()
        except aiohttp.ClientError as exc:
            # The type only: the message may carry the URL, and nothing here needs more.
            raise _Unusable(type(exc).__name__) from None
        if not 200 <= status < 300:
            raise _Unusable(f"HTTP {status}{_error_code(raw)}")
        try:
            data: Any = json.loads(raw)
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except ValueError:
            raise _Unusable("unreadable answer (not JSON)") from None
        except (TypeError, KeyError, IndexError):
            raise _Unusable("no choices[0].message.content in the answer") from None
        if not isinstance(content, str):
            raise _Unusable("the answer's content is not text")
        if choice.get("finish_reason") == "length":
            # Cut off at max_tokens: the last sentence may be half a fact.
            raise _Unusable("answer cut off at max_tokens")
        return content.strip()


def _user_message(question: str, passages: Sequence[Passage]) -> str:
    # One passage to a line, so "[n]" at a line start can only be a passage number.
    numbered = "\n".join(
        f"[{n}]《{p.unit.title}》（出处：{p.unit.source}）{' '.join(p.text.split())}"
        for n, p in enumerate(passages, 1)
    )
    return f"资料：\n{numbered}\n\n问题：{question.strip()}"


def _citations(text: str, given: int) -> list[int]:
    """The passage numbers the answer cites, ascending, or why it must not be shown."""
    if not text:
        raise _Unusable("empty answer")
    if REFUSAL in text:
        raise _Unusable("the passages do not answer the question")
    if len(text) > MAX_ANSWER_CHARS:
        raise _Unusable(f"answer too long ({len(text)} characters)")
    cited = sorted({int(n) for group in _CITATION.findall(text) for n in re.split(r"\D+", group)})
    if not cited:
        raise _Unusable("answer cites no passage")
    unknown = [n for n in cited if not 1 <= n <= given]
    if unknown:
        raise _Unusable(f"answer cites passages it was not given: {unknown} of {given}")
    return cited


def _error_code(raw: bytes) -> str:
    # OpenAI's error code or type (rate_limit_exceeded, invalid_api_key) tells ops what to fix;
    # the message is not logged, as it can quote part of the key.
    try:
        error = json.loads(raw)["error"]
        label = error.get("code") or error.get("type")
    except (ValueError, TypeError, KeyError, AttributeError):
        return ""
    return f" ({label[:40]})" if isinstance(label, str) else ""


def _reply(text: str, cited: list[tuple[int, Passage]]) -> str:
    # Passages from the same unit share one source line.
    units: dict[str, tuple[list[int], Passage]] = {}
    for n, passage in cited:
        units.setdefault(passage.unit.id, ([], passage))[0].append(n)
    sources = "".join(
        f"\n——出处：{''.join(f'[{n}]' for n in numbers)}《{p.unit.title}》（{p.unit.source}）"
        for numbers, p in units.values()
    )
    # The sources make the answer checkable, so the answer gives way first; sources are cut
    # only when they alone would take more than half the room.
    sources = _clip(sources, MAX_REPLY_BYTES // 2)
    return _clip(text, MAX_REPLY_BYTES - len(sources.encode())) + sources


def _clip(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary and marked with an ellipsis."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode(errors="ignore") + "…"
