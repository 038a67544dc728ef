"""流动党员 through the REST API: a secretary marks 王芳 流出 and her 联系人 keeps in touch, the
months pass on the clock, a silent member is put to the branch, searched for and — after a
支部党员大会 — her 党籍 stopped; a member from elsewhere reports in and is confirmed; the member
sees her own record and sends her 年度报告.  Then every way in that must stay shut.

Through the real HTTP server with a frozen clock: Wednesday 4 March 2026, 10:00 in Shanghai.
A refused call is followed by a look at the rows: nothing changed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from server.app import create_app
from server.channels import Channel
from server.clock import FrozenClock
from server.models.community import CommunityMessage
from server.models.meetings import Meeting, MeetingType
from server.models.mobility import (
    DuesPaid,
    FlowReason,
    LostAttempt,
    LostCase,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.people import Member, MemberStatus, Organisation, Role
from server.services.mobility import incoming
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import make_branch, make_member
from tests.mobility_helpers import quorate

NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
OTHER_BRANCH = "示范街道党工委/第一社区党总支/第一社区第二党支部"
HIDDEN = "无权访问，或该对象不存在。"
MISSING = 999_999


@dataclass
class World:
    client: TestClient
    fake: FakeWeChat
    clock: FrozenClock
    people: dict[str, Member]
    branch: Organisation
    other: Organisation
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def call(self, method: str, path: str, who: str, **kw: Any) -> tuple[int, Any]:
        if who not in self._headers:
            self._headers[who] = await signed_in(self.client, self.fake, self.people[who])
        resp = await self.client.request(method, "/api/v1" + path, headers=self._headers[who], **kw)
        body = await resp.json() if resp.content_type == "application/json" else await resp.read()
        return resp.status, body

    def travel(self, days: int) -> None:
        """Time passes; sessions last two hours, so everyone signs in again when next asked."""
        self.clock.advance(days=days)
        self._headers.clear()

    @property
    def today(self) -> date:
        return self.clock.today()


async def world(aiohttp_client: Any, make_settings: Any, fake_wechat: Any) -> World:
    clock = FrozenClock(NOW)
    settings = make_settings(identity_ttl=0, scheduler=False)
    client = await aiohttp_client(create_app(settings, clock=clock))
    branch = await make_branch()
    other = await make_branch(OTHER_BRANCH)
    committee = await Organisation.get(path="示范街道党工委")
    people = {
        "secretary": await make_member("李书记", "13700000001", role=Role.SECRETARY, org=branch),
        "committee": await make_member(
            "周委员", "13700000002", role=Role.COMMITTEE_MEMBER, org=branch
        ),
        "wang": await make_member("王芳", "13700000004", org=branch),
        "zheng": await make_member("郑七", "13700000005", org=branch),
        "liu": await make_member("刘强", "13700000006", org=branch),
        "chen": await make_member("陈明", "13700000007", org=branch),
        "zhao": await make_member("赵书记", "13700000011", role=Role.SECRETARY, org=other),
        "sun": await make_member("孙九", "13700000012", org=other),
        "staff": await make_member("钱干事", "13700000021", role=Role.STAFF, org=committee),
    }
    return World(client, fake_wechat[0], clock, people, branch, other)


def out_body(w: World, who: str = "wang", **kw: Any) -> dict[str, Any]:
    body = {
        "member_id": w.people[who].id,
        "place": "江苏苏州",
        "reason": "外出务工经商",
        "since": "2026-02-20",
        "reach": "微信同号",
        "keeper_id": w.people["committee"].id,
    }
    return body | kw


async def mark_out(w: World, who: str = "wang", **kw: Any) -> dict[str, Any]:
    status, answer = await w.call(
        "POST", "/mobility/outgoing", "secretary", json=out_body(w, who, **kw)
    )
    assert status == 200, answer
    return answer


async def rows() -> dict[str, Any]:
    """Everything a refused call might have changed."""
    return {
        "records": sorted(
            await MobileMember.all().values_list("id", "status", "place", "reach", "keeper_id")
        ),
        "contacts": await MobileContact.all().count(),
        "dues": await DuesPaid.all().count(),
        "reports": sorted(await YearlyReport.all().values_list("id", "org_life", "dues")),
        "cases": sorted(await LostCase.all().values_list("id", "stage")),
        "attempts": await LostAttempt.all().count(),
        "members": sorted(await Member.all().values_list("id", "status", "is_mobile", "group_id")),
    }


def branch_meeting(branch: Organisation, day: date, kind: MeetingType) -> Any:
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    return Meeting.create(
        organisation_id=branch.id,
        kind=kind,
        topic="研究失联党员处置",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
    )


# --- 流出, kept in touch -----------------------------------------------------------------------


async def test_a_member_is_marked_out_kept_in_touch_and_what_is_due_is_listed(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    wang = w.people["wang"]

    marked = await mark_out(w)
    assert marked["member"] == {"id": wang.id, "name": "王芳"}
    record = marked["record"]
    assert (record["direction"], record["status"], record["place"]) == ("out", "active", "江苏苏州")
    assert (record["reason"], record["since"]) == ("外出务工经商", "2026-02-20")
    assert record["keeper"] == {"id": w.people["committee"].id, "name": "周委员"}
    assert marked["due_on"] == "2026-04-03"  # a month from when the branch recorded it
    assert (await Member.get(id=wang.id)).is_mobile

    # Twice is once.
    status, twice = await w.call("POST", "/mobility/outgoing", "secretary", json=out_body(w))
    assert status == 409 and twice["code"] == "MOBILE_EXISTS"
    assert await MobileMember.filter(member_id=wang.id).count() == 1

    # Nothing is due yet; a month on, the contact is the keeper's to-do.
    status, listed = await w.call("GET", "/mobility/members", "secretary")
    assert status == 200 and listed["total"] == 1, listed
    [line] = listed["items"]
    assert line["todo"] == [] and line["contact_due"] is False
    status, due = await w.call("GET", "/mobility/members?due=true", "secretary")
    assert due["total"] == 0
    w.travel(30)
    status, due = await w.call("GET", "/mobility/members?due=true", "secretary")
    [line] = due["items"]
    assert line["contact_due"] is True and line["todo"][0].startswith("该联系了（2026-04-03 起）")

    # 周委员 (支委委员) logs the contact; the way is read from the text.
    status, logged = await w.call(
        "POST", f"/mobility/members/{wang.id}/contacts", "committee",
        json={"note": "电话 了解近况，提醒按时交纳党费"},
    )  # fmt: skip
    assert status == 200, logged
    assert (logged["channel"], logged["note"]) == ("电话", "了解近况，提醒按时交纳党费")
    assert logged["by"] == {"id": w.people["committee"].id, "name": "周委员"}
    status, due = await w.call("GET", "/mobility/members?due=true", "secretary")
    assert due["total"] == 0
    status, detail = await w.call("GET", f"/mobility/members/{wang.id}", "secretary")
    assert detail["last_contact"] == w.today.isoformat()
    assert [c["note"] for c in detail["contacts"]] == ["了解近况，提醒按时交纳党费"]

    # 党费 received up to March; the same month again is one.
    status, paid = await w.call(
        "POST", f"/mobility/members/{wang.id}/dues", "secretary",
        json={"through": "2026-03", "amount": 12.5},
    )  # fmt: skip
    assert status == 200 and paid["through"] == "2026-03" and paid["amount"] == "12.50", paid
    status, again = await w.call(
        "POST", f"/mobility/members/{wang.id}/dues", "secretary", json={"through": "2026-03"}
    )
    assert status == 409 and again["code"] == "DUES_EXISTS"

    # What the branch knows changes; the record ends when she comes back.
    status, amended = await w.call(
        "PATCH", f"/mobility/members/{wang.id}", "secretary",
        json={"reach": "13900000000", "cadence_days": 60},
    )  # fmt: skip
    assert status == 200 and amended["record"]["reach"] == "13900000000"
    assert amended["record"]["cadence_days"] == 60
    status, ended = await w.call(
        "POST", f"/mobility/members/{wang.id}/end", "secretary", json={"note": "已返回本地居住"}
    )
    assert status == 200 and ended["record"]["status"] == "ended", ended
    assert ended["record"]["ended_on"] == w.today.isoformat()
    assert not (await Member.get(id=wang.id)).is_mobile
    status, listed = await w.call("GET", "/mobility/members", "secretary")
    assert listed["total"] == 0


async def test_bad_input_names_the_field_and_changes_nothing(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    await mark_out(w, "liu")
    before = await rows()
    liu = w.people["liu"].id
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/mobility/outgoing", out_body(w, reason="旅游"), "reason"),
        ("POST", "/mobility/outgoing", out_body(w, since="2026-03-05"), "since"),
        ("POST", "/mobility/outgoing", out_body(w, since="去年"), "since"),
        ("POST", "/mobility/outgoing", out_body(w, place="苏" * 101), "place"),
        ("POST", "/mobility/outgoing", out_body(w, place="   "), "place"),
        ("POST", "/mobility/outgoing", out_body(w, reach="x" * 101), "reach"),
        ("POST", "/mobility/outgoing", out_body(w, cadence_days=3), "cadence_days"),
        ("POST", "/mobility/outgoing", out_body(w, keeper_id=w.people["sun"].id), "keeper_id"),
        ("POST", "/mobility/outgoing", out_body(w, keeper_id=w.people["wang"].id), "keeper_id"),
        ("POST", "/mobility/outgoing", out_body(w, colour="red"), "colour"),
        ("PATCH", f"/mobility/members/{liu}", {}, "body"),
        ("PATCH", f"/mobility/members/{liu}", {"keeper_id": w.people["sun"].id}, "keeper_id"),
        ("POST", f"/mobility/members/{liu}/contacts", {"note": "好" * 501}, "note"),
        ("POST", f"/mobility/members/{liu}/contacts", {"note": "聊", "channel": "飞鸽"}, "channel"),
        ("POST", f"/mobility/members/{liu}/contacts", {"note": "聊", "day": "2026-03-05"}, "day"),
        ("POST", f"/mobility/members/{liu}/dues", {"through": "2026-13"}, "through"),
        ("POST", f"/mobility/members/{liu}/dues", {"through": "2028-01"}, "through"),
        ("POST", f"/mobility/members/{liu}/dues", {"through": "2026-03", "amount": -1}, "amount"),
        ("POST", f"/mobility/members/{liu}/search", {"method": "占卜", "note": "x"}, "method"),
        ("POST", f"/mobility/members/{liu}/search", {"note": "电话 " + "无" * 300}, "note"),
        ("POST", f"/mobility/members/{liu}/end", {"note": ""}, "note"),
        ("POST", "/mobility/groups", {"place": "苏州", "member_ids": [liu]}, "member_ids"),
    ]
    for method, path, body, named in cases:
        status, answer = await w.call(method, path, "secretary", json=body)
        assert status == 400 and answer["field"] == named, (path, body, answer)
    assert await rows() == before

    # Steps out of order are refused as conflicts or as nothing to act on, and change nothing.
    zheng = w.people["zheng"].id
    for method, path, payload, expected in [
        ("PATCH", f"/mobility/members/{zheng}", {"reach": "x"}, 404),
        ("POST", f"/mobility/members/{zheng}/end", {"note": "x"}, 404),
        ("POST", f"/mobility/members/{zheng}/restore", {"handling": "x"}, 404),
        ("POST", f"/mobility/members/{zheng}/close", {"note": "x"}, 404),
        ("POST", f"/mobility/members/{zheng}/stop", {"meeting_id": 1, "decision": "x"}, 409),
        ("GET", f"/mobility/members/{zheng}", None, 404),
        ("GET", f"/mobility/members/{zheng}/record", None, 404),
    ]:
        status, answer = await w.call(method, path, "secretary", json=payload)
        assert status == expected, (path, answer)
    assert await rows() == before


# --- 失联, by the rules ------------------------------------------------------------------------


async def test_six_silent_months_are_a_question_then_the_search_and_the_branch_meeting(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    wang, liu = w.people["wang"], w.people["liu"]
    await mark_out(w, "wang")
    await mark_out(w, "liu", place="广东深圳")

    # Six months without a word: a question for the branch, never a status.
    w.travel(184)
    status, due = await w.call("GET", "/mobility/members?due=true", "secretary")
    assert [line["possibly_lost"] for line in due["items"]] == [True, True]
    assert "可能失联" in due["items"][0]["todo"][0]
    assert (await Member.get(id=wang.id)).status == MemberStatus.ACTIVE
    status, seen = await w.call("GET", "/mobility/counts", "secretary")
    assert seen["total"]["possibly_lost"] == 2 and seen["total"]["outgoing"] == 2

    # 刘强 is found.
    status, case = await w.call(
        "POST", f"/mobility/members/{liu.id}/search", "secretary",
        json={"method": "电话", "note": "拨打两次无人接听"},
    )  # fmt: skip
    assert status == 200 and case["stage"] == "searching", case
    assert case["attempts"][0]["method"] == "电话"
    status, case = await w.call(
        "POST", f"/mobility/members/{liu.id}/restore", "secretary",
        json={"handling": "已取得联系，进行了批评教育，补交了党费"},
    )  # fmt: skip
    assert status == 200 and case["stage"] == "restored" and case["restored_on"]

    # 王芳: searched, then the 支部党员大会 — a 支委会 does not decide it.
    status, case = await w.call(
        "POST", f"/mobility/members/{wang.id}/search", "secretary",
        json={"note": "亲属 联系其母亲，不知去向"},
    )  # fmt: skip
    assert case["attempts"][0]["method"] == "亲属"
    yesterday = w.today - timedelta(days=1)
    wrong = await branch_meeting(w.branch, yesterday, MeetingType.COMMITTEE_MEETING)
    before = await rows()
    status, refused = await w.call(
        "POST", f"/mobility/members/{wang.id}/stop", "secretary",
        json={"meeting_id": wrong.id, "decision": "停止党籍"},
    )  # fmt: skip
    assert status == 400 and refused["field"] == "meeting_id"
    elsewhere = await branch_meeting(w.other, yesterday, MeetingType.BRANCH_MEETING)
    status, refused = await w.call(
        "POST", f"/mobility/members/{wang.id}/stop", "secretary",
        json={"meeting_id": elsewhere.id, "decision": "停止党籍"},
    )  # fmt: skip
    assert status == 400 and refused["field"] == "meeting_id"
    assert await rows() == before
    # Yesterday's meeting was before the search began; this morning's, after it, decides.
    status, early = await w.call(
        "POST", f"/mobility/members/{wang.id}/stop", "secretary",
        json={"meeting_id": (await quorate(await branch_meeting(
            w.branch, yesterday, MeetingType.BRANCH_MEETING), away=[wang])).id,
              "decision": "停止党籍"},
    )  # fmt: skip
    assert status == 400 and "查找开始" in early["error"]
    start = w.clock.now() - timedelta(hours=2)
    meeting = await quorate(
        await Meeting.create(
            organisation_id=w.branch.id,
            kind=MeetingType.BRANCH_MEETING,
            topic="研究失联党员处置",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
        ),
        away=[wang],
    )
    status, case = await w.call(
        "POST", f"/mobility/members/{wang.id}/stop", "secretary",
        json={"meeting_id": meeting.id, "decision": "经支部党员大会讨论，停止其党籍"},
    )  # fmt: skip
    assert status == 200 and case["stage"] == "stopped", case
    assert case["meeting_id"] == meeting.id
    assert case["removal_due_on"] == date(w.today.year + 2, w.today.month, w.today.day).isoformat()
    assert (await Member.get(id=wang.id)).status == MemberStatus.STOPPED

    # Two years on, the branch is reminded of the 除名 procedure; it records the outcome.
    w.travel(731)
    status, due = await w.call("GET", "/mobility/members?due=true", "secretary")
    [line] = [i for i in due["items"] if i["member"]["id"] == wang.id]
    assert any("除名" in t for t in line["todo"])
    status, closed = await w.call(
        "POST", f"/mobility/members/{wang.id}/close", "secretary",
        json={"note": "经党委批准，按自行脱党予以除名"},
    )  # fmt: skip
    assert status == 200 and closed["stage"] == "closed"
    status, again = await w.call(
        "POST", f"/mobility/members/{wang.id}/close", "secretary", json={"note": "再办一次"}
    )
    assert status == 404 and "没有已停止党籍的记录" in again["error"]


# --- the figures and the files -----------------------------------------------------------------


async def test_staff_see_counts_by_branch_and_download_the_forms(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    await mark_out(w, "wang")
    status, answer = await w.call(
        "POST", "/mobility/outgoing", "zhao",
        json={"member_id": w.people["sun"].id, "place": "浙江杭州", "reason": "毕业"},
    )  # fmt: skip
    assert status == 200 and answer["record"]["reason"] == "毕业去向", answer

    status, seen = await w.call("GET", "/mobility/counts", "staff")
    assert status == 200, seen
    assert [b["branch"]["name"] for b in seen["branches"]] == [
        "第一社区第一党支部",
        "第一社区第二党支部",
    ]
    assert [b["outgoing"] for b in seen["branches"]] == [1, 1]
    assert seen["total"]["outgoing"] == 2 and seen["quarter_from"] == "2026-01-01"
    assert [c["label"] for c in seen["columns"]][:3] == ["流出", "流入", "本季度已联系"]
    # A branch secretary sees their own branch only; another's is refused as a made-up id.
    status, mine = await w.call("GET", "/mobility/counts", "zhao")
    assert [b["branch"]["name"] for b in mine["branches"]] == ["第一社区第二党支部"]
    there = await w.call("GET", f"/mobility/counts?org={w.branch.id}", "zhao")
    nowhere = await w.call("GET", f"/mobility/counts?org={MISSING}", "zhao")
    assert there[0] == nowhere[0] == 403 and there[1] == nowhere[1]
    status, listed = await w.call("GET", f"/mobility/members?branch={w.other.id}", "staff")
    assert [i["member"]["name"] for i in listed["items"]] == ["孙九"]

    resp = await w.client.get(
        f"/api/v1/mobility/export?org={w.branch.id}", headers=w._headers["staff"]
    )
    assert resp.status == 200
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(await resp.read()))
    assert book.sheetnames == [
        "流动党员情况统计表",
        "流出党员名册",
        "流入党员名册",
        "失联党员查找情况",
    ]
    names = [row[1] for row in book["流出党员名册"].iter_rows(min_row=4, values_only=True)]
    assert "王芳" in names and "孙九" not in names  # the branch asked for, not the street


async def test_a_member_sees_her_record_and_sends_her_yearly_report(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    status, mine = await w.call("GET", "/mobility/me", "wang")
    assert status == 200 and mine["record"] is None and mine["yearly_report_due"] is False
    status, refused = await w.call(
        "POST", "/mobility/me/yearly-report", "wang", json={"org_life": "x", "dues": "已交清"}
    )
    assert status == 404 and "流出党员" in refused["error"]

    await mark_out(w)
    await w.call("POST", f"/mobility/members/{w.people['wang'].id}/contacts", "committee",
                 json={"note": "微信 问候近况", "day": "2026-03-01"})  # fmt: skip
    status, mine = await w.call("GET", "/mobility/me", "wang")
    assert mine["record"]["place"] == "江苏苏州" and mine["yearly_report_due"] is True
    assert mine["record"]["keeper"]["name"] == "周委员"
    assert [(c["day"], c["note"]) for c in mine["contacts"]] == [("2026-03-01", "问候近况")]

    before = await rows()
    for body, named in [
        ({"org_life": "在苏州参加组织生活", "dues": "也许"}, "dues"),
        ({"org_life": "", "dues": "已交清"}, "org_life"),
        ({"org_life": "x" * 301, "dues": "已交清"}, "org_life"),
        ({"org_life": "在苏州", "dues": "已交清", "year": 2024}, "year"),
    ]:
        status, answer = await w.call("POST", "/mobility/me/yearly-report", "wang", json=body)
        assert status == 400 and answer["field"] == named, answer
    assert await rows() == before
    status, report = await w.call(
        "POST", "/mobility/me/yearly-report", "wang",
        json={"org_life": "在苏州XX公司党支部参加主题党日", "dues": "是", "dues_where": "原支部"},
    )  # fmt: skip
    assert status == 200 and report["dues"] == "已交清" and report["year"] == 2026, report
    status, mine = await w.call("GET", "/mobility/me", "wang")
    assert mine["yearly_report_due"] is False
    assert mine["yearly_reports"][0]["org_life"] == "在苏州XX公司党支部参加主题党日"


# --- 流入 and the 流动党员党小组 -----------------------------------------------------------------


async def test_a_member_from_elsewhere_is_confirmed_and_her_record_goes_home_as_a_file(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    report = incoming.Incoming(
        name="陈流入",
        phone="13900000011",
        home_org="安徽省XX县XX镇XX村党支部",
        home_contact="0550-1234567",
        place="第一社区3栋",
        reason=FlowReason.WORK,
    )
    record = await incoming.report_in(
        "app", "o-1", Channel.OFFICIAL_ACCOUNT, w.branch, report, w.today, w.clock.now()
    )
    status, waiting = await w.call("GET", "/mobility/incoming", "secretary")
    assert status == 200 and [p["name"] for p in waiting["items"]] == ["陈流入"], waiting
    assert waiting["items"][0]["home_org"] == "安徽省XX县XX镇XX村党支部"
    status, theirs = await w.call("GET", "/mobility/incoming", "zhao")
    assert theirs["items"] == []

    # Another branch's secretary is told what a made-up number gets; nothing is decided.
    there = await w.call("POST", f"/mobility/incoming/{record.id}/confirm", "zhao")
    nowhere = await w.call("POST", f"/mobility/incoming/{MISSING}/confirm", "zhao")
    assert there == nowhere == (403, {"error": HIDDEN, "code": "FORBIDDEN"})
    status, bad = await w.call(
        "POST", f"/mobility/incoming/{record.id}/refuse", "secretary", json={"reason": ""}
    )
    assert status == 400 and bad["field"] == "reason"
    assert (await MobileMember.get(id=record.id)).status == "pending"

    status, decided = await w.call("POST", f"/mobility/incoming/{record.id}/confirm", "secretary")
    assert status == 200 and decided["record"]["status"] == "active", decided
    member = await Member.get(id=decided["member"]["id"])
    assert member.incoming and member.organisation_id == w.branch.id
    # She hears it as she would had the branch confirmed in chat: one letter, to her WeChat.
    [told] = await CommunityMessage.filter(openid="o-1")
    assert "已确认" in told.text and "不参加表决和选举" in told.text
    status, twice = await w.call("POST", f"/mobility/incoming/{record.id}/confirm", "secretary")
    assert status == 409 and twice["code"] == "DECIDED"

    # Their home organisation asks: the record, as a file.
    status, data = await w.call("GET", f"/mobility/members/{member.id}/record", "secretary")
    assert status == 200
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["参加组织生活情况", "学习心得", "年度报告"]
    info = {r[0]: r[2] for r in book["参加组织生活情况"].iter_rows(min_row=3, max_row=11,
                                                            values_only=True)}  # fmt: skip
    assert info["原组织关系所在党组织"] == "安徽省XX县XX镇XX村党支部"
    status, refused = await w.call("GET", f"/mobility/members/{member.id}/record", "zhao")
    assert status == 403 and refused["error"] == HIDDEN
    status, not_theirs = await w.call(
        "GET", f"/mobility/members/{w.people['wang'].id}/record", "secretary"
    )
    assert status == 404 and "不是流入党员" in not_theirs["error"]


async def test_three_mobile_members_in_one_place_become_a_group(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    for who in ("wang", "liu", "chen"):
        await mark_out(w, who)
    ids = [w.people[who].id for who in ("wang", "liu", "chen")]
    before = await rows()
    status, refused = await w.call(
        "POST", "/mobility/groups", "secretary",
        json={"place": "苏州", "member_ids": [*ids[:2], w.people["zheng"].id]},
    )  # fmt: skip
    assert status == 400 and refused["field"] == "member_ids" and "郑七" in refused["error"]
    status, refused = await w.call(
        "POST", "/mobility/groups", "secretary",
        json={"place": "苏州", "member_ids": [*ids[:2], w.people["sun"].id]},
    )  # fmt: skip
    assert (status, refused["error"]) == (403, HIDDEN)
    assert await rows() == before
    status, formed = await w.call(
        "POST", "/mobility/groups", "secretary", json={"place": "苏州", "member_ids": ids}
    )
    assert status == 200, formed
    assert formed["group"]["name"] == "流动党员党小组（苏州）"
    assert {m["id"] for m in formed["members"]} == set(ids)
    assert {m.group_id for m in await Member.filter(id__in=ids)} == {formed["group"]["id"]}


# --- every way in that must stay shut --------------------------------------------------------

# (method, path with {member}/{branch}, body): another branch's secretary gets what a made-up
# id gets, on every endpoint that names a member or an organisation.
BY_ID: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/mobility/members/{member}", None),
    ("PATCH", "/mobility/members/{member}", {"reach": "x"}),
    ("POST", "/mobility/members/{member}/end", {"note": "已返回"}),
    ("POST", "/mobility/members/{member}/contacts", {"note": "电话 聊了聊"}),
    ("POST", "/mobility/members/{member}/dues", {"through": "2026-03"}),
    ("POST", "/mobility/members/{member}/search", {"note": "电话 无人接听"}),
    ("POST", "/mobility/members/{member}/restore", {"handling": "找到了"}),
    ("POST", "/mobility/members/{member}/stop", {"meeting_id": 1, "decision": "停止党籍"}),
    ("POST", "/mobility/members/{member}/close", {"note": "办结"}),
    ("GET", "/mobility/members/{member}/record", None),
    ("POST", "/mobility/outgoing", {"member_id": "{member}", "place": "苏州", "reason": "务工"}),
    ("GET", "/mobility/members?branch={branch}", None),
    ("GET", "/mobility/counts?org={branch}", None),
    ("GET", "/mobility/export?org={branch}", None),
    ("POST", "/mobility/groups", {"branch_id": "{branch}", "place": "苏州",
                                  "member_ids": ["{member}", "{member}", "{member}"]}),
]  # fmt: skip


def _fill(template: Any, ids: dict[str, int]) -> Any:
    if isinstance(template, str):
        filled = template.format(**ids)
        return int(filled) if filled.isdigit() and template.startswith("{") else filled
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, ids) for v in template]
    return template


@pytest.mark.parametrize("case", BY_ID, ids=lambda c: f"{c[0]} {c[1]}")
async def test_another_branchs_secretary_gets_what_a_made_up_id_gets(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any, case: tuple[str, str, Any]
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    await mark_out(w)
    method, path, body = case
    ids = {"member": w.people["wang"].id, "branch": w.branch.id}
    before = await rows()
    there = await w.call(method, _fill(path, ids), "zhao", json=_fill(body, ids))
    made_up = dict.fromkeys(ids, MISSING)
    nowhere = await w.call(method, _fill(path, made_up), "zhao", json=_fill(body, made_up))
    assert there == nowhere == (403, {"error": HIDDEN, "code": "FORBIDDEN"})
    assert await rows() == before


async def test_plain_members_may_not_and_a_keeper_only_logs_contacts(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    await mark_out(w, keeper_id=w.people["zheng"].id)  # a plain member named 联系人
    wang = w.people["wang"].id
    before = await rows()
    for method, path, body in [
        ("GET", "/mobility/members", None),
        ("GET", "/mobility/counts", None),
        ("GET", "/mobility/incoming", None),
        ("POST", "/mobility/outgoing", out_body(w, "liu")),
        ("POST", f"/mobility/members/{wang}/dues", {"through": "2026-03"}),
        ("POST", f"/mobility/members/{wang}/search", {"note": "电话 无人接听"}),
    ]:
        status, answer = await w.call(method, path, "zheng", json=body)
        assert status == 403 and answer["error"] != HIDDEN, (path, answer)  # told why
        status, answer = await w.call(method, path, "liu", json=body)
        assert status == 403, (path, answer)
    # 刘强, no one's 联系人, may not log a contact; 郑七, hers, may — for her only.
    status, answer = await w.call(
        "POST", f"/mobility/members/{wang}/contacts", "liu", json={"note": "聊了"}
    )
    assert status == 403 and "联系人" in answer["error"]
    status, answer = await w.call(
        "POST", f"/mobility/members/{w.people['chen'].id}/contacts", "zheng", json={"note": "聊了"}
    )
    assert (status, answer["error"]) == (403, HIDDEN)
    assert await rows() == before
    status, logged = await w.call(
        "POST", f"/mobility/members/{wang}/contacts", "zheng", json={"note": "视频 聊了聊近况"}
    )
    assert status == 200 and logged["channel"] == "视频"
