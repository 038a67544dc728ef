"""心得体会: handing one in, near-copy flags, and the branch's review.

Each submission is an experience exchange (交流体会) for the tallies.  Near-copies of another
submission or of a study unit are flagged for the reviewer, never rejected: a member quoting the
Constitution at length is not cheating, but the secretary should know.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.people import BRANCH_LEADERS, Member, MemberStatus, Organisation, counted_in
from server.models.study import PointsReason, Submission, SubmissionStatus
from server.services.meetings import afar
from server.services.people.scope import under
from server.services.study import similarity
from server.services.study.points import PointsRules, award
from server.services.tallies.snapshot import touched
from study_content.corpus import Unit

MIN_LENGTH = 50  # characters that count (words, not spaces, punctuation or emoji)
MAX_LENGTH = 5000  # characters in all, after trimming
REASON_MAX = 200
# How many earlier submissions a new one is compared with, from its branch and on its unit.
COMPARED = 500
# Control characters (other than line breaks and tabs) never belong in a 心得; PostgreSQL
# refuses NUL outright, so they are dropped before anything is stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TooShort(ValidationFailed):
    def __init__(self, length: int) -> None:
        super().__init__(
            f"心得至少需要 {MIN_LENGTH} 个字（不算空格、标点和表情），这次只有 {length} 个字。"
            "请写完整后再发送，回复 取消 可以放弃。",
            field="content",
        )
        self.length = length


class TooLong(ValidationFailed):
    def __init__(self, length: int) -> None:
        super().__init__(
            f"心得最多 {MAX_LENGTH} 字，这次有 {length} 字。请精简后再发送，或分成两篇。",
            field="content",
        )
        self.length = length


class AlreadySubmitted(Conflict):
    def __init__(self, existing: Submission) -> None:
        super().__init__(f"这篇心得已经提交过了（编号 {existing.id}），不用重复发送。")
        self.existing = existing


def clean(text: str) -> str:
    return _CONTROL.sub("", text).strip()


def counted_length(text: str) -> int:
    return len(similarity.words_only(text))


def check_length(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise TooLong(len(text))
    if (n := counted_length(text)) < MIN_LENGTH:
        raise TooShort(n)


async def _candidates(member: Member, unit_id: str | None) -> list[tuple[str, str]]:
    """Earlier submissions it might copy: the branch's and those on the same unit."""
    rows: dict[int, str] = {}
    # The whole branch's, its groups' included (a deed is counted for the member's group).
    home = await Organisation.get(id=member.organisation_id)
    queries = [Submission.filter(under(home.path))]
    if unit_id:
        queries.append(Submission.filter(unit_id=unit_id))
    for query in queries:
        for sid, content, owner, status in (
            await query.order_by("-id")
            .limit(COMPARED)
            .values_list("id", "content", "member_id", "status")
        ):
            # A member's own returned 心得 is what they are revising now: not a copy.
            if not (owner == member.id and status == SubmissionStatus.RETURNED):
                rows[sid] = content
    return [(f"submission:{sid}", content) for sid, content in rows.items()]


async def submit(
    member: Member,
    text: str,
    today: date,
    corpus: Sequence[Unit],
    *,
    via: str = "text",
    unit_id: str | None = None,
    copy_threshold: float = 0.6,
    meeting_id: int | None = None,
    now: datetime | None = None,
) -> Submission:
    """`meeting_id`: a 流动党员's 心得 on that meeting's topic, in place of being there
    (`meetings.afar`); checked at `now` before anything else, so a refusal says why at once."""
    if meeting_id is not None:
        if now is None:
            raise ValueError("a meeting's 心得 is checked at a moment: pass now")
        await afar.writable(member, meeting_id, now)
    text = clean(text)
    check_length(text)
    digest = hashlib.sha256(similarity.words_only(text).encode()).hexdigest()
    if existing := await Submission.get_or_none(member_id=member.id, digest=digest):
        if existing.status == SubmissionStatus.RETURNED and await _reopen(
            existing, today, meeting_id
        ):
            return existing  # sent back by mistake, or for a reason the member has answered
        raise AlreadySubmitted(existing)
    earlier = similarity.closest(text, await _candidates(member, unit_id))
    units = similarity.closest(text, [(f"unit:{u.id}", u.body) for u in corpus], cached=True)
    best = max((r for r in (earlier, units) if r), key=lambda r: r.score, default=None)
    flagged = best is not None and best.score >= copy_threshold
    try:
        return await Submission.create(
            member_id=member.id,
            organisation_id=counted_in(member),
            day=today,
            content=text,
            length=counted_length(text),
            digest=digest,
            via=via,
            unit_id=unit_id,
            meeting_id=meeting_id,
            resembles=best.label if flagged and best else None,
            similarity=round(best.score, 3) if flagged and best else None,
        )
    except IntegrityError:
        # The same text from a second process or a double tap a moment ago.
        raise AlreadySubmitted(await Submission.get(member_id=member.id, digest=digest)) from None


async def _reopen(submission: Submission, today: date, meeting_id: int | None = None) -> bool:
    """A returned 心得 handed in again word for word goes back to the queue as of today (for
    the meeting it is now sent for, if one is named)."""
    meeting: dict[str, int] = {"meeting_id": meeting_id} if meeting_id is not None else {}
    reopened = await Submission.filter(id=submission.id, status=SubmissionStatus.RETURNED).update(
        status=SubmissionStatus.PENDING,
        day=today,
        reviewer_id=None,
        reviewed_at=None,
        return_reason=None,
        notified_at=None,
        **meeting,
    )
    if reopened:
        await touched(submission.day)  # it leaves its old day for today
        await submission.refresh_from_db()
    return bool(reopened)


async def counts_by_status(member: Member) -> dict[SubmissionStatus, int]:
    counts = dict.fromkeys(SubmissionStatus, 0)
    statuses = await Submission.filter(member_id=member.id).values_list("status", flat=True)
    for status in cast("list[str]", statuses):  # flat=True: values, typed as tuples by Tortoise
        counts[SubmissionStatus(status)] += 1
    return counts


async def mine(
    member: Member, limit: int = 10
) -> tuple[list[Submission], dict[SubmissionStatus, int]]:
    """This member's latest submissions and how many they have in each status."""
    latest = await Submission.filter(member_id=member.id).order_by("-id").limit(limit)
    return latest, await counts_by_status(member)


# --- review by the branch ---------------------------------------------------------------


async def _scope(reviewer: Member) -> str:
    org = await Organisation.get(id=reviewer.organisation_id)
    return org.path


def queue(
    reviewer: Member, scope: Q, status: SubmissionStatus = SubmissionStatus.PENDING
) -> QuerySet[Submission]:
    """The 心得 a reviewer sees in `scope` (rows of their organisation and beneath): pending ones
    oldest first, so nobody waits forever, the rest newest first; their own are for someone
    else.  Chat lists the first few, the API pages through them."""
    return (
        Submission.filter(scope, status=status)
        .exclude(member_id=reviewer.id)
        .order_by("id" if status == SubmissionStatus.PENDING else "-id")
        .prefetch_related("member")
    )


async def pending_for(reviewer: Member, limit: int = 10) -> tuple[list[Submission], int]:
    pending = queue(reviewer, under(await _scope(reviewer)))
    return await pending.limit(limit), await pending.count()


async def find_for_review(reviewer: Member, number: int) -> Submission:
    """The submission numbered `number` if it is in the reviewer's organisation.

    Outside it, the answer is the same as for a number that does not exist: a secretary learns
    nothing about other branches.
    """
    found = (
        await Submission.filter(under(await _scope(reviewer)), id=number)
        .prefetch_related("member")
        .first()
    )
    if found is None:
        raise NotFound(f"没有找到编号为 {number} 的心得。", code="SUBMISSION_NOT_FOUND")
    if found.member_id == reviewer.id:
        raise PermissionDenied("不能审核自己提交的心得，请由支部其他负责同志审核。")
    return found


@dataclass(frozen=True)
class NearCopy:
    """What a 心得 resembles, as its reviewer may know it: a study unit, a 心得 they may open,
    or one elsewhere — another organisation's, which is not named (its number would tell)."""

    kind: str  # "unit", "submission" or "elsewhere"
    similarity: float | None
    unit_id: str | None = None
    submission_id: int | None = None


async def near_copies(reviewer: Member, items: Sequence[Submission]) -> dict[int, NearCopy]:
    """The flags of these 心得 for this reviewer, by submission id (none: not flagged)."""
    labels = {s.id: s.resembles.partition(":") for s in items if s.resembles}
    pointed = [int(n) for kind, _, n in labels.values() if kind == "submission" and n.isdigit()]
    visible = await visible_ids(reviewer, pointed)
    flags: dict[int, NearCopy] = {}
    for s in items:
        if s.id not in labels:
            continue
        kind, _, what = labels[s.id]
        if kind == "unit":
            flags[s.id] = NearCopy("unit", s.similarity, unit_id=what)
        elif what.isdigit() and int(what) in visible:
            flags[s.id] = NearCopy("submission", s.similarity, submission_id=int(what))
        else:
            flags[s.id] = NearCopy("elsewhere", s.similarity)
    return flags


async def visible_ids(reviewer: Member, ids: Sequence[int]) -> set[int]:
    """Which of these submissions the reviewer may see: a flag may point outside their scope."""
    if not ids:
        return set()
    query = Submission.filter(under(await _scope(reviewer)), id__in=list(ids))
    return set(cast("list[int]", await query.values_list("id", flat=True)))  # flat: ids


# Who decides a 心得 (通过, 退回): the member's own branch leaders, in chat and in the API alike.
# Staff and admins see every 心得 of their scope but do not judge a branch's members for it.
REVIEWERS = BRANCH_LEADERS


def may_decide(reviewer: Member) -> bool:
    return reviewer.status == MemberStatus.ACTIVE and reviewer.role in REVIEWERS


async def _decide(
    reviewer: Member, number: int, status: SubmissionStatus, now: datetime, reason: str | None
) -> Submission:
    if not may_decide(reviewer):
        raise PermissionDenied("只有本支部的书记、副书记可以审核心得。")
    found = await find_for_review(reviewer, number)
    # Only a pending submission changes, in one statement: two reviewers at once, one wins.
    changed = await Submission.filter(id=found.id, status=SubmissionStatus.PENDING).update(
        status=status, reviewer_id=reviewer.id, reviewed_at=now, return_reason=reason
    )
    if not changed:
        await found.refresh_from_db()
        label = "通过" if found.status == SubmissionStatus.APPROVED else "退回"
        raise Conflict(f"编号 {number} 的心得已经审核过了（已{label}）。", code="ALREADY_REVIEWED")
    await found.refresh_from_db()
    await touched(found.day)  # its day's approved / returned counts changed
    return found


@dataclass(frozen=True)
class Approval:
    submission: Submission
    points: int
    # A 流动党员's 心得 for a meeting: approving it counted them present there, by 心得.
    attended: bool = False


async def approve(
    reviewer: Member, number: int, now: datetime, today: date, rules: PointsRules
) -> Approval:
    # The decision, its points and (for a meeting's 心得) the attendance it earns, together:
    # never approved without them.
    async with in_transaction():
        submission = await _decide(reviewer, number, SubmissionStatus.APPROVED, now, None)
        author = await Member.get(id=submission.member_id)
        points = await award(
            author,
            PointsReason.SUBMISSION,
            f"submission:{submission.id}",
            rules.submission,
            today,
            rules,
        )
        attended = await afar.count_writing(submission, reviewer)
    return Approval(submission, points, attended)


async def return_for_revision(
    reviewer: Member, number: int, reason: str, now: datetime
) -> Submission:
    reason = clean(reason)
    if not reason:
        raise ValidationFailed(
            f"请写明退回的原因，例如：退回 {number} 请结合本支部实际再谈谈体会", field="reason"
        )
    if len(reason) > REASON_MAX:
        raise ValidationFailed(f"退回原因最多 {REASON_MAX} 字，请精简一些。", field="reason")
    return await _decide(reviewer, number, SubmissionStatus.RETURNED, now, reason)


async def mark_notified(submission: Submission, now: datetime) -> None:
    await Submission.filter(id=submission.id).update(notified_at=now)
