"""A member's 心得 in the mini-program: hand one in, list them, read one with its review.

Another member's 心得 is refused exactly like one that does not exist (`Hidden`).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from pydantic import Field

from server.api import replies
from server.api.corpus_refs import UNIT_ID, unit_ref, units_of
from server.api.spec import Call, Id, Input, PageQuery, Routes, iso, page_of
from server.errors import NotFound, ValidationFailed
from server.models.study import (
    SUBMISSION_STATUS_LABELS,
    Submission,
    SubmissionStatus,
)
from server.services.people.access import Hidden
from server.services.study import submissions
from study_content.corpus import Unit

routes = Routes("党员：心得")

EXCERPT = 60  # characters of a 心得 in the list


# --- 心得 ----------------------------------------------------------------------------------


class NewSubmission(Input):
    # The service says, in Chinese, how long a 心得 may be; this bound only stops a flood.
    text: str = Field(
        max_length=2 * submissions.MAX_LENGTH,
        description=f"心得正文，{submissions.MIN_LENGTH}–{submissions.MAX_LENGTH} 字",
    )
    unit_id: str | None = Field(
        None, pattern=UNIT_ID.pattern, description="所谈的学习内容编号（可选）"
    )
    meeting_id: Id | None = Field(
        None,
        description=(
            "流动党员就某次会议的主题交心得代替参会时，会议编号（可选）：须在会议名单上，"
            "会议开始后至结束后 7 天内；支部审核通过后计为以心得参加"
        ),
    )


def _submission_json(
    s: Submission, units: dict[str, Unit], zone: tzinfo, *, full: bool
) -> dict[str, Any]:
    unit = units.get(s.unit_id) if s.unit_id else None
    text = s.content if full or len(s.content) <= EXCERPT else s.content[:EXCERPT] + "…"
    return {
        "id": s.id,
        "status": s.status.value,
        "status_label": SUBMISSION_STATUS_LABELS[s.status],
        "day": s.day.isoformat(),
        "length": s.length,
        "unit": unit_ref(unit) if unit else None,
        "meeting_id": s.meeting_id,
        ("text" if full else "excerpt"): text,
        "return_reason": s.return_reason,
        "reviewed_at": iso(s.reviewed_at, zone),
        "created_at": iso(s.created_at, zone),
    }


@routes.post(
    "/submissions", response=replies.MySubmission, summary="提交心得体会", body=NewSubmission
)
async def hand_in(call: Call[Any]) -> dict[str, Any]:
    """太短或太长回答 400（field 为 text）；同一篇重复提交回答 409。

    被退回的心得原文再次提交，会重新进入审核。带 meeting_id 时：不是流动党员回答 403，
    会议不存在或看不到回答 400（field 为 meeting_id），不在名单上、会议未开始、已超过 7 天、
    已计入出勤或已交过这次会议的心得回答 409。"""
    units = units_of(call)
    unit_id = call.body.unit_id
    if unit_id is not None and unit_id not in units:
        raise ValidationFailed("没有这篇学习内容", field="unit_id")
    try:
        found = await submissions.submit(
            call.member,
            call.body.text,
            call.deps.clock.today(),
            call.deps.corpus,
            unit_id=unit_id,
            copy_threshold=call.deps.settings.copy_threshold,
            meeting_id=call.body.meeting_id,
            now=call.deps.clock.now(),
        )
    except NotFound:  # only a meeting is looked up: another branch's is no different
        raise ValidationFailed(
            f"没有找到编号为 {call.body.meeting_id} 的会议。", field="meeting_id"
        ) from None
    except submissions.TooShort as exc:
        raise ValidationFailed(
            f"心得至少需要 {submissions.MIN_LENGTH} 个字（不算空格、标点和表情），"
            f"这次只有 {exc.length} 个字。",
            field="text",
        ) from None
    except submissions.TooLong as exc:
        raise ValidationFailed(
            f"心得最多 {submissions.MAX_LENGTH} 字，这次有 {exc.length} 字。", field="text"
        ) from None
    return _submission_json(found, units, call.zone, full=True)


class SubmissionsQuery(PageQuery):
    status: SubmissionStatus | None = Field(None, description="pending / approved / returned")


@routes.get(
    "/submissions",
    response=replies.Page[replies.MySubmission],
    summary="我的心得（最新的在前）",
    query=SubmissionsQuery,
)
async def my_submissions(call: Call[Any]) -> dict[str, Any]:
    query = Submission.filter(member_id=call.member.id)
    if call.query.status is not None:
        query = query.filter(status=call.query.status.value)
    units, zone = units_of(call), call.zone
    return await page_of(
        query.order_by("-id"), call.query, lambda s: _submission_json(s, units, zone, full=False)
    )


@routes.get(
    "/submissions/{id}", response=replies.MySubmission, summary="我的一篇心得：全文与审核结果"
)
async def my_submission(call: Call[Any]) -> dict[str, Any]:
    found = await Submission.get_or_none(id=call.number("id"), member_id=call.member.id)
    if found is None:
        raise Hidden()
    return _submission_json(found, units_of(call), call.zone, full=True)
