"""审核: branch secretaries review their members' 心得 in chat; the member hears the outcome."""

from __future__ import annotations

import re

from server.clock import Clock
from server.dispatch import Router
from server.dispatch.context import text_after_number
from server.dispatch.filters import HasRole, InState, Keyword, Pattern, bound
from server.dispatch.state import Conversation
from server.errors import DangjianError
from server.models.people import Member
from server.models.study import SUBMISSION_STATUS_LABELS, Submission, SubmissionStatus
from server.services.delivery.messenger import Clients
from server.services.study import review_notice, submissions
from server.services.study.points import PointsRules
from server.services.study.submissions import NearCopy
from server.wechat.replies import MAX_TEXT_BYTES, byte_pages
from study_content.corpus import Unit

router = Router("review")
router.hint("SUBMISSION_NOT_FOUND", "回复 审核 查看待审核的心得。")
REVIEWING = "submission:reviewing"
LISTING = "submission:listing"  # after 审核: 继续 shows the next of the pending 心得
LISTED = 10  # 心得 looked at for one reply of the list
PAGE_BYTES = 1500  # of the 心得 per reply, leaving room for the heading within 2,048
leader = HasRole(submissions.REVIEWERS)  # the service checks it again, for the API too
router.help(
    "审核", "审核本支部的心得：通过 5，通过 5 6 7，全部通过，退回 5 原因", visible=leader, order=58
)


LIST = Keyword("审核", "审核心得", "待审核")
REVIEW_ONE = Pattern(r"(?:审核|查看心得)\s*(?P<number>\d{1,9})")
APPROVE = Pattern(r"通过\s*(?P<number>\d{1,9})")
RETURN = Pattern(r"退回\s*(?P<number>\d{1,9})\s*(?P<reason>.*)")
# 通过 3 5 8 (two or more numbers), or 全部通过: a preview, then 确认.
APPROVE_MANY = Pattern(r"通过\s*(?P<numbers>\d{1,9}(?:[\s,，、]+\d{1,9})+)")
APPROVE_ALL = Keyword("全部通过", "一键通过", "批量通过")
BATCH = "submission:batch"
BATCH_MOST = 10


def _flag(submission: Submission, corpus: list[Unit], flags: dict[int, NearCopy]) -> str:
    flag = flags.get(submission.id)
    if flag is None:
        return ""
    share = f"{round((flag.similarity or 0) * 100)}%"
    if flag.kind == "unit":
        title = next((u.title for u in corpus if u.id == flag.unit_id), flag.unit_id)
        return f"⚠ 与学习内容《{title}》雷同约 {share}"
    if flag.kind == "submission":
        return f"⚠ 与编号 {flag.submission_id} 的心得雷同约 {share}"
    return f"⚠ 与其他组织的一篇心得雷同约 {share}"  # the reviewer cannot open that one


def _when(s: Submission) -> str:
    return f"{s.day.month}月{s.day.day}日"


def _for_meeting(s: Submission) -> str:
    """A 流动党员's 心得 instead of coming: approving it counts them as taking part."""
    return f" 〔会议 {s.meeting_id} 心得，通过即记为以心得参加〕" if s.meeting_id else ""


@router.message(LIST, leader)
async def list_pending(member: Member, corpus: list[Unit], conversation: Conversation) -> str:
    return await _list_from(member, corpus, conversation, 0)


@router.message(Keyword("继续", "下一页", "更多"), InState(LISTING), leader)
async def list_more(member: Member, corpus: list[Unit], conversation: Conversation) -> str:
    return await _list_from(member, corpus, conversation, int(conversation.data.get("skip", 0)))


async def _list_from(
    member: Member, corpus: list[Unit], conversation: Conversation, skip: int
) -> str:
    """The pending 心得 from the `skip`-th on, oldest first, as many as fit in one reply."""
    pending, total = await submissions.pending_for(member, limit=skip + LISTED)
    pending = pending[skip:]
    if not pending:
        conversation.clear()
        if skip and total:
            return f"待审核的心得已经全部列出（共 {total} 篇）。回复 审核 从头再看。"
        return "目前没有待审核的心得。"
    visible = await submissions.near_copies(member, pending)
    tail = "\n回复 审核 N 看全文，通过 N，或 退回 N 原因。"
    head = "待审核的心得共" if not skip else "待审核的心得（续），共"
    reply, shown = f"{head} {total} 篇（先交的在前）：", 0
    for s in pending:
        flag = _flag(s, corpus, visible)
        line = f"\n【{s.id}】{s.member.name} {_when(s)} {s.length} 字{_for_meeting(s)}"
        line += f" {flag}" if flag else ""
        line += f"\n  {' '.join(s.content.split())[:40]}…"
        if len((reply + line + tail).encode()) > MAX_TEXT_BYTES - 120:
            break
        reply, shown = reply + line, shown + 1
    left = total - skip - shown
    # 继续 pages on through the list (it would otherwise reach 今日学习's 继续).
    conversation.set(LISTING, skip=skip + shown)
    if left > 0:
        reply += f"\n……还有 {left} 篇，回复 继续 查看。"
    return reply + tail


def _page_reply(s: Submission, page: int, conversation: Conversation) -> str:
    pages = byte_pages(s.content, PAGE_BYTES)
    if page + 1 < len(pages):
        conversation.set(REVIEWING, number=s.id, page=page + 1)
        return pages[page] + "\n回复 继续 看后面的内容。"
    conversation.clear()
    done = "（全文完）" if page else ""
    return f"{pages[min(page, len(pages) - 1)]}\n{done}回复 通过 {s.id}，或 退回 {s.id} 原因。"


@router.message(REVIEW_ONE, leader)
async def show_one(
    number: str, member: Member, corpus: list[Unit], conversation: Conversation
) -> str:
    s = await submissions.find_for_review(member, int(number))
    flag = _flag(s, corpus, await submissions.near_copies(member, [s]))
    head = (
        f"【{s.id}】{s.member.name} {_when(s)} {s.length} 字 {SUBMISSION_STATUS_LABELS[s.status]}"
        f"{_for_meeting(s)}"
    )
    return head + (f"\n{flag}" if flag else "") + "\n" + _page_reply(s, 0, conversation)


@router.message(Keyword("继续"), InState(REVIEWING), leader)
async def show_more(member: Member, conversation: Conversation) -> str:
    s = await submissions.find_for_review(member, int(conversation.data.get("number", 0)))
    return _page_reply(s, int(conversation.data.get("page", 1)), conversation)


def _told(notified: bool) -> str:
    if notified:
        return "已通知本人。"
    return "本人 48 小时内没有和公众号互动，暂时无法推送通知；本人回复 我的心得 时会看到结果。"


@router.message(APPROVE, leader)
async def approve(
    number: str,
    member: Member,
    clock: Clock,
    points_rules: PointsRules,
    wechat_clients: Clients,
) -> str:
    done = await review_notice.approve(
        member, int(number), clock.now(), clock.today(), points_rules, wechat_clients
    )
    # The points are the author's own: the author is told them, the reviewer is not.
    s = done.submission
    attended = f"已记为以心得参加编号 {s.meeting_id} 的会议。" if done.attended else ""
    return f"已通过编号 {s.id} 的心得。{attended}{_told(done.notified)}"


@router.message(RETURN, leader)
async def send_back(
    number: str,
    reason: str,
    raw_text: str,
    member: Member,
    clock: Clock,
    wechat_clients: Clients,
) -> str:
    # The reason as typed, Chinese punctuation and all (the matched text is normalised).
    reason = text_after_number(raw_text, "退回") or reason
    done = await review_notice.send_back(member, int(number), reason, clock.now(), wechat_clients)
    return f"已退回编号 {done.submission.id} 的心得。{_told(done.notified)}"


def _numbers(text: str) -> list[int]:
    return list(dict.fromkeys(int(n) for n in re.findall(r"\d{1,9}", text)))


@router.message(APPROVE_MANY, leader)
async def approve_many_preview(
    numbers: str, member: Member, corpus: list[Unit], conversation: Conversation
) -> str:
    """通过 3 5 8: the ones named, shown first; nothing is approved before 确认."""
    wanted = _numbers(numbers)
    if len(wanted) > BATCH_MOST:
        return f"一次最多通过 {BATCH_MOST} 篇，请分几次发送。"
    found: list[Submission] = []
    skipped: list[str] = []
    for number in wanted:
        try:
            s = await submissions.find_for_review(member, number)
        except DangjianError:
            skipped.append(f"编号 {number}（没有找到）")
            continue
        if s.status != SubmissionStatus.PENDING:
            skipped.append(f"编号 {number}（已审核）")
        else:
            found.append(s)
    return await _batch_preview(member, corpus, conversation, found, skipped, [])


@router.message(APPROVE_ALL, leader)
async def approve_all_preview(
    member: Member, corpus: list[Unit], conversation: Conversation
) -> str:
    """全部通过: the oldest pending ones; a near-copy is left out, to be read first."""
    pending, _ = await submissions.pending_for(member, limit=BATCH_MOST)
    clean = [s for s in pending if not s.resembles]
    flagged = [s for s in pending if s.resembles]
    return await _batch_preview(member, corpus, conversation, clean, [], flagged)


async def _batch_preview(
    member: Member,
    corpus: list[Unit],
    conversation: Conversation,
    found: list[Submission],
    skipped: list[str],
    held_back: list[Submission],
) -> str:
    visible = await submissions.near_copies(member, found)
    lines: list[str] = []
    for s in found:
        flag = _flag(s, corpus, visible)
        lines.append(
            f"【{s.id}】{s.member.name} {_when(s)} {s.length} 字{' ' + flag if flag else ''}"
        )
    if skipped:
        lines.append("不在其中：" + "、".join(skipped))
    if held_back:
        ids = "、".join(str(s.id) for s in held_back)
        lines.append(f"疑似雷同的 {len(held_back)} 篇（编号 {ids}）请先回复 审核 N 看全文再定。")
    if not found:
        conversation.clear()
        return "\n".join([*lines, "没有可以通过的心得。"]) if lines else "目前没有待审核的心得。"
    conversation.set(BATCH, ids=[s.id for s in found])
    head = f"将通过以下 {len(found)} 篇心得："
    return "\n".join([head, *lines, "回复 确认 全部通过，回复 取消 放弃。"])


@router.message(Keyword("确认", "确定"), InState(BATCH), leader)
async def approve_many(
    member: Member,
    clock: Clock,
    conversation: Conversation,
    points_rules: PointsRules,
    wechat_clients: Clients,
) -> str:
    ids = [int(n) for n in conversation.data.get("ids", [])]
    conversation.clear()
    done: list[int] = []
    failed: list[str] = []
    unreached = 0
    for number in ids:
        try:
            reviewed = await review_notice.approve(
                member, number, clock.now(), clock.today(), points_rules, wechat_clients
            )
        except DangjianError as exc:  # reviewed meanwhile, by another secretary
            failed.append(f"编号 {number}：{exc.user_message}")
            continue
        done.append(number)
        unreached += not reviewed.notified
    reply = f"已通过 {len(done)} 篇心得（编号 {'、'.join(map(str, done))}）。" if done else ""
    if done:
        reply += (
            "已通知本人。"
            if not unreached
            else (
                f"其中 {unreached} 人 48 小时内没有和公众号互动，暂时无法推送；"
                "本人回复 我的心得 时会看到结果。"
            )
        )
    if failed:
        reply += "\n未通过：" + "；".join(failed)
    return reply or "没有通过任何心得。"


@router.message(LIST, bound)
@router.message(REVIEW_ONE, bound)
@router.message(APPROVE_MANY, bound)
@router.message(APPROVE_ALL, bound)
@router.message(APPROVE, bound)
@router.message(RETURN, bound)
async def not_a_reviewer() -> str:
    return "审核心得需要支部书记或副书记的权限。回复 我的心得 查看您自己的心得。"
