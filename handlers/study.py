"""今日学习 / 学习: today's unit for this member, with 全文, 继续 and 下一篇."""

from __future__ import annotations

from handlers.common import READING
from server.clock import Clock
from server.dispatch import Router
from server.dispatch.filters import InState, Keyword, bound
from server.dispatch.state import Conversation
from server.models.people import Member
from server.services.study import reading
from server.services.study.points import PointsRules
from study_content.corpus import Unit

router = Router("study")
router.help("今日学习", "阅读今天的学习内容（回复 全文 / 下一篇）", visible=bound, order=20)


def _find(corpus: list[Unit], unit_id: object) -> Unit | None:
    return next((u for u in corpus if u.id == unit_id), None)


async def _present(unit: Unit, member: Member, clock: Clock, conversation: Conversation) -> str:
    await reading.record_opened(member, unit, clock.today())
    conversation.set(READING, unit=unit.id, page=0)
    return (
        f"今日学习：{unit.title}\n{reading.digest(unit)}\n（出处：{unit.source}）\n"
        "回复 全文 阅读全文，回复 下一篇 换一篇。"
    )


@router.message(Keyword("今日学习", "学习", "今天学什么", "study"), bound)
async def show_todays_unit(
    member: Member, clock: Clock, conversation: Conversation, corpus: list[Unit]
) -> str:
    unit = await reading.todays_unit(member, corpus, clock.today())
    return await _present(unit, member, clock, conversation)


@router.message(Keyword("下一篇", "换一篇", "next"), bound)
async def next_unit(
    member: Member, clock: Clock, conversation: Conversation, corpus: list[Unit]
) -> str:
    current = conversation.data.get("unit") if conversation.is_in(READING) else None
    unit = await reading.pick_unit(member, corpus, skip=str(current) if current else None)
    return await _present(unit, member, clock, conversation)


@router.message(Keyword("全文", "继续", "more"), InState(READING), bound)
async def full_text(
    text: str,
    member: Member,
    clock: Clock,
    points_rules: PointsRules,
    conversation: Conversation,
    corpus: list[Unit],
) -> str:
    unit = _find(corpus, conversation.data.get("unit"))
    if unit is None:
        conversation.clear()
        return "这篇学习内容已经更新，回复 今日学习 重新开始。"
    number = int(conversation.data.get("page", 0)) if text == "继续" else 0
    if number == 0:  # the whole unit opened: this, not the digest, is study
        await reading.record_reading(member, unit, clock.today(), points_rules)
    chunk, more = reading.page(unit, number)
    conversation.set(READING, unit=unit.id, page=number + 1)
    tail = (
        "\n回复 继续 查看后面的内容。"
        if more
        else "\n（全文完）回复 下一篇 继续学习，回复 答题 检验一下。"
    )
    heading = f"《{unit.title}》\n" if number == 0 else ""
    return f"{heading}{chunk}{tail}"


@router.message(Keyword("全文", "继续"), bound)
async def nothing_open() -> str:
    return "请先回复 今日学习 打开一篇学习内容。"
