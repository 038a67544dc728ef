"""A member's own pages in the mini-program: 我的, 打卡, 学习, 答题, 心得, 会议 and 订阅消息.

Thin over the services the chat uses.  Everything here is the caller's own: another member's
quiz, 心得 or meeting is refused exactly like one that does not exist (`Hidden`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from server.activity import (
    SUBMISSION_STATUS_LABELS,
    CheckIn,
    QuizAnswer,
    QuizAttempt,
    Submission,
    SubmissionStatus,
)
from server.api.auth import member_json
from server.api.spec import Call, Input, PageQuery, Routes, iso, not_found, page_of
from server.errors import Conflict, NotFound, ValidationFailed
from server.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    after_the_end,
)
from server.models import Member
from server.notices import SubscribeGrant
from server.services import attendance, meetings, quiz, study, submissions
from server.services.access import Hidden
from server.services.checkin import check_in
from server.services.points import PointsRules
from server.services.record import my_record
from server.typedefs import CACHE, CLOCK, CORPUS, CORPUS_INDEX, SETTINGS
from study_content.corpus import LETTERS, Question, Unit
from study_content.retrieval import MAX_QUESTION

routes = Routes("党员")

UNIT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")  # as study_content.corpus checks unit ids
TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SUBSCRIBE_RESULTS = frozenset({"accept", "reject", "ban", "filter"})
MAX_TEMPLATES = 20
EXCERPT = 60  # characters of a 心得 in the list


def _rules(call: Call[Any]) -> PointsRules:
    return PointsRules.from_settings(call.app[SETTINGS])


def _units(call: Call[Any]) -> dict[str, Unit]:
    return {unit.id: unit for unit in call.app[CORPUS]}


def _unit_ref(unit: Unit) -> dict[str, Any]:
    return {"id": unit.id, "title": unit.title, "source": unit.source}


# --- 我的 and 打卡 ------------------------------------------------------------------------


@routes.get("/profile", summary="我的：身份、打卡、积分与星级、心得和今年的会议")
async def profile(call: Call[Any]) -> dict[str, Any]:
    """积分只有本人能看到；`points.last_12_months` 决定星级（滚动 12 个月）。"""
    clock, member = call.app[CLOCK], call.member
    today = clock.today()
    year_start = datetime(today.year, 1, 1, tzinfo=clock.zone)
    r = await my_record(member, today, _rules(call), year_start, clock.now())
    return {
        "member": member_json(member),
        "today": today.isoformat(),
        "check_in": {
            "today": await CheckIn.exists(member_id=member.id, day=today),
            "month_days": r.check_ins_this_month,
            "streak": r.streak,
        },
        "readings_this_month": r.readings_this_month,
        "points": {
            "this_month": r.points_this_month,
            "last_12_months": r.points_12_months,
            "star": r.star,
        },
        "submissions": {status.value: n for status, n in r.submissions.items()},
        "meetings_this_year": r.meetings,
    }


@routes.post("/checkin", summary="今日打卡（一天一次，重复调用返回同一天）")
async def daily_check_in(call: Call[Any]) -> dict[str, Any]:
    today = call.app[CLOCK].today()
    result = await check_in(call.member, today, _rules(call))
    return {
        "day": today.isoformat(),
        "already": not result.first_today,
        "streak": result.streak,
        "month_days": result.month_days,
        "points_awarded": result.points_awarded,
        "points_today": result.points_today,
    }


# --- 学习 and 问答 ------------------------------------------------------------------------


async def _read(call: Call[Any], unit: Unit) -> dict[str, Any]:
    counted = await study.record_reading(call.member, unit, call.app[CLOCK].today(), _rules(call))
    return {
        "unit": {**_unit_ref(unit), "tags": list(unit.tags), "text": unit.body},
        "counted": counted,
    }


@routes.get("/study/today", summary="今日学习：今天的学习内容（记一次学习）")
async def todays_unit(call: Call[Any]) -> dict[str, Any]:
    """与聊天中的「今日学习」同一篇；`text` 为 Markdown 全文；`counted` 表示这次新记了学习。"""
    unit = await study.todays_unit(call.member, call.app[CORPUS], call.app[CLOCK].today())
    return await _read(call, unit)


@routes.get(
    "/study/units/{unit_id}", summary="阅读一篇学习内容（记一次学习）", text_params=("unit_id",)
)
async def read_unit(call: Call[Any]) -> dict[str, Any]:
    """学习内容是公开资料：编号格式不对回答 400，不存在回答 404。"""
    unit_id = call.request.match_info["unit_id"]
    if not UNIT_ID.match(unit_id):
        raise ValidationFailed("unit_id 应为小写字母、数字和 -（2–64 位）", field="unit_id")
    unit = _units(call).get(unit_id)
    if unit is None:
        raise not_found("学习内容")
    return await _read(call, unit)


class SearchQuery(Input):
    q: str = Field(min_length=1, max_length=MAX_QUESTION, description="问题，1–200 字")
    limit: int = Field(3, ge=1, le=10, description="最多返回几段，1–10")


@routes.get("/study/search", summary="从学习资料中找答案（摘录原文并注明出处）", query=SearchQuery)
async def search(call: Call[Any]) -> dict[str, Any]:
    """只摘录原文，从不编写答案；没有足够相关的内容时 `items` 为空，并给出可以问的主题。"""
    index = call.app[CORPUS_INDEX]
    found = index.search(call.query.q, limit=call.query.limit)
    return {
        "q": call.query.q,
        "items": [
            {"unit": _unit_ref(p.unit), "text": p.text, "score": round(p.score, 3)} for p in found
        ],
        "topics": [] if found else index.topics(),
    }


# --- 答题 ----------------------------------------------------------------------------------


def _question(attempt: QuizAttempt, position: int, units: dict[str, Unit]) -> tuple[Unit, Question]:
    unit_id, _ = attempt.questions[position]
    if unit_id not in units:
        raise Conflict("这次答题的题目已经更新，请重新开始答题。")
    return quiz.question_at(attempt, position, list(units.values()))


async def _attempt_json(attempt: QuizAttempt, units: dict[str, Unit]) -> dict[str, Any]:
    answers = {
        a.position: a.correct
        for a in await QuizAnswer.filter(attempt_id=attempt.id).order_by("position")
    }
    questions = []
    for position in range(len(attempt.questions)):
        unit, question = _question(attempt, position, units)
        item: dict[str, Any] = {
            "position": position,
            "topic": quiz.topic(unit),
            "unit": _unit_ref(unit),
            "question": question.question,
            "choices": [{"letter": LETTERS[i], "text": c} for i, c in enumerate(question.choices)],
        }
        if position in answers:  # answered: the right answer and why, as the chat tells it
            item.update(
                correct=answers[position], answer=question.answer, explanation=question.explanation
            )
        questions.append(item)
    return {
        "id": attempt.id,
        "day": attempt.day.isoformat(),
        "total": len(attempt.questions),
        "answered": len(answers),
        "score": sum(answers.values()),
        "finished": attempt.finished_at is not None,
        "finished_at": iso(attempt.finished_at),
        "questions": questions,
    }


async def _own_attempt(call: Call[Any]) -> QuizAttempt:
    attempt = await QuizAttempt.get_or_none(id=call.number("id"), member_id=call.member.id)
    if attempt is None:
        raise Hidden()
    return attempt


@routes.post("/quiz", summary="开始答题：五道题，薄弱主题优先（不含答案）")
async def start_quiz(call: Call[Any]) -> dict[str, Any]:
    attempt = await quiz.start_quiz(call.member, call.app[CORPUS], call.app[CLOCK].today())
    return await _attempt_json(attempt, _units(call))


@routes.get("/quiz/{id}", summary="我的一次答题：进度与得分")
async def show_quiz(call: Call[Any]) -> dict[str, Any]:
    return await _attempt_json(await _own_attempt(call), _units(call))


class Answer(Input):
    position: int = Field(
        strict=True, ge=0, le=quiz.QUESTIONS_PER_QUIZ - 1, description="第几题，从 0 开始"
    )
    choice: Literal["A", "B", "C", "D"] = Field(description="所选答案 A–D")


@routes.post("/quiz/{id}/answers", summary="回答一道题（按顺序作答）", body=Answer)
async def answer_question(call: Call[Any]) -> dict[str, Any]:
    """按顺序作答，每题一次；答完最后一题时计分并发放积分（`points`）。"""
    attempt = await _own_attempt(call)
    units = _units(call)
    position, choice = call.body.position, call.body.choice
    if attempt.finished_at is not None:
        raise Conflict("这次答题已经结束，可以重新开始一轮。")
    if position >= len(attempt.questions):
        raise ValidationFailed(f"这次答题只有 {len(attempt.questions)} 题", field="position")
    answered = await QuizAnswer.filter(attempt_id=attempt.id).count()
    if position < answered:
        raise Conflict("这道题已经作答过了。")
    if position > answered:
        raise ValidationFailed(f"请按顺序作答，下一题是第 {answered} 题", field="position")
    _, question = _question(attempt, position, units)
    if choice not in LETTERS[: len(question.choices)]:
        raise ValidationFailed(f"这道题只有 A–{LETTERS[len(question.choices) - 1]}", field="choice")
    clock = call.app[CLOCK]
    result = await quiz.answer(
        attempt, position, choice, list(units.values()), clock.now(), clock.today(), _rules(call)
    )
    return {
        "position": position,
        "correct": result.correct,
        "answer": result.right_letter,
        "explanation": result.explanation,
        "score": await QuizAnswer.filter(attempt_id=attempt.id, correct=True).count(),
        "answered": position + 1,
        "total": len(attempt.questions),
        "finished": result.finished,
        "points": result.points,
    }


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


def _submission_json(s: Submission, units: dict[str, Unit], *, full: bool) -> dict[str, Any]:
    unit = units.get(s.unit_id) if s.unit_id else None
    text = s.content if full or len(s.content) <= EXCERPT else s.content[:EXCERPT] + "…"
    return {
        "id": s.id,
        "status": s.status.value,
        "status_label": SUBMISSION_STATUS_LABELS[s.status],
        "day": s.day.isoformat(),
        "length": s.length,
        "unit": _unit_ref(unit) if unit else None,
        ("text" if full else "excerpt"): text,
        "return_reason": s.return_reason,
        "reviewed_at": iso(s.reviewed_at),
        "created_at": iso(s.created_at),
    }


@routes.post("/submissions", summary="提交心得体会", body=NewSubmission)
async def hand_in(call: Call[Any]) -> dict[str, Any]:
    """太短或太长回答 400（field 为 text）；同一篇重复提交回答 409。

    被退回的心得原文再次提交，会重新进入审核。"""
    units = _units(call)
    unit_id = call.body.unit_id
    if unit_id is not None and unit_id not in units:
        raise ValidationFailed("没有这篇学习内容", field="unit_id")
    try:
        found = await submissions.submit(
            call.member,
            call.body.text,
            call.app[CLOCK].today(),
            call.app[CORPUS],
            unit_id=unit_id,
            copy_threshold=call.app[SETTINGS].copy_threshold,
        )
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
    return _submission_json(found, units, full=True)


class SubmissionsQuery(PageQuery):
    status: SubmissionStatus | None = Field(None, description="pending / approved / returned")


@routes.get("/submissions", summary="我的心得（最新的在前）", query=SubmissionsQuery)
async def my_submissions(call: Call[Any]) -> dict[str, Any]:
    query = Submission.filter(member_id=call.member.id)
    if call.query.status is not None:
        query = query.filter(status=call.query.status.value)
    units = _units(call)
    return await page_of(
        query.order_by("-id"), call.query, lambda s: _submission_json(s, units, full=False)
    )


@routes.get("/submissions/{id}", summary="我的一篇心得：全文与审核结果")
async def my_submission(call: Call[Any]) -> dict[str, Any]:
    found = await Submission.get_or_none(id=call.number("id"), member_id=call.member.id)
    if found is None:
        raise Hidden()
    return _submission_json(found, _units(call), full=True)


# --- 会议 ----------------------------------------------------------------------------------


async def _visible_meeting(call: Call[Any]) -> Meeting:
    """Meeting {id} if the member may see it; another branch's and a missing one alike: Hidden."""
    try:
        return await meetings.visible(call.member, call.number("id"))
    except NotFound:
        raise Hidden() from None


def _meeting_json(m: Meeting, mine: MeetingAttendee | None, now: datetime) -> dict[str, Any]:
    state = None
    if mine is not None:
        value = mine.attendance.value
        over = now > m.ends_at and m.status != MeetingStatus.CANCELLED
        if over and mine.role == AttendeeRole.EXPECTED:
            value = after_the_end(value)  # undecided after the end is absent
        state = {
            "role": mine.role.value,
            "attendance": value,
            "reason": mine.reason,
            "signed_at": iso(mine.signed_at),
        }
    live = m.status != MeetingStatus.CANCELLED
    # As ask_leave decides: expected or invited, before the start, not signed in already.
    may_leave = (
        live and mine is not None and now < m.starts_at and mine.attendance != Attendance.PRESENT
    )
    return {
        "id": m.id,
        "kind": m.kind,
        "topic": m.topic,
        "place": m.place,
        "starts_at": iso(m.starts_at),
        "ends_at": iso(m.ends_at),
        "status": m.status.value,
        "organisation": {"id": m.organisation.id, "name": m.organisation.name},
        "mine": state,
        "signin_open": live and attendance.is_open(m, now),
        "may_ask_leave": may_leave,
    }


async def _mine(member: Member, ids: list[int]) -> dict[int, MeetingAttendee]:
    rows = await MeetingAttendee.filter(member_id=member.id, meeting_id__in=ids)
    return {row.meeting_id: row for row in rows}  # type: ignore[attr-defined]


async def _one_meeting(call: Call[Any], m: Meeting) -> dict[str, Any]:
    await m.fetch_related("organisation")
    mine = (await _mine(call.member, [m.id])).get(m.id)
    return _meeting_json(m, mine, call.app[CLOCK].now())


class MeetingsQuery(Input):
    limit: int = Field(10, ge=1, le=50, description="最多几场，1–50")


@routes.get(
    "/meetings", summary="近期会议（我应参加或列席的；书记看本支部的）", query=MeetingsQuery
)
async def upcoming_meetings(call: Call[Any]) -> dict[str, Any]:
    now = call.app[CLOCK].now()
    found = await meetings.upcoming(call.member, now, limit=call.query.limit)
    await Meeting.fetch_for_list(found, "organisation")
    mine = await _mine(call.member, [m.id for m in found])
    return {"items": [_meeting_json(m, mine.get(m.id), now) for m in found]}


@routes.get("/meetings/{id}", summary="会议详情与我的出勤")
async def show_meeting(call: Call[Any]) -> dict[str, Any]:
    return await _one_meeting(call, await _visible_meeting(call))


class SignIn(Input):
    code: str = Field(pattern=r"^[0-9]{6}$", description="现场的六位签到码")


@routes.post("/meetings/{id}/signin", summary="用现场的签到码签到", body=SignIn)
async def sign_in(call: Call[Any]) -> dict[str, Any]:
    """会议开始前 30 分钟至结束可签到；签到码错误次数过多会暂时锁定（与聊天中的签到共用）。"""
    meeting = await _visible_meeting(call)
    clock, settings = call.app[CLOCK], call.app[SETTINGS]
    done = await attendance.sign_in_to(
        call.member,
        meeting,
        call.body.code,
        clock.local_now(),
        clock.today(),
        settings.signin_rotation,
        call.app[CACHE],
        _rules(call),
    )
    return {"meeting": await _one_meeting(call, done.meeting), "points": done.points}


class Leave(Input):
    # The service holds the rule (200 characters, in Chinese); this bound only stops a flood.
    reason: str = Field(max_length=10 * attendance.REASON_MAX, description="请假原因，最多 200 字")


@routes.post("/meetings/{id}/leave", summary="会议开始前请假", body=Leave)
async def ask_leave(call: Call[Any]) -> dict[str, Any]:
    meeting = await _visible_meeting(call)
    meeting = await attendance.ask_leave(
        call.member, meeting.id, call.body.reason, call.app[CLOCK].now()
    )
    return await _one_meeting(call, meeting)


# --- 订阅消息 ------------------------------------------------------------------------------


class Subscriptions(Input):
    results: dict[str, Any] = Field(
        description="wx.requestSubscribeMessage 的结果对象：模板 ID → accept/reject/ban/filter"
    )


def _checked(results: dict[str, Any]) -> dict[str, str]:
    # WeChat's result object carries its errMsg beside the templates: passed on as it is.
    results = {k: v for k, v in results.items() if k != "errMsg"}
    if len(results) > MAX_TEMPLATES:
        raise ValidationFailed(f"一次最多 {MAX_TEMPLATES} 个模板", field="results")
    for template_id, value in results.items():
        if not TEMPLATE_ID.match(template_id):
            raise ValidationFailed("模板 ID 应为 1–64 位字母、数字、_ 或 -", field="results")
        if value not in SUBSCRIBE_RESULTS:
            raise ValidationFailed(
                "取值应为 accept、reject、ban 或 filter", field=f"results.{template_id}"
            )
    return results


async def _grants(call: Call[Any]) -> dict[str, Any]:
    rows = await SubscribeGrant.filter(member_id=call.member.id, remaining__gt=0).order_by(
        "template_id"
    )
    return {
        "meeting_template": call.app[SETTINGS].subscribe_template,
        "grants": [{"template_id": g.template_id, "remaining": g.remaining} for g in rows],
    }


@routes.post("/subscriptions", summary="记下订阅消息授权（每次接受可收一条）", body=Subscriptions)
async def subscribe(call: Call[Any]) -> dict[str, Any]:
    """直接提交 wx.requestSubscribeMessage 的结果对象（其中的 errMsg 会被忽略）。
    每个 accept 的模板增加一次可发送的次数；其余结果只在 `ignored` 中报告。"""
    results = _checked(call.body.results)
    accepted = sorted(t for t, v in results.items() if v == "accept")
    if accepted:
        member_id = call.member.id
        async with in_transaction():
            # A row for each template first (kept if there), then one UPDATE adds the grants:
            # two taps at once both count, and nothing is counted twice.
            await SubscribeGrant.bulk_create(
                [SubscribeGrant(member_id=member_id, template_id=t, remaining=0) for t in accepted],
                ignore_conflicts=True,
            )
            await SubscribeGrant.filter(member_id=member_id, template_id__in=accepted).update(
                remaining=F("remaining") + 1
            )
    return {
        "accepted": accepted,
        "ignored": {t: v for t, v in sorted(results.items()) if v != "accept"},
        **await _grants(call),
    }


@routes.get("/subscriptions", summary="我的订阅消息授权（剩余可收条数）")
async def my_subscriptions(call: Call[Any]) -> dict[str, Any]:
    return await _grants(call)
