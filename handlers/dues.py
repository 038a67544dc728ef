"""算党费: the monthly dues by the 2008 rule, asked for in chat; the income is never kept.

`算党费` (or a member asking 我该交多少党费) opens the flow: which situation, then — for 在职 and
离退休 — the month's income, then the answer with its bracket and source.  `算党费 在职 6500`
does it at once.  The conversation state holds only the situation; the income lives in the one
message that carries it and in this handler's locals, and no reply or error repeats it apart
from the answer itself.  General questions about dues (党费怎么交) are left to `问`.

The dues rule is public: anyone may use this, bound or not.
"""

from __future__ import annotations

import re
from decimal import Decimal

from server.dispatch import ChatContext, PrivateReply, Router
from server.dispatch.filters import Command, InState, Keyword
from server.dispatch.state import Conversation
from server.errors import ValidationFailed
from server.services.people import dues
from server.services.people.dues import Category, DuesResult

router = Router("dues")
ASK_CATEGORY = "dues:category"
ASK_INCOME = "dues:income"  # data: the category only, never the income

router.help("算党费", "按规定计算每月应交党费（收入不保存）", visible=lambda ctx: True, order=52)

START = Command("算党费", "党费计算", "计算党费", "算算党费", "党费计算器")
STOP = Keyword("算了", "不算了", "不用了", "不用算了")
NOT_KEPT = "收入只用于这次计算，不会保存。"

MENU = (
    "请回复数字选择您的情况：\n"
    "1 在职\n2 离退休\n3 农民\n4 学生\n5 下岗失业\n6 领取低保或依靠抚恤、救济生活\n"
    "（回复 取消 退出）"
)

# A member asking about their own amount: 我/我的/我该 … 党费 … 多少/算/几.  Not 我们 (the
# branch), and not a general question (党费怎么交, 退休了党费交多少): those go to 问.
_ASKED_PREFIX = re.compile(r"^(?:问|请问|提问)\s*")
_MINE = re.compile(r"我(?!们)")
_HOW_MUCH = re.compile(r"多少|计算|算|几块|几元|几毛")
_LONGEST_QUESTION = 30


def asks_own_dues(ctx: ChatContext) -> bool:
    text = _ASKED_PREFIX.sub("", ctx.text or "")
    return (
        len(text) <= _LONGEST_QUESTION
        and "党费" in text
        and bool(_MINE.search(text))
        and bool(_HOW_MUCH.search(text))
    )


def looks_like_income(ctx: ChatContext) -> bool:
    """A bare income ("6500", "8千") from a member with no flow open: sent after it timed out.

    Only a plausible one: a phone number or a code is not an income.  Only from a member: the
    free text of anyone else goes nowhere but the fallback anyway.
    """
    if ctx.member is None or ctx.conversation.name is not None or not ctx.text:
        return False
    try:
        dues.parse_income(ctx.text)
    except ValidationFailed:
        return False
    return True


def ask_income(category: Category) -> str:
    return (
        f"请发送您的{dues.INCOME_NAMED[category]}，单位元，例如 6500。\n"
        f"{NOT_KEPT}（回复 取消 退出）"
    )


def money(amount: Decimal) -> str:
    return f"{amount:.2f} 元"


def render(result: DuesResult) -> str:
    if result.amount is None:
        head = f"{result.category}党员每月交纳党费 {money(result.low)}至{money(result.high)}。"
    elif result.rate is not None and result.base is not None:
        head = (
            f"按每月 {money(result.base)}计算，{result.category}党员每月应交党费 "
            f"{money(result.amount)}（{money(result.base)} × {dues.percent(result.rate)}，"
            "按全额计算，不分段累进）。"
        )
    else:
        head = f"{result.category}党员每月交纳党费 {money(result.amount)}。"
    lines = [
        head,
        f"适用规定：{result.bracket}。",
        f"依据：{result.source}。",
        f"实际数额{dues.AUTHORITATIVE}；{dues.HARDSHIP}；{dues.MORE_WELCOME}。",
    ]
    if result.base is None:
        return "\n".join(lines)
    lines.append(NOT_KEPT)
    return PrivateReply("\n".join(lines))  # it repeats the income: cached only for retries


def _answer_or_ask(category: Category, income_text: str, conversation: Conversation) -> str:
    """The answer when it can be given; else ask for the income, keeping only the category."""
    if category not in dues.INCOME_NAMED:
        conversation.clear()
        return render(dues.monthly_dues(category))
    if not income_text:
        conversation.set(ASK_INCOME, category=category.value)
        return ask_income(category)
    try:
        income = dues.parse_income(income_text)
    except ValidationFailed as exc:
        conversation.set(ASK_INCOME, category=category.value)
        return f"{exc.user_message}\n{ask_income(category)}"
    conversation.clear()
    return render(dues.monthly_dues(category, income))


@router.message(START)
async def start(args: str, conversation: Conversation) -> str:
    if not args:
        conversation.set(ASK_CATEGORY)
        return f"计算每月应交党费。\n{MENU}"
    try:
        category, rest = dues.split_category(args)
    except ValidationFailed:
        conversation.set(ASK_CATEGORY)
        # Whatever followed (perhaps an income) is dropped, not kept for later.
        return f"请先选择您的情况（{NOT_KEPT}选好后再发送收入）。\n{MENU}"
    return _answer_or_ask(category, rest, conversation)


@router.message(asks_own_dues)
async def asked(conversation: Conversation) -> str:
    conversation.set(ASK_CATEGORY)
    return f"我来帮您按规定计算每月应交党费。\n{MENU}"


def in_flow(ctx: ChatContext) -> bool:
    return ctx.conversation.name in (ASK_CATEGORY, ASK_INCOME)


@router.message(STOP, in_flow)
async def stop(conversation: Conversation) -> str:
    conversation.clear()
    return "好的，已取消计算党费。回复 帮助 查看可以做的事。"


@router.message(InState(ASK_CATEGORY))
async def category_chosen(text: str, conversation: Conversation) -> str:
    try:
        category, rest = dues.split_category(text)
    except ValidationFailed:
        return f"没看懂您的选择。\n{MENU}"
    return _answer_or_ask(category, rest, conversation)


@router.message(InState(ASK_INCOME))
async def income_given(text: str, conversation: Conversation) -> str:
    try:
        category = Category(conversation.data.get("category", ""))  # none yet: ValueError
    except ValueError:
        conversation.set(ASK_CATEGORY)
        return f"请重新选择您的情况。\n{MENU}"
    return _answer_or_ask(category, text, conversation)


@router.message(looks_like_income)
async def stray_income() -> str:
    # Not sent on to 问 (or a model): it is most likely an income whose flow timed out.
    return f"收到一个数额。如果是要计算党费，请先回复 算党费，再选择您的情况。{NOT_KEPT}"
