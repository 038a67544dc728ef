"""心得: a member hands in a 心得体会 (typed or spoken) and follows what became of it; a
流动党员 far away hands one in on a meeting's topic instead of coming (心得 N 内容)."""

from __future__ import annotations

import re

from handlers.common import READING
from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.filters import Command, InState, Keyword, Pattern, bound
from server.dispatch.router import FilterResult
from server.dispatch.state import Conversation
from server.errors import PermissionDenied, ValidationFailed
from server.models.people import Member
from server.models.study import SUBMISSION_STATUS_LABELS, SubmissionStatus
from server.services.meetings import afar
from server.services.study import submissions
from server.settings import Settings
from server.wechat.messages import InboundMessage
from server.wechat.replies import MAX_TEXT_BYTES
from study_content.corpus import Unit

router = Router("submissions")
# The text of a 心得 after 写心得: its own router, included after the keyword features so that
# 打卡 or 答题 still work mid-draft, and before free-text questions, which would swallow it.
drafting = Router("submissions:drafting")

WRITING = "submission:writing"
REASON_SHOWN = 40  # characters of a return reason in the list (a reply has 2,048 bytes)

router.help(
    "心得 今天学习了党章，我体会到……", "提交心得体会（或先回复 写心得）", visible=bound, order=40
)
router.help("我的心得", "查看自己提交的心得和审核结果", visible=bound, order=41)


def mobile(ctx: ChatContext) -> bool:
    """A 流动党员 (流出): the branch's member living or working elsewhere."""
    return ctx.member is not None and ctx.member.is_mobile


router.help(
    "心得 12 通过学习，我体会到……",
    "不能到会时，就会议主题交心得代替参会，审核通过后计入参会",
    visible=mobile,
    order=42,
)

_COMMAND = Command("心得体会", "心得", "交流体会")
# 心得 12 内容: a number standing alone (a space or a colon after it) is a meeting's number;
# 心得 2024年… is an ordinary 心得.
FOR_MEETING = Pattern(r"(?:心得体会|心得|交流体会)\s*(?P<number>\d{1,9})(?:[\s:,]\s*(?P<body>.*))?")
_AFTER_NUMBER = re.compile(r"\s*(?:心得体会|心得|交流体会)\s*[0-9０-９]+[\s:：,，]*(.*)", re.S)
_ASKING = re.compile(r"[?？吗呢]$|怎么|怎样|如何|什么|哪些|是否")


def handing_in(ctx: ChatContext) -> FilterResult:
    """`心得 <内容>`; but "心得体会怎么写？" is a question about 心得, not one."""
    found = _COMMAND(ctx)
    if not found or not isinstance(found, dict):
        return False
    body = found["args"]
    if submissions.counted_length(body) < submissions.MIN_LENGTH and _ASKING.search(body):
        return False
    return found


def _unit_in(conversation: Conversation, state: str, corpus: list[Unit]) -> Unit | None:
    if not conversation.is_in(state):
        return None
    return next((u for u in corpus if u.id == conversation.data.get("unit")), None)


def _body_after_command(raw_text: str, command: str) -> str:
    """The member's own words after the command, punctuation and line breaks kept as typed."""
    text = raw_text.lstrip()
    text = text[len(command) :] if text.lower().startswith(command) else text
    return text.lstrip(" \u3000:：,，\n")


async def _hand_in(
    member: Member,
    text: str,
    message: InboundMessage,
    clock: Clock,
    corpus: list[Unit],
    settings: Settings,
    unit: Unit | None,
) -> str:
    submission = await submissions.submit(
        member,
        text,
        clock.today(),
        corpus,
        via="voice" if message.msg_type == "voice" else "text",
        unit_id=unit.id if unit else None,
        copy_threshold=settings.copy_threshold,
    )
    return (
        f"心得已提交（编号 {submission.id}，{submission.length} 字），等待支部审核，"
        "审核结果会通知您。感谢分享！\n回复 我的心得 查看审核进度。"
    )


@router.message(Keyword("我的心得", "心得记录"), bound)
async def my_submissions(member: Member) -> str:
    latest, counts = await submissions.mine(member)
    if not latest:
        return "您还没有提交过心得。回复 写心得 写下您的学习体会吧。"
    summary = "，".join(f"{SUBMISSION_STATUS_LABELS[s]} {counts[s]} 篇" for s in SubmissionStatus)
    reply = f"您的心得：{summary}。最近的："
    for s in latest:
        line = f"\n· 编号 {s.id}（{s.day.month}月{s.day.day}日，{s.length} 字）"
        if s.meeting_id is not None:
            line += f"会议 {s.meeting_id} 的心得，"
        line += SUBMISSION_STATUS_LABELS[s.status]
        if s.status == SubmissionStatus.RETURNED and s.return_reason:
            reason = s.return_reason
            line += f"：{reason if len(reason) <= REASON_SHOWN else reason[:REASON_SHOWN] + '…'}"
        if len((reply + line).encode()) > MAX_TEXT_BYTES - 100:
            break
        reply += line
    return reply


@router.message(Keyword("写心得", "心得", "心得体会", "交流体会", "写体会"), bound)
async def start_writing(conversation: Conversation, corpus: list[Unit]) -> str:
    unit = _unit_in(conversation, READING, corpus)
    conversation.set(WRITING, unit=unit.id if unit else None)
    about = f"（关于《{unit.title}》）" if unit else ""
    return (
        f"请发送您的心得体会{about}，{submissions.MIN_LENGTH}–{submissions.MAX_LENGTH} 字，"
        "可以打字，也可以发语音。回复 取消 放弃。"
    )


@router.message(FOR_MEETING, bound)
async def hand_in_for_meeting(
    number: str,
    raw_text: str,
    member: Member,
    message: InboundMessage,
    clock: Clock,
    corpus: list[Unit],
    settings: Settings,
    conversation: Conversation,
) -> str:
    """心得 N 内容: a 流动党员's 心得 on meeting N's topic; approved, it counts as taking part."""
    typed = _AFTER_NUMBER.fullmatch(raw_text)
    text = typed.group(1).strip() if typed else ""
    if not text:
        if not member.is_mobile:
            raise PermissionDenied(afar.ONLY_MOBILE, code="NOT_MOBILE")
        raise ValidationFailed(
            f"请在会议编号后写上您就会议主题的心得，例如：心得 {number} 通过学习，我体会到……",
            field="content",
        )
    submission = await submissions.submit(
        member,
        text,
        clock.today(),
        corpus,
        via="voice" if message.msg_type == "voice" else "text",
        copy_threshold=settings.copy_threshold,
        meeting_id=int(number),
        now=clock.now(),
    )
    if conversation.is_in(WRITING):
        conversation.clear()  # a draft begun with 写心得 is what was just handed in
    return (
        f"会议心得已提交（编号 {submission.id}，{submission.length} 字），"
        f"对应编号 {number} 的会议。支部审核通过后计入这次会议的参会（以心得参加），"
        "审核结果会通知您。\n回复 我的心得 查看审核进度。"
    )


@router.message(handing_in, bound)
async def hand_in_at_once(
    command: str,
    raw_text: str,
    member: Member,
    message: InboundMessage,
    clock: Clock,
    corpus: list[Unit],
    settings: Settings,
    conversation: Conversation,
) -> str:
    unit = _unit_in(conversation, READING, corpus) or _unit_in(conversation, WRITING, corpus)
    text = _body_after_command(raw_text, command)
    reply = await _hand_in(member, text, message, clock, corpus, settings, unit)
    if conversation.is_in(WRITING):
        conversation.clear()  # the draft is what was just handed in; a quiz or a reading stays
    return reply


@drafting.message(InState(WRITING), bound)
async def hand_in_draft(
    raw_text: str,
    member: Member,
    message: InboundMessage,
    clock: Clock,
    corpus: list[Unit],
    settings: Settings,
    conversation: Conversation,
) -> str:
    unit = _unit_in(conversation, WRITING, corpus)
    # Too short or too long raises and keeps the draft open, so the member can simply resend.
    reply = await _hand_in(member, raw_text, message, clock, corpus, settings, unit)
    conversation.clear()
    return reply
