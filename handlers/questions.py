"""问: questions answered from the study corpus, quoted with the unit and its source.

`问 <问题>` from anyone; any other free text from a bound member is taken as a question too
(this router comes just before the fallback).  Nothing is ever made up: when no passage matches
well enough, the member is told so and offered topics.  With DANGJIAN_LLM_URL set, a model
may phrase the answer from the same passages, citing them; on any failure the quote is sent.
"""

from __future__ import annotations

import asyncio
import re

from server.dispatch import ChatContext, Router
from server.dispatch.filters import bound
from server.llm import LLMAnswerer
from server.services.study.submissions import MIN_LENGTH, counted_length
from study_content.retrieval import CorpusIndex, Passage

router = Router("questions")
router.help("问 党费怎么交", "从学习资料中找答案", visible=bound, order=50)

# 问 followed by the question; but "问题是…" and "问一下…" are questions themselves.
_ASK = re.compile(r"(?:问|提问|请教)(?![题一下])[\s:：]*(?P<question>.+)", re.S)


def asked(ctx: ChatContext) -> dict[str, str] | bool:
    found = _ASK.fullmatch(ctx.text or "")
    return {"question": found.group("question")} if found else False


def quote(question: str, found: list[Passage]) -> str:
    best = found[0]
    if best.answer:  # the fact asked for first, then the passage it comes from
        opening = [f"关于「{_short(question)}」：{best.answer}", "学习资料原文："]
    else:
        opening = [f"关于「{_short(question)}」，学习资料里是这样讲的："]
    lines = [*opening, best.text, f"——摘自《{best.unit.title}》（出处：{best.unit.source}）"]
    if len(found) > 1:
        lines.append("相关内容：" + "、".join(f"《{p.unit.title}》" for p in found[1:]))
    return "\n".join(lines)


def dont_know(question: str, index: CorpusIndex) -> str:
    topics = "、".join(index.topics())
    return (
        f"抱歉，学习资料里没有找到能回答「{_short(question)}」的内容，我不凭空作答。\n"
        f"您可以问问这些方面：{topics}。也可以请教支部书记，或回复 帮助 查看可以做的事。"
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 20 else text[:20] + "…"


def reply(question: str, index: CorpusIndex, found: list[Passage] | None = None) -> str:
    """The retrieval answer as the member reads it: the quotation, or the honest 没有找到."""
    found = index.search(question) if found is None else found
    return quote(question, found) if found else dont_know(question, index)


async def answer(question: str, index: CorpusIndex, answerer: LLMAnswerer | None) -> str:
    # Off the event loop: reading a question by meaning takes tens of milliseconds.
    found = await asyncio.to_thread(index.search, question)
    if found and answerer is not None:
        phrased = await answerer.answer(question, found)
        if phrased:
            return phrased
    return reply(question, index, found)


@router.message(asked)
async def ask(question: str, corpus_index: CorpusIndex, answerer: LLMAnswerer | None) -> str:
    return await answer(question, corpus_index, answerer)


@router.message(bound)
async def free_text(text: str, corpus_index: CorpusIndex, answerer: LLMAnswerer | None) -> str:
    if counted_length(text) >= MIN_LENGTH:
        # A long text out of the blue is most likely a 心得 whose 写心得 draft timed out.
        return (
            "这段话比较长，看起来像是心得体会，还没有提交。要提交心得，请在开头加上「心得」"
            "再发送一次，或者先回复 写心得。如果是提问，请说得简短一些。"
        )
    return await answer(text, corpus_index, answerer)
