"""心得: a member hands in a 心得体会; the branch's secretaries review it in chat."""

from __future__ import annotations

import re

from handlers.study import READING
from server.activity import SUBMISSION_STATUS_LABELS, Submission, SubmissionStatus
from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.filters import Command, HasRole, InState, Keyword, bound
from server.dispatch.router import Filter
from server.dispatch.state import Conversation
from server.messaging import tell
from server.models import BRANCH_LEADERS, Channel, Member
from server.services import submissions
from server.services.points import PointsRules
from server.settings import Settings
from server.wechat.client import WeChatClient
from server.wechat.messages import InboundMessage
from study_content.corpus import Unit

router = Router("submissions")
# The text of a 心得 after 写心得: its own router, included after the keyword features so that
# 打卡 or 我的 still work mid-draft, and before free-text questions, which would swallow it.
drafting = Router("submissions:drafting")

WRITING = "submission:writing"
REVIEWING = "submission:reviewing"
PAGE = 500  # characters per page: a passive reply must stay under WeChat's 2,048 bytes
leader = HasRole(BRANCH_LEADERS)

router.help("心得 <内容>", "提交心得体会（或先回复 写心得）", visible=bound, order=40)
router.help("我的心得", "查看自己提交的心得和审核结果", visible=bound, order=41)
router.help("审核", "审核本支部党员的心得（通过 N / 退回 N 原因）", visible=leader, order=60)


def _number(pattern: str) -> Filter:
    compiled = re.compile(pattern)

    def match(ctx: ChatContext) -> dict[str, str] | bool:
        found = compiled.fullmatch(ctx.text or "")
        return found.groupdict() if found else False

    return match


REVIEW_ONE = _number(r"(?:审核|查看心得)\s*(?P<number>\d{1,9})")
APPROVE = _number(r"通过\s*(?P<number>\d{1,9})")
RETURN = _number(r"退回\s*(?P<number>\d{1,9})\s*(?P<reason>.*)")


def _unit_being_read(conversation: Conversation, corpus: list[Unit]) -> Unit | None:
    if not conversation.is_in(READING):
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
    unit_id: str | None,
) -> str:
    submission = await submissions.submit(
        member,
        text,
        clock.today(),
        corpus,
        via="voice" if message.msg_type == "voice" else "text",
        unit_id=unit_id,
        copy_threshold=settings.copy_threshold,
    )
    return (
        f"心得已提交（编号 {submission.id}，{submission.length} 字），等待支部审核，"
        "审核结果会通知您。感谢分享！\n回复 我的心得 查看审核进度。"
    )


@router.message(Keyword("写心得", "心得", "心得体会", "交流体会", "写体会"), bound)
async def start_writing(conversation: Conversation, corpus: list[Unit]) -> str:
    unit = _unit_being_read(conversation, corpus)
    conversation.set(WRITING, unit=unit.id if unit else None)
    about = f"（关于《{unit.title}》）" if unit else ""
    return (
        f"请发送您的心得体会{about}，{submissions.MIN_LENGTH}–{submissions.MAX_LENGTH} 字，"
        "可以打字，也可以发语音。回复 取消 放弃。"
    )


@router.message(Command("心得体会", "心得", "交流体会"), bound)
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
    unit = _unit_being_read(conversation, corpus) or _unit_in_draft(conversation, corpus)
    text = _body_after_command(raw_text, command)
    reply = await _hand_in(member, text, message, clock, corpus, settings, unit and unit.id)
    conversation.clear()
    return reply


def _unit_in_draft(conversation: Conversation, corpus: list[Unit]) -> Unit | None:
    if not conversation.is_in(WRITING):
        return None
    return next((u for u in corpus if u.id == conversation.data.get("unit")), None)


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
    unit = _unit_in_draft(conversation, corpus)
    # Too short or too long raises and keeps the draft open, so the member can simply resend.
    reply = await _hand_in(member, raw_text, message, clock, corpus, settings, unit and unit.id)
    conversation.clear()
    return reply


@router.message(Keyword("我的心得", "心得记录"), bound)
async def my_submissions(member: Member) -> str:
    latest, counts = await submissions.mine(member)
    if not latest:
        return "您还没有提交过心得。回复 写心得 写下您的学习体会吧。"
    summary = "，".join(f"{SUBMISSION_STATUS_LABELS[s]} {counts[s]} 篇" for s in SubmissionStatus)
    lines = [f"您的心得：{summary}。最近的："]
    for s in latest:
        when = f"{s.day.month}月{s.day.day}日"
        line = f"· 编号 {s.id}（{when}，{s.length} 字）{SUBMISSION_STATUS_LABELS[s.status]}"
        if s.status == SubmissionStatus.RETURNED and s.return_reason:
            line += f"：{s.return_reason}"
        lines.append(line)
    return "\n".join(lines)


# --- review (支部书记 / 副书记 / 总支书记) ---------------------------------------------------


def _describe_flag(submission: Submission, corpus: list[Unit]) -> str:
    if not submission.resembles:
        return ""
    kind, _, what = submission.resembles.partition(":")
    share = f"{round((submission.similarity or 0) * 100)}%"
    if kind == "unit":
        title = next((u.title for u in corpus if u.id == what), what)
        return f"⚠ 与学习内容《{title}》雷同约 {share}"
    return f"⚠ 与编号 {what} 的心得雷同约 {share}"


@router.message(Keyword("审核", "审核心得", "待审核"), leader)
async def list_pending(member: Member, corpus: list[Unit]) -> str:
    pending, total = await submissions.pending_for(member)
    if not pending:
        return "目前没有待审核的心得。"
    lines = [f"待审核的心得共 {total} 篇（先交的在前）："]
    for s in pending:
        opening = " ".join(s.content.split())[:40]
        flag = _describe_flag(s, corpus)
        lines.append(
            f"【{s.id}】{s.member.name} {s.day.month}月{s.day.day}日 {s.length} 字"
            f"{' ' + flag if flag else ''}\n  {opening}…"
        )
    if total > len(pending):
        lines.append(f"……还有 {total - len(pending)} 篇，处理完这些再回复 审核。")
    lines.append("回复 审核 N 看全文，通过 N，或 退回 N 原因。")
    return "\n".join(lines)


def _review_page(submission: Submission, page: int) -> tuple[str, bool]:
    text = submission.content
    return text[page * PAGE : (page + 1) * PAGE], (page + 1) * PAGE < len(text)


@router.message(REVIEW_ONE, leader)
async def show_one(
    number: str, member: Member, corpus: list[Unit], conversation: Conversation
) -> str:
    s = await submissions.find_for_review(member, int(number))
    chunk, more = _review_page(s, 0)
    flag = _describe_flag(s, corpus)
    status = SUBMISSION_STATUS_LABELS[s.status]
    head = f"【{s.id}】{s.member.name} {s.day.month}月{s.day.day}日 {s.length} 字 {status}"
    if flag:
        head += f"\n{flag}"
    if more:
        conversation.set(REVIEWING, number=s.id, page=1)
    tail = "\n回复 继续 看后面的内容。" if more else f"\n回复 通过 {s.id}，或 退回 {s.id} 原因。"
    return f"{head}\n{chunk}{tail}"


@router.message(Keyword("继续"), InState(REVIEWING), leader)
async def show_more(member: Member, conversation: Conversation) -> str:
    s = await submissions.find_for_review(member, int(conversation.data.get("number", 0)))
    page = int(conversation.data.get("page", 1))
    chunk, more = _review_page(s, page)
    if more:
        conversation.set(REVIEWING, number=s.id, page=page + 1)
    else:
        conversation.clear()
    done = f"\n（全文完）回复 通过 {s.id}，或 退回 {s.id} 原因。"
    return chunk + ("\n回复 继续 看后面的内容。" if more else done)


async def _tell_author(
    submission: Submission, text: str, clock: Clock, clients: dict[Channel, WeChatClient]
) -> str:
    if await tell(submission.member_id, text, clients):  # type: ignore[attr-defined]
        await submissions.mark_notified(submission, clock.now())
        return "已通知本人。"
    return "本人 48 小时内没有和公众号互动，暂时无法推送通知；他回复 我的心得 时会看到结果。"


@router.message(APPROVE, leader)
async def approve(
    number: str,
    member: Member,
    clock: Clock,
    points_rules: PointsRules,
    wechat_clients: dict[Channel, WeChatClient],
) -> str:
    approval = await submissions.approve(
        member, int(number), clock.now(), clock.today(), points_rules
    )
    s = approval.submission
    earned = f"，积分 +{approval.points}" if approval.points else ""
    told = await _tell_author(
        s,
        f"您 {s.day.month}月{s.day.day}日 提交的心得（编号 {s.id}）已通过支部审核{earned}。"
        "感谢您的分享！",
        clock,
        wechat_clients,
    )
    return f"已通过编号 {s.id} 的心得{earned}。{told}"


@router.message(RETURN, leader)
async def send_back(
    number: str,
    reason: str,
    raw_text: str,
    member: Member,
    clock: Clock,
    wechat_clients: dict[Channel, WeChatClient],
) -> str:
    # The reason as typed, Chinese punctuation and all (the matched text is normalised).
    typed = re.fullmatch(r"\s*退回\s*[0-9０-９]+\s*(.*)", raw_text, re.S)
    reason = typed.group(1) if typed and typed.group(1).strip() else reason
    s = await submissions.return_for_revision(member, int(number), reason, clock.now())
    told = await _tell_author(
        s,
        f"您 {s.day.month}月{s.day.day}日 提交的心得（编号 {s.id}）被支部退回，"
        f"原因：{s.return_reason}\n修改后可以回复 写心得 重新提交。",
        clock,
        wechat_clients,
    )
    return f"已退回编号 {s.id} 的心得。{told}"


@router.message(Keyword("审核", "审核心得", "待审核"), bound)
@router.message(REVIEW_ONE, bound)
@router.message(APPROVE, bound)
@router.message(RETURN, bound)
async def not_a_reviewer() -> str:
    return "审核心得需要支部书记或副书记的权限。回复 我的心得 查看您自己的心得。"
