"""A member's own record in the mini-program: 我的, 打卡 and 订阅消息 grants.

Everything here is the caller's own.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import Field
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from server.api import replies
from server.api.auth import member_json
from server.api.corpus_refs import points_rules
from server.api.spec import Call, Input, Routes
from server.errors import ValidationFailed
from server.models.notices import SubscribeGrant
from server.models.study import (
    CheckIn,
)
from server.services.member_stars.ledger import my_star
from server.services.member_stars.words import star_json
from server.services.study.checkin import check_in
from server.services.study.record import my_record

routes = Routes("党员：我的与打卡")

TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SUBSCRIBE_RESULTS = frozenset({"accept", "reject", "ban", "filter"})
MAX_TEMPLATES = 20


# --- 我的 and 打卡 ------------------------------------------------------------------------


@routes.get(
    "/profile", response=replies.Profile, summary="我的：身份、打卡、积分、星级、心得和今年的会议"
)
async def profile(call: Call[Any]) -> dict[str, Any]:
    """积分只有本人能看到，是本人的激励，不决定星级；`star` 是支部在民主评议时评定、
    已确认的最近一年的星级（或免评），尚未评定时 `status` 为 none。"""
    clock, member = call.deps.clock, call.member
    today = clock.today()
    year_start = datetime(today.year, 1, 1, tzinfo=clock.zone)
    r = await my_record(member, today, year_start, clock.now())
    return {
        "member": member_json(member),
        "today": today.isoformat(),
        "check_in": {
            "today": await CheckIn.exists(member_id=member.id, day=today),
            "month_days": r.check_ins_this_month,
            "streak": r.streak,
        },
        "self_study_days_this_month": r.self_study_days_this_month,
        # Off for the deployment (DANGJIAN_POINTS=false): no points for anyone.
        "points": {
            "this_month": r.points_this_month,
            "last_12_months": r.points_12_months,
        }
        if points_rules(call).enabled
        else None,
        "submissions": {status.value: n for status, n in r.submissions.items()},
        "meetings_this_year": r.meetings,
        "star": star_json((await my_star(member)).decided),
    }


@routes.post(
    "/checkin", response=replies.CheckedIn, summary="今日打卡（一天一次，重复调用返回同一天）"
)
async def daily_check_in(call: Call[Any]) -> dict[str, Any]:
    today = call.deps.clock.today()
    result = await check_in(call.member, today, points_rules(call))
    return {
        "day": today.isoformat(),
        "already": not result.first_today,
        "streak": result.streak,
        "month_days": result.month_days,
        "points_awarded": result.points_awarded,
        "points_today": result.points_today,
    }


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
        if not TEMPLATE_ID.fullmatch(template_id):
            raise ValidationFailed("模板 ID 应为 1–64 位字母、数字、_ 或 -", field="results")
        if not isinstance(value, str) or value not in SUBSCRIBE_RESULTS:
            raise ValidationFailed(
                "取值应为 accept、reject、ban 或 filter", field=f"results.{template_id}"
            )
    return results


async def _grants(call: Call[Any]) -> dict[str, Any]:
    rows = await SubscribeGrant.filter(member_id=call.member.id, remaining__gt=0).order_by(
        "template_id"
    )
    return {
        "meeting_template": call.deps.settings.subscribe_template,
        "grants": [{"template_id": g.template_id, "remaining": g.remaining} for g in rows],
    }


@routes.post(
    "/subscriptions",
    response=replies.Subscribed,
    summary="记下订阅消息授权（每次接受可收一条）",
    body=Subscriptions,
)
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


@routes.get("/subscriptions", response=replies.Grants, summary="我的订阅消息授权（剩余可收条数）")
async def my_subscriptions(call: Call[Any]) -> dict[str, Any]:
    return await _grants(call)
