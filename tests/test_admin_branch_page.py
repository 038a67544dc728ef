"""A branch's page on the dashboard: opened from its row, or where its secretary lands.

Staff open a branch from the overview and read its meetings of the period (已召开 once over,
已安排 until then, 已取消), their attendance, its 心得 waiting (oldest first, with the days
each has waited) and download its ledger; the 三会一课 lights follow the period month by
month and the clock: early in the month a 支委会 booked for later is 已安排, not red.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl

from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee
from server.models.people import Member, Organisation, OrgKind
from server.models.study import CheckIn, Submission, UnitReading
from server.services.meetings.compliance import missing
from tests.conftest import make_member
from tests.test_admin_pages import ZONE, Street, sign_in, street

__all__ = ["street"]

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-25"}


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZONE).astimezone(UTC)  # type: ignore[misc]


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


async def page(street: Street, **query: str) -> str:
    resp = await street.client.get("/admin", params=query)
    body = await resp.text()
    assert resp.status == 200, body
    return body


async def a_meeting(
    org: Organisation,
    kind: str,
    starts: datetime,
    *,
    status: str = "planned",
    people: dict[Member, Attendance] | None = None,
    hours: float = 1,
) -> Meeting:
    meeting = await Meeting.create(
        organisation=org, kind=kind, topic=f"{kind}议题", starts_at=starts,
        ends_at=starts + timedelta(hours=hours), status=status,
    )  # fmt: skip
    for member, attendance in (people or {}).items():
        await MeetingAttendee.create(
            meeting=meeting, member=member, organisation_id=org.id,
            role=AttendeeRole.EXPECTED, attendance=attendance,
        )  # fmt: skip
    return meeting


async def group_of(branch: Organisation, name: str = "第一网格党小组") -> Organisation:
    return await Organisation.create(
        name=name, kind=OrgKind.GROUP, parent=branch, path=f"{branch.path}/{name}"
    )


def meeting_rows(body: str) -> dict[int, dict[str, str]]:
    """Each listed meeting: the text of each of its cells, by the cell's label."""
    rows = re.findall(r'<tr data-meeting="(\d+)" data-status="[^"]+">(.*?)</tr>', body, re.S)
    return {
        int(i): {
            label: text_of(cell)
            for label, cell in re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S)
        }
        for i, row in rows
    }


def attendance(row: dict[str, str]) -> list[str]:
    return [row[label] for label in ("应到", "实到", "请假", "缺席", "出勤率")]


async def test_a_branch_row_opens_its_meetings_with_attendance(street: Street) -> None:
    one, two = street.one, street.two
    group = await group_of(one)
    zhang = await make_member("张明", "13900000005", org=one)
    everyone = {
        street.secretary: Attendance.PRESENT,
        street.member: Attendance.LEAVE,
        zhang: Attendance.UNKNOWN,  # never signed in: absent once it is over
    }
    held = await a_meeting(one, "支委会", local(2026, 11, 3, 9), status="held", people=everyone)
    under_way = await a_meeting(one, "党课", local(2026, 11, 25, 9, 30), people=everyone, hours=2)
    later = await a_meeting(
        group, "党小组会", local(2026, 11, 28, 9), people={zhang: Attendance.UNKNOWN}
    )
    cancelled = await a_meeting(one, "支部党员大会", local(2026, 11, 20, 9), status="cancelled")
    october = await a_meeting(one, "支委会", local(2026, 10, 8, 9), status="held")
    elsewhere = await a_meeting(two, "支委会", local(2026, 11, 4, 9), status="held")

    await sign_in(street.client, street.staff)
    overview = await page(street, **NOVEMBER)
    href = f"/admin?org={one.id}&amp;from=2026-11-01&amp;to=2026-11-25"
    row = re.search(rf'<tr data-org="{one.id}" data-href="{re.escape(href)}"', overview)
    assert row and f'<a href="{href}">东社区第一党支部</a>' in overview

    body = await page(street, org=str(one.id), **NOVEMBER)
    assert "东社区第一党支部" in body and "各支部情况" not in body
    rows = meeting_rows(body)
    # Latest first; the 28th is after the period but booked: it is listed, to be opened.
    assert list(rows) == [later.id, under_way.id, cancelled.id, held.id]
    assert october.id not in rows and elsewhere.id not in rows
    assert rows[held.id]["时间"] == "11月3日（周二）09:00" and rows[held.id]["类型"] == "支委会"
    assert (rows[held.id]["议题"], rows[held.id]["情况"]) == ("支委会议题", "已召开")
    assert attendance(rows[held.id]) == ["3", "1", "1", "1", "33.3%"]
    assert rows[under_way.id]["情况"] == "已安排 （进行中）"
    assert attendance(rows[under_way.id]) == ["3", "—", "—", "—", "—"]
    assert (rows[later.id]["情况"], rows[later.id]["类型"]) == (
        "已安排",
        "党小组会 （第一网格党小组）",
    )
    assert rows[cancelled.id]["情况"] == "已取消"
    # The sign-in screen, for the meetings not yet over only.
    screens = set(map(int, re.findall(r'href="/admin/meetings/(\d+)/screen"', body)))
    assert screens == {under_way.id, later.id}
    # The breadcrumb leads back up.
    assert f'href="/admin?org={street.one.parent_id}' in body  # type: ignore[attr-defined]


async def test_the_pending_list_is_oldest_first_with_the_days_each_has_waited(
    street: Street,
) -> None:
    chen = await Member.get(name="陈明")
    for n, (who, day, status) in enumerate(
        [
            (street.member, date(2026, 11, 24), "pending"),
            (street.secretary, date(2026, 11, 25), "pending"),
            (chen, date(2026, 11, 20), "pending"),
            (street.member, date(2026, 11, 12), "pending"),
            (street.member, date(2026, 11, 1), "approved"),
        ]
    ):
        await Submission.create(
            member=who, organisation_id=who.organisation_id, day=day,  # type: ignore[attr-defined]
            content="学习心得" * 20, length=80, digest=f"d{n}", status=status,
        )  # fmt: skip

    def waiting(body: str) -> list[tuple[str, str, str]]:
        listed = body[body.index('<ol class="pending"') : body.index("</ol>")]
        items = re.findall(r'<li data-waited="(\d+)">(.*?)</li>', listed, re.S)
        return [(text_of(item).split()[0], days, text_of(item)) for days, item in items]

    await sign_in(street.client, street.staff)
    overview = await page(street)
    assert [(name, days) for name, days, _ in waiting(overview)] == [
        ("王芳", "13"), ("陈明", "5"), ("王芳", "1"), ("李书记", "0"),
    ]  # fmt: skip
    assert "11月12日提交 已等 13 天" in waiting(overview)[0][2]
    assert "今天提交" in waiting(overview)[3][2]
    assert '<span class="count" id="pending-count">4</span>' in overview
    # The branch table has each branch's pending count of the period.
    for branch, count in ((street.one, 3), (street.two, 1)):
        row = re.search(rf'<tr data-org="{branch.id}".*?</tr>', overview, re.S)
        assert row and f'<td data-value="{count}" class="pending-col some">' in row.group(0)

    await sign_in(street.client, street.secretary)
    mine = await page(street)
    assert [name for name, _, _ in waiting(mine)] == ["王芳", "王芳", "李书记"]
    assert "在微信中向公众号发送「审核」" in mine


async def test_the_ledger_downloads_for_a_branch_in_scope_only(street: Street) -> None:
    client = street.client
    await a_meeting(
        street.one, "支委会", local(2026, 11, 3, 9), status="held",
        people={street.secretary: Attendance.PRESENT},
    )  # fmt: skip
    await sign_in(client, street.secretary)
    body = await page(street)
    assert f'href="/admin/ledger?org={street.one.id}&amp;year=2026"' in body
    for query in ({"org": str(street.one.id), "year": "2026"}, {}):
        resp = await client.get("/admin/ledger", params=query)
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
        assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
        book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
        assert "支委会" in book.sheetnames

    other = await client.get("/admin/ledger", params={"org": str(street.two.id)})
    nowhere = await client.get("/admin/ledger", params={"org": "999999"})
    assert other.status == nowhere.status == 403
    assert await other.text() == await nowhere.text()
    for year in ("20x6", "1999", "9999", "2026 OR 1=1"):
        resp = await client.get("/admin/ledger", params={"year": year})
        assert resp.status == 400 and "请检查：<strong>年度</strong>" in await resp.text()

    await sign_in(client, street.staff)
    committee = await client.get("/admin/ledger", params={"org": str(street.one.parent_id)})  # type: ignore[attr-defined]
    assert committee.status == 400 and "台账按党支部下载" in await committee.text()


def cell(body: str, org_id: int, span: str) -> str:
    row = re.search(rf'<tr data-org="{org_id}".*?</tr>', body[body.index('id="lights"') :], re.S)
    assert row, org_id
    found = re.search(rf'<td class="\w+" data-period="{span}">(.*?)</td>', row.group(0), re.S)
    assert found, span
    return found.group(1)


def badge(fragment: str) -> tuple[str, str]:
    found = re.search(r'<span class="badge badge-(\w+)"[^>]*>([^<]+)</span>', fragment)
    assert found, fragment
    return found.group(1), found.group(2)


async def test_the_lights_follow_the_period_month_by_month_and_the_clock(
    street: Street,
) -> None:
    one, two = street.one, street.two
    group = await group_of(one)
    await a_meeting(one, "支委会", local(2026, 11, 5, 9), status="held")
    await a_meeting(two, "支委会", local(2026, 11, 6, 9), status="held")
    await a_meeting(await group_of(two, "西片党小组"), "党小组会", local(2026, 11, 7, 9))
    await a_meeting(one, "支委会", local(2026, 12, 12, 9))  # booked for later in December
    street.clock.set(local(2026, 12, 2, 10))  # early in December
    november, december = "2026-11-01/2026-11-30", "2026-12-01/2026-12-31"

    await sign_in(street.client, street.staff)
    body = await page(street, **{"from": "2026-11-01", "to": "2026-12-02"})
    assert badge(cell(body, one.id, november)) == ("red", "未开")  # no 党小组会 in November
    assert badge(cell(body, two.id, november)) == ("green", "已开")
    # December has just begun: nothing is red yet.
    assert badge(cell(body, one.id, december)) == ("due", "待开")  # its group's is not booked
    assert 'title="2026年12月：支委会已安排（12月12日）；第一网格党小组党小组会待开"' in cell(
        body, one.id, december
    )
    assert badge(cell(body, two.id, december)) == ("due", "待开")
    assert "2026-10-01/2026-12-31" in body  # the quarter's own column
    legend = body[body.index('id="legend"') : body.index("</p>", body.index('id="legend"'))]
    assert re.findall(r'badge badge-(\w+)">([^<]+)<', legend) == [
        ("green", "已开"), ("amber", "已安排"), ("due", "待开"), ("red", "未开"),
    ]  # fmt: skip

    await sign_in(street.client, street.secretary)
    mine = await page(street, **{"from": "2026-11-01", "to": "2026-12-02"})
    months = mine[
        mine.index('id="lights-months"') : mine.index("</table>", mine.index('id="lights-months"'))
    ]
    rows = {
        label: text_of(row)
        for label, row in re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', months, re.S)
    }
    assert rows == {"12月": "已安排 12月12日 待开", "11月": "已开 11月5日 未开"}
    # What the reminder would say today: only what is neither held nor booked.
    assert await missing(one, date(2026, 12, 2), ZONE, "quarter") == [
        "第一网格党小组本月党小组会", "本季度支部党员大会", "本季度党课",
    ]  # fmt: skip

    # After the month: the booked 支委会 took place; the group's meeting never did.
    street.clock.set(local(2027, 1, 2, 10))
    await sign_in(street.client, street.secretary)
    later = await page(street, **{"from": "2026-12-01", "to": "2026-12-31"})
    months = later[later.index('id="lights-months"') :]
    assert "已开 12月12日 未开" in text_of(months[: months.index("</table>")])
    assert group.id  # (the group that owed it)


async def test_no_member_is_listed_by_their_activity(street: Street) -> None:
    chen = await Member.get(name="陈明")
    for who in (street.member, chen):
        branch_id: Any = who.organisation_id  # type: ignore[attr-defined]
        for d in (20, 21, 24):
            await CheckIn.create(member=who, organisation_id=branch_id, day=date(2026, 11, d))
            await UnitReading.create(
                member=who, organisation_id=branch_id, unit_id="u1", day=date(2026, 11, d),
                read_full=True,
            )  # fmt: skip
    await sign_in(street.client, street.staff)
    pages = [await page(street), await page(street, org=str(street.one.id))]
    await sign_in(street.client, street.secretary)
    pages.append(await page(street))
    for body in pages:
        assert "王芳" not in body and "陈明" not in body
        assert 'data-key="self_study"' in body  # the figure, for the whole organisation only
