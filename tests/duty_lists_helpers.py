"""A street for the 五张清单 stories: the committee's staff member 白辉, two communities' general
branches with a branch each, their secretaries, a member who owns nothing, and a member of
another street (who may never be named 责任人 here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from server.channels import Channel
from server.models.duty_lists import DutySource
from server.models.people import Member, Organisation, Role, WeChatIdentity
from server.services.duty_lists import items
from server.services.duty_lists.items import Draft
from tests.conftest import APPID, make_branch, make_member

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Wednesday
TODAY = date(2026, 11, 25)
COMMITTEE = "示范街道党工委"
EAST = f"{COMMITTEE}/东社区党总支"
ONE = f"{EAST}/东社区第一党支部"
WEST = f"{COMMITTEE}/西社区党总支/西社区第一党支部"
ELSEWHERE = "另一街道党工委/某社区党总支/某社区第一党支部"


@dataclass
class Street:
    committee: Organisation
    east: Organisation  # 东社区党总支
    one: Organisation  # 东社区第一党支部
    west: Organisation  # 西社区第一党支部
    staff: Member  # 白辉, 党工委工作人员
    east_secretary: Member  # 钱总支书记
    one_secretary: Member  # 李书记
    west_secretary: Member  # 周书记
    owner: Member  # 陈委员, a 支委委员 named 责任人 of one item
    plain: Member  # 孙群: owns nothing
    stranger: Member  # of another street


async def bind(member: Member, openid: str) -> None:
    await WeChatIdentity.create(
        appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
    )


async def street() -> Street:
    one, west = await make_branch(ONE), await make_branch(WEST)
    east = await Organisation.get(path=EAST)
    committee = await Organisation.get(path=COMMITTEE)
    other = await make_branch(ELSEWHERE)
    return Street(
        committee=committee,
        east=east,
        one=one,
        west=west,
        staff=await make_member("白辉", "13900000001", role=Role.STAFF, org=committee),
        east_secretary=await make_member(
            "钱总支书记", "13900000002", role=Role.GENERAL_SECRETARY, org=east
        ),
        one_secretary=await make_member("李书记", "13900000003", role=Role.SECRETARY, org=one),
        west_secretary=await make_member("周书记", "13900000004", role=Role.SECRETARY, org=west),
        owner=await make_member("陈委员", "13900000005", role=Role.COMMITTEE_MEMBER, org=one),
        plain=await make_member("孙群", "13900000006", org=one),
        stranger=await make_member("外街道", "13900000007", org=other),
    )


def draft(**kw: Any) -> Draft:
    values: dict[str, Any] = {
        "problem": "部分支部“三会一课”记录不规范",
        "task": "规范“三会一课”台账",
        "measures": "逐支部检查台账，集中培训支部书记，年底前复查",
        "deadline": date(2026, 12, 31),
        "year": 2026,
        "source": DutySource.INSPECTION,
    }
    values.update(kw)
    return Draft(**values)


async def make_item(s: Street, now: datetime = NOW, today: date = TODAY, **kw: Any) -> Any:
    return await items.create(s.staff, s.committee, draft(**kw), now, today)
