"""Staff read the participation tallies they report upward, within their own scope."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.clock import FrozenClock
from server.models.meetings import Attendance, Meeting, MeetingAttendee
from server.models.people import Member, Organisation, Role, counted_in
from server.services.study.points import PointsRules
from server.services.study.reading import record_reading
from server.services.tallies.report import tally_report
from server.services.tallies.snapshot import snapshot_day
from server.typedefs import CORPUS, SETTINGS
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import make_branch, make_member

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
COMMITTEE = "示范街道党工委"
ONE = f"{COMMITTEE}/东社区党总支/东社区第一党支部"
TWO = f"{COMMITTEE}/西社区党总支/西社区第一党支部"


class Street:
    def __init__(self, client: TestClient, fake: FakeWeChat) -> None:
        self.client = client
        self.fake = fake

    async def build(self) -> None:
        self.one = await make_branch(ONE)
        self.two = await make_branch(TWO)
        self.committee = await Organisation.get(path=COMMITTEE)
        self.staff = await make_member("赵敏", "13900000009", role=Role.STAFF, org=self.committee)
        self.secretary_one = await make_member(
            "李书记", "13900000001", role=Role.SECRETARY, org=self.one
        )
        self.secretary_two = await make_member(
            "周书记", "13900000002", role=Role.SECRETARY, org=self.two
        )
        self.member_one = await make_member("王芳", "13900000003", org=self.one)
        corpus = self.client.app[CORPUS]
        rules = _rules(self.client)
        # Self-study: three days in branch one, one in branch two, earlier this year and today.
        await record_reading(self.member_one, corpus[0], date(2026, 3, 2), rules)
        await record_reading(self.member_one, corpus[1], date(2026, 11, 20), rules)
        await record_reading(self.secretary_one, corpus[0], date(2026, 11, 3), rules)
        await record_reading(self.secretary_two, corpus[2], date(2026, 11, 19), rules)
        # Organised study: branch one's 党课 on 10 November, both its members present.
        lecture = await self.meeting(self.one, "党课", datetime(2026, 11, 10, 6, 0, tzinfo=UTC))
        for who in (self.member_one, self.secretary_one):
            await MeetingAttendee.create(
                meeting=lecture,
                member=who,
                organisation_id=counted_in(who),
                attendance=Attendance.PRESENT,
            )
        # A 支委会 at 11:50 today, viewed at 10:00: 已安排, not held.
        await self.meeting(self.one, "支委会", NOW + timedelta(minutes=110), study=False)
        # The nightly job has run for the past days; today's reading is live.
        for day in (date(2026, 3, 2), date(2026, 11, 3), date(2026, 11, 10), date(2026, 11, 19)):
            await snapshot_day(day, self.client.app[SETTINGS].zone, now=NOW)

    async def meeting(
        self, org: Organisation, kind: str, starts: datetime, *, study: bool = True
    ) -> Meeting:
        return await Meeting.create(
            organisation=org,
            kind=kind,
            topic="学习党章" if study else "研究发展党员",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            study=study,
        )

    async def headers(self, member: Member) -> dict[str, str]:
        return await signed_in(self.client, self.fake, member)

    async def get(self, member: Member, path: str, **params: Any) -> tuple[int, Any]:
        resp = await self.client.get(path, params=params, headers=await self.headers(member))
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.read()


def _rules(client: TestClient) -> PointsRules:
    return PointsRules.from_settings(client.app[SETTINGS])


@pytest.fixture
async def street(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> Street:
    client = await aiohttp_client(create_app(make_settings(), clock=FrozenClock(NOW)))
    built = Street(client, fake_wechat[0])
    await built.build()
    return built


async def test_staff_see_the_whole_committee_this_year_by_default(street: Street) -> None:
    status, body = await street.get(street.staff, "/api/v1/tallies")
    assert status == 200, body
    assert body["org_id"] == street.committee.id
    assert (body["start"], body["end"]) == ("2026-01-01", "2026-11-20")
    assert (body["total"]["organised_study"], body["total"]["members_studied"]) == (2, 2)
    assert (body["total"]["self_study"], body["total"]["members_self_studied"]) == (4, 3)
    assert body["sentence"] == (
        "2026年以来，共组织党员学习2人次，交流体会0人次（另有党员线上自学4人次）"
    )


async def test_a_meeting_later_today_is_scheduled_not_held(street: Street) -> None:
    status, body = await street.get(
        street.secretary_one, "/api/v1/tallies", **{"from": "2026-11-01", "to": "2026-11-30"}
    )
    assert status == 200
    total = body["total"]
    assert (total["meetings_held"], total["meetings_scheduled"]) == (1, 1)
    assert total["meetings"] == {"党课": 1}
    assert (total["expected"], total["present"], total["absent"]) == (2, 2, 0)
    assert total["attendance_rate"] == 1.0


async def test_the_answer_is_the_report_the_service_computes(street: Street) -> None:
    status, body = await street.get(
        street.staff, "/api/v1/tallies", by="branch", **{"from": "2026-11-01", "to": "2026-11-20"}
    )
    assert status == 200
    expected = await tally_report(
        street.committee,
        date(2026, 11, 1),
        date(2026, 11, 20),
        by="branch",
        today=date(2026, 11, 20),
        zone=street.client.app[SETTINGS].zone,
        now=NOW,
    )
    assert body == expected.as_dict()
    by_branch = {row["label"]: row["self_study"] for row in body["rows"]}
    assert by_branch["东社区第一党支部"] == 2 and by_branch["西社区第一党支部"] == 1


async def test_a_breakdown_by_month_adds_up_to_the_total(street: Street) -> None:
    status, body = await street.get(street.staff, "/api/v1/tallies", by="month")
    assert status == 200
    for field in ("self_study", "organised_study", "meetings_held", "meetings_scheduled"):
        assert sum(row[field] for row in body["rows"]) == body["total"][field], field


async def test_a_secretary_sees_their_own_branch(street: Street) -> None:
    status, body = await street.get(street.secretary_one, "/api/v1/tallies")
    assert status == 200
    assert body["org_id"] == street.one.id
    assert (body["total"]["self_study"], body["total"]["organised_study"]) == (3, 2)


async def test_another_branch_is_refused_exactly_like_a_missing_one(street: Street) -> None:
    other = await street.get(street.secretary_one, "/api/v1/tallies", org=street.two.id)
    missing = await street.get(street.secretary_one, "/api/v1/tallies", org=987654)
    above = await street.get(street.secretary_one, "/api/v1/tallies", org=street.committee.id)
    assert other[0] == missing[0] == above[0] == 403
    assert other[1] == missing[1] == above[1]
    export = await street.get(street.secretary_one, "/api/v1/tallies/export", org=street.two.id)
    assert export == missing


async def test_a_plain_member_has_no_tallies(street: Street) -> None:
    status, body = await street.get(street.member_one, "/api/v1/tallies")
    assert status == 403
    assert "后台" in body["error"] or "书记" in body["error"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-45"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-11-20", "to": "2026-01-01"}, "from"),
        ({"from": "2010-01-01", "to": "2026-01-01"}, "to"),
        ({"by": "evil"}, "by"),
        ({"org": "1 OR 1=1"}, "org"),
        ({"org": "1; DROP TABLE member"}, "org"),
        ({"org": "-3"}, "org"),
        ({"orgs": "1"}, "orgs"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "from"),
        ({"from": "0001-01-01", "to": "0001-01-01"}, "from"),
        ({"by": "day\x00"}, "by"),
    ],
)
async def test_bad_filters_are_refused_naming_the_field(
    street: Street, params: dict[str, str], field: str
) -> None:
    status, body = await street.get(street.staff, "/api/v1/tallies", **params)
    assert status == 400, body
    assert body["field"] == field
    assert await Member.all().count() == 4  # nothing was touched


async def test_the_export_is_the_same_report_as_xlsx_and_csv(street: Street) -> None:
    status, data = await street.get(street.staff, "/api/v1/tallies/export", by="branch")
    assert status == 200
    sheets = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    cells = [str(c) for row in sheets.worksheets[0].iter_rows(values_only=True) for c in row]
    assert any("2026年以来，共组织党员学习2人次" in c for c in cells)

    status, data = await street.get(
        street.staff, "/api/v1/tallies/export", by="branch", format="csv"
    )
    assert status == 200
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert any("东社区第一党支部" in row for row in rows)

    status, body = await street.get(street.staff, "/api/v1/tallies/export", format="pdf")
    assert status == 400 and body["field"] == "format"


async def test_the_export_names_the_file_for_download(street: Street) -> None:
    resp = await street.client.get(
        "/api/v1/tallies/export", headers=await street.headers(street.staff)
    )
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition


async def test_staff_see_which_branches_owe_meetings_this_month(street: Street) -> None:
    # Branch one held its 支委会 on the 5th and has the quarter's 党员大会 booked for the 27th.
    for kind, day in (("支委会", 5), ("支部党员大会", 27)):
        await Meeting.create(
            kind=kind,
            organisation=street.one,
            topic="学习贯彻全会精神",
            starts_at=datetime(2026, 11, day, 7, 0, tzinfo=UTC),
            ends_at=datetime(2026, 11, day, 8, 30, tzinfo=UTC),
        )
    november = {"from": "2026-11-01", "to": "2026-11-20"}
    status, body = await street.get(street.staff, "/api/v1/compliance", **november)
    assert status == 200, body
    assert (body["from"], body["to"], body["total"]) == ("2026-11-01", "2026-11-20", 2)
    lights = {item["branch_name"]: item["columns"] for item in body["items"]}
    assert lights["东社区第一党支部"]["committee"] == "green"
    assert lights["东社区第一党支部"]["branch_meeting"] == "amber"
    assert lights["东社区第一党支部"]["lecture"] == "green"  # the 党课 of the 10th
    # On the 20th the west has held no 支委会 and booked none: there are still ten days (待开).
    assert lights["西社区第一党支部"]["committee"] == "due"
    assert body["red"] == 0  # nothing of November or of this quarter is past its time
    west = next(item for item in body["items"] if item["branch_name"] == "西社区第一党支部")
    assert west["overall"] == "due"
    assert [(p["label"], p["state"]) for p in west["periods"]] == [
        ("2026年11月", "due"),
        ("2026年第四季度", "due"),
    ]
    [committee] = [x for x in west["lights"] if x["item"] == "committee"]
    assert (committee["label"], committee["word"]) == ("本月支委会", "待开")
    status, due = await street.get(street.staff, "/api/v1/compliance", state="due", **november)
    assert [item["branch_name"] for item in due["items"]] == ["西社区第一党支部"]

    # This year so far (the default, as for the tallies). Records here began with the west's
    # 主题党日 of 8 October: nothing is owed before; October ended without a 支委会.
    await Meeting.create(
        kind="主题党日",
        organisation=street.two,
        topic="学习党章",
        starts_at=datetime(2026, 10, 8, 7, 0, tzinfo=UTC),
        ends_at=datetime(2026, 10, 8, 8, 30, tzinfo=UTC),
        study=True,
    )
    status, body = await street.get(street.staff, "/api/v1/compliance")
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-11-20")
    assert body["red"] == 2
    one = next(item for item in body["items"] if item["branch_name"] == "东社区第一党支部")
    october = next(p for p in one["periods"] if p["label"] == "2026年10月")
    assert [(x["label"], x["state"], x["word"]) for x in october["lights"]] == [
        ("2026年10月支委会", "red", "未开")
    ]
    assert one["columns"]["committee"] == "green"  # the current month, as before
    assert [p["label"] for p in one["periods"]] == ["2026年10月", "2026年11月", "2026年第四季度"]

    status, body = await street.get(street.secretary_one, "/api/v1/compliance")
    assert [item["branch_name"] for item in body["items"]] == ["东社区第一党支部"]


async def test_compliance_of_another_branch_is_hidden(street: Street) -> None:
    other = await street.get(street.secretary_one, "/api/v1/compliance", org=street.two.id)
    missing = await street.get(street.secretary_one, "/api/v1/compliance", org=2_000_000)
    assert other == missing and other[0] == 403
    status, body = await street.get(street.member_one, "/api/v1/compliance")
    assert status == 403
    status, body = await street.get(street.staff, "/api/v1/compliance", state="purple")
    assert status == 400 and body["field"] == "state"
    status, body = await street.get(
        street.staff, "/api/v1/compliance", **{"from": "2026-11-20", "to": "2026-11-01"}
    )
    assert status == 400 and body["field"] == "from"
