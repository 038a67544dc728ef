"""Secretaries review 心得 in the mini-program: the list with near-copy flags, 通过, 退回."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from pydantic import Field

from server.api import replies
from server.api.leaders import hidden_if_refused, leader_scope
from server.api.spec import Call, Input, PageQuery, Routes, iso, page_of
from server.models.study import Submission, SubmissionStatus
from server.services.study import review_notice, submissions
from server.services.study.submissions import NearCopy

routes = Routes("支部管理：心得审核")


# --- 心得 review -------------------------------------------------------------------------------


class ReviewQuery(PageQuery):
    status: SubmissionStatus = Field(
        SubmissionStatus.PENDING, description="pending、approved 或 returned"
    )


def _near_copy(flag: NearCopy | None, titles: dict[str, str]) -> dict[str, Any] | None:
    if flag is None:
        return None
    found: dict[str, Any] = {"kind": flag.kind, "similarity": flag.similarity}
    if flag.kind == "unit":
        found.update(unit_id=flag.unit_id, title=titles.get(flag.unit_id or "", flag.unit_id))
    elif flag.kind == "submission":
        found["submission_id"] = flag.submission_id
    return found


def submission_json(
    s: Submission,
    titles: dict[str, str],
    flag: NearCopy | None,
    zone: tzinfo,
    full: bool = False,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": s.id,
        "member": {"id": s.member.id, "name": s.member.name},
        "day": s.day.isoformat(),
        "length": s.length,
        "status": SubmissionStatus(s.status).value,
        "near_copy": _near_copy(flag, titles),
        "excerpt": " ".join(s.content.split())[:60],
    }
    if full:
        found.update(
            content=s.content,
            unit_id=s.unit_id,
            return_reason=s.return_reason,
            reviewed_at=iso(s.reviewed_at, zone),
        )
    return found


def _titles(call: Call[Any]) -> dict[str, str]:
    return {u.id: u.title for u in call.deps.corpus}


@routes.get(
    "/review/submissions",
    response=replies.Page[replies.ForReview],
    summary="待审核（或已审核）的心得",
    query=ReviewQuery,
)
async def review_list(call: Call[Any]) -> dict[str, Any]:
    """管辖范围内其他党员的心得；待审核的先交的在前，其余最新的在前。near_copy 标出雷同。"""
    scope = leader_scope(call)
    status = call.query.status
    query = submissions.queue(call.member, scope.filter(), status)
    titles = _titles(call)
    page = await page_of(query, call.query, lambda s: s)
    flags = await submissions.near_copies(call.member, page["items"])
    page["items"] = [submission_json(s, titles, flags.get(s.id), call.zone) for s in page["items"]]
    return page


async def _submission(call: Call[Any]) -> Submission:
    leader_scope(call)
    with hidden_if_refused():
        return await submissions.find_for_review(call.member, call.number("id"))


@routes.get("/review/submissions/{id}", response=replies.ForReview, summary="一篇心得的全文")
async def review_show(call: Call[Any]) -> dict[str, Any]:
    found = await _submission(call)
    flags = await submissions.near_copies(call.member, [found])
    item = submission_json(found, _titles(call), flags.get(found.id), call.zone, full=True)
    return item


@routes.post(
    "/review/submissions/{id}/approve",
    response=replies.Reviewed,
    summary="通过一篇心得（本人收到通知）",
)
async def review_approve(call: Call[Any]) -> dict[str, Any]:
    """已审核过的返回 409。notified 为 false：本人不在 48 小时互动窗口内，
    会在「我的心得」中看到结果。"""
    found = await _submission(call)
    clock = call.deps.clock
    clients = call.deps.wechat_clients
    with hidden_if_refused():
        done = await review_notice.approve(
            call.member, found.id, clock.now(), clock.today(), call.deps.points_rules, clients
        )
    s, told = done.submission, done.notified
    s.member = found.member
    # The points are the author's own: the reviewer is not shown them.
    flags = await submissions.near_copies(call.member, [s])
    shown = submission_json(s, _titles(call), flags.get(s.id), call.zone)
    return {"submission": shown, "notified": told}


class Return(Input):
    reason: str = Field(
        min_length=1, max_length=submissions.REASON_MAX, description="退回原因（本人会看到）"
    )


@routes.post(
    "/review/submissions/{id}/return",
    response=replies.Reviewed,
    summary="退回一篇心得（写明原因）",
    body=Return,
)
async def review_return(call: Call[Any]) -> dict[str, Any]:
    found = await _submission(call)
    clients = call.deps.wechat_clients
    with hidden_if_refused():
        done = await review_notice.send_back(
            call.member, found.id, call.body.reason, call.deps.clock.now(), clients
        )
    s, told = done.submission, done.notified
    s.member = found.member
    flags = await submissions.near_copies(call.member, [s])
    shown = submission_json(s, _titles(call), flags.get(s.id), call.zone)
    return {"submission": shown, "notified": told}
