"""The dashboard in a real browser: headless Chromium against a real running server.

A 党工委 staff member sends 后台 in chat, opens the link, presses 进入后台 and reads the
street's year; the headline numbers are the REST API's (`GET /api/v1/tallies`) for the same
organisation and period.  The branches' organised study is a horizontal bar chart, most first,
every bar named.  On a phone (390 px) the page does not scroll sideways.  She switches to 本月
and the numbers follow, sorts the branch table, reads the month's lights (a 支委会 booked for
the 28th: 待开 / 已安排, not red), downloads the XLSX, opens a branch from its row, reads its
meetings and downloads its ledger — and the page asks nothing of any host but ours.

Screenshots at 1280 and 390 px go to the test's tmp_path, and to $DANGJIAN_SHOTS when set (for
someone to look at them).

Debian's chromium at /usr/bin/chromium is driven by the playwright package (its own browser
download does not work here).  Without either, the test is skipped — except in CI, where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from server.app import create_app
from server.channels import Channel
from server.clock import FrozenClock
from server.models.meetings import Attendance, AttendeeRole, Meeting, MeetingAttendee
from server.models.people import Member, Organisation, OrgKind, Role, WeChatIdentity
from server.models.study import CheckIn, QuizAttempt, Submission, UnitReading
from server.services.tallies.snapshot import snapshot_day
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import APPID, integration_required, make_branch, make_member
from tests.wechat_peer import WeChatPeer, openid_for

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ZONE = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
COMMITTEE = "示范街道党工委"
ONE = f"{COMMITTEE}/东社区党总支/东社区第一党支部"
TWO = f"{COMMITTEE}/东社区党总支/东社区第二党支部"
WEST = f"{COMMITTEE}/西社区党总支/西社区第一党支部"
STAFF = openid_for("staff-zhao")
HEADLINE = (
    "organised_study", "members_studied", "self_study", "members_self_studied",
    "exchange_person_times", "submitted", "approved", "meetings_held", "meetings_scheduled",
    "attendance_rate", "active_members", "check_ins",
)  # fmt: skip
BOOKED = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 09:00 on the 28th: branch one's 支委会


def _browser_or_skip() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing (pip install -e '.[test]')"
    if problem is None:
        return
    if integration_required():
        pytest.fail(f"the dashboard's browser test cannot run in CI: {problem}")
    pytest.skip(f"no headless browser: {problem}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


async def _seed() -> tuple[Member, set[date]]:
    """Three branches with a month of activity in October and a busier November so far."""
    one, two, west = await make_branch(ONE), await make_branch(TWO), await make_branch(WEST)
    await Organisation.create(
        name="第一网格党小组", kind=OrgKind.GROUP, parent=one, path=f"{ONE}/第一网格党小组"
    )
    committee = await Organisation.get(path=COMMITTEE)
    staff = await make_member("赵干事", "13900000009", role=Role.STAFF, org=committee)
    await WeChatIdentity.create(
        appid=APPID, openid=STAFF, channel=Channel.OFFICIAL_ACCOUNT, member=staff
    )
    members = {
        branch.id: [
            await make_member(f"{branch.name[:3]}党员{n}", f"139{branch.id:04d}{n:04d}", org=branch)
            for n in range(per)
        ]
        for branch, per in ((one, 5), (two, 3), (west, 4))
    }
    days: set[date] = set()
    busy = {one.id: 3, two.id: 1, west.id: 2}  # readings per member per active day
    for day in [date(2026, 10, d) for d in (8, 15, 22)] + [date(2026, 11, d) for d in (5, 12, 24)]:
        days.add(day)
        for branch_id, people in members.items():
            for n, m in enumerate(people):
                await CheckIn.create(member=m, organisation_id=branch_id, day=day)
                for u in range(busy[branch_id] if n % 2 == 0 else 1):
                    await UnitReading.create(
                        member=m, organisation_id=branch_id, unit_id=f"u{u}", day=day,
                        read_full=True,
                    )  # fmt: skip
            await QuizAttempt.create(
                member=people[0], organisation_id=branch_id, day=day, questions=[],
                finished_at=_noon(day),
            )  # fmt: skip
    for n, (m, status) in enumerate(
        [(members[one.id][0], "approved"), (members[one.id][1], "pending"),
         (members[two.id][0], "pending"), (members[west.id][0], "returned")]
    ):  # fmt: skip
        await Submission.create(
            member=m, organisation_id=m.organisation_id, day=date(2026, 11, 12),  # type: ignore[attr-defined]
            content="学习心得" * 20, length=80, digest=f"d{n}", status=status,
            resembles="unit:u1" if n == 1 else None, similarity=0.93 if n == 1 else None,
        )  # fmt: skip
    # A 党课 in October and a 支委会 in November, with attendance.
    for branch, kind, day in ((one, "党课", date(2026, 10, 15)), (two, "支委会", TODAY)):
        starts = _noon(day) - timedelta(hours=3)  # 09:00 local
        meeting = await Meeting.create(
            organisation=branch, kind=kind, topic="学习", starts_at=starts,
            ends_at=starts + timedelta(hours=1), status="held", study=kind == "党课",
        )  # fmt: skip
        for n, m in enumerate(members[branch.id]):
            await MeetingAttendee.create(
                meeting=meeting, member=m, organisation_id=branch.id,
                role=AttendeeRole.EXPECTED,
                attendance=Attendance.PRESENT if n else Attendance.LEAVE,
            )  # fmt: skip
    # Branch one's 支委会 of November is booked for the 28th: still to come.
    await Meeting.create(
        organisation=one, kind="支委会", topic="研究年终工作", starts_at=BOOKED,
        ends_at=BOOKED + timedelta(hours=1),
    )  # fmt: skip
    # The nightly snapshot of every past day with activity: the report reads those.
    for day in sorted(days | {date(2026, 10, 15)}):
        if day < TODAY:
            await snapshot_day(day, ZONE, now=NOW)
    return staff, days


async def _numbers(page: Any) -> dict[str, str]:
    return {
        key: await page.get_attribute(f'.number[data-key="{key}"]', "data-value")
        for key in HEADLINE
    }


def _expected(total: dict[str, Any]) -> dict[str, str]:
    return {key: "" if total[key] is None else str(total[key]) for key in HEADLINE}


async def _fits(page: Any) -> None:
    """The page is no wider than the screen (Chart.js redraws for a new width on a frame)."""
    await page.wait_for_function("() => document.documentElement.scrollWidth <= window.innerWidth")
    width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width


async def _shoot(page: Any, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def _branch_order(page: Any) -> list[str]:
    return await page.eval_on_selector_all(
        "#branches tbody tr", "rows => rows.map(r => r.cells[0].textContent.trim())"
    )


async def test_staff_read_the_street_in_a_browser(
    aiohttp_server: Any,
    aiohttp_client: Any,
    make_settings: Any,
    fake_wechat: tuple[FakeWeChat, str],
    tmp_path: Path,
) -> None:
    _browser_or_skip()
    from playwright.async_api import async_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(identity_ttl=0, public_url=base)
    clock = FrozenClock(NOW)
    server = await aiohttp_server(create_app(settings, clock=clock), port=port)
    client = await aiohttp_client(server)
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    staff, _ = await _seed()

    # What the mini-program's API says for the same organisation and periods, asked by a
    # colleague of the same scope (in tests both channels share one appid: one identity each).
    colleague = await make_member("钱干事", "13900000008", role=Role.STAFF, org=staff.organisation)
    api = await signed_in(client, fake_wechat[0], colleague)

    async def tallies(**query: str) -> dict[str, Any]:
        resp = await client.get("/api/v1/tallies", params=query, headers=api)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    year = await tallies()
    year_by_branch = await tallies(by="branch")
    month = await tallies(**{"from": "2026-11-01", "to": "2026-11-25"})
    by_branch = await tallies(**{"from": "2026-11-01", "to": "2026-11-25", "by": "branch"})
    assert year["total"]["organised_study"] == 4 and month["total"]["organised_study"] == 0

    reply = (await peer.say(client, STAFF, "后台")).text or ""
    link = reply[reply.index(base) :].split()[0]

    shots = tmp_path / "shots"
    shots.mkdir()
    requests: list[str] = []
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = await browser.new_context(
                accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="zh-CN"
            )
            context.set_default_timeout(15_000)
            page = await context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )

            await page.goto(link)
            async with page.expect_navigation():
                await page.click("text=进入后台")
            assert urlsplit(page.url).path == "/admin", await page.content()
            assert await page.text_content("#org-name") == "示范街道党工委"
            assert await _numbers(page) == _expected(year["total"])
            assert await page.text_content("#sentence") == year["sentence"] + "。"
            assert "2026年以来" in year["sentence"]
            assert await page.get_attribute('.period[data-period="year"]', "class") == (
                "period active"
            )
            assert await page.text_content("#pending-count") == "2"
            assert "疑似雷同 93%" in (await page.text_content("#pending") or "")

            # Chart.js from our own static files drew both charts.
            await page.wait_for_selector("body[data-charts=ready]")
            assert await page.evaluate("() => window.Chart.version") == "4.6.1"

            def chart(selector: str, what: str) -> str:
                return f"() => window.Chart.getChart(document.querySelector('{selector}')).{what}"

            assert await page.evaluate(chart("#chart-months", "data.labels")) == [
                f"{m}月" for m in range(1, 12)
            ]
            # By branch: horizontal bars of organised study, most first, every branch named.
            assert await page.evaluate(chart("#chart-branches", "options.indexAxis")) == "y"
            branches = [r for r in year_by_branch["rows"] if r["org_id"] is not None]
            ranked = sorted(branches, key=lambda r: -r["organised_study"])
            assert await page.evaluate(chart("#chart-branches", "data.labels")) == [
                r["label"] for r in ranked
            ]
            assert await page.evaluate(chart("#chart-branches", "data.datasets[0].data")) == [
                r["organised_study"] for r in ranked
            ]
            assert ranked[0]["label"] == "东社区第一党支部"  # the one with a 党课
            await _shoot(page, shots, "overview-1280")

            # On a phone the page fits the screen; only the tables scroll, in their own boxes.
            await page.set_viewport_size({"width": 390, "height": 844})
            await _fits(page)
            await page.reload()  # as a phone loads it (the lights' box starts at the latest)
            await page.wait_for_selector("body[data-charts=ready]")
            await _fits(page)
            # The lights' box shows its latest column (scrolled to the end when it scrolls).
            assert (
                await page.evaluate(
                    "() => { const box = document.querySelector('#lights').parentNode;"
                    " return box.scrollWidth - box.clientWidth - box.scrollLeft; }"
                )
                <= 1
            )
            await _shoot(page, shots, "overview-390")
            await page.set_viewport_size({"width": 1280, "height": 900})

            # The picker searches as she types (a district has hundreds of organisations).
            await page.fill("#q", "第二")
            await page.wait_for_selector("#picker-list a")
            found = await page.eval_on_selector_all(
                "#picker-list a", "links => links.map(a => a.firstChild.textContent)"
            )
            assert found == ["东社区第二党支部"]
            await page.keyboard.press("Escape")

            # 本月: the numbers follow.
            async with page.expect_navigation():
                await page.click('.period[data-period="month"]')
            assert "from=2026-11-01" in page.url and "to=2026-11-25" in page.url
            assert await _numbers(page) == _expected(month["total"])
            assert await page.text_content("#sentence") == month["sentence"] + "。"

            # Sorting the branch table by 党员数, up then down.
            rows = by_branch["rows"]  # the branches, and the committee's own row
            assert await _branch_order(page) == [r["label"] for r in rows]

            def ordered(reverse: bool) -> list[str]:
                by_study = sorted(rows, key=lambda r: r["active_members"], reverse=reverse)
                return [r["label"] for r in by_study]

            await page.click("#branches th:text('党员数')")
            assert await _branch_order(page) == ordered(reverse=False)
            await page.click("#branches th:text('党员数')")
            assert await _branch_order(page) == ordered(reverse=True)

            # November's lights: branch one's 支委会 is booked for the 28th and its group has
            # not booked one yet: still time (待开), not red.  Branch two met this morning.
            def light(branch: str) -> str:
                return (
                    f"#lights tbody tr:has-text('{branch}') "
                    "td[data-period='2026-11-01/2026-11-30'] .badge"
                )

            one_light = await page.get_attribute(light("东社区第一党支部"), "class")
            assert one_light in ("badge badge-due", "badge badge-amber"), one_light
            assert await page.text_content(light("东社区第一党支部")) in ("待开", "已安排")
            title = await page.get_attribute(light("东社区第一党支部"), "title")
            assert title and "支委会已安排（11月28日）" in title
            assert await page.get_attribute(light("东社区第二党支部"), "class") == (
                "badge badge-green"
            )
            assert await page.locator("#lights .badge-red").count() == 0

            # The XLSX of the month, by branch.
            async with page.expect_download() as info:
                await page.click("#export-xlsx")
            download = await info.value
            saved = tmp_path / download.suggested_filename
            await download.save_as(saved)
            assert download.suggested_filename.endswith(".xlsx")
            book = openpyxl.load_workbook(saved, read_only=True)
            summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True)}
            assert summary["组织党员学习人次"] == month["total"]["organised_study"]
            assert summary["交流体会人次"] == month["total"]["exchange_person_times"]
            labels = [row[0] for row in book["按党支部"].iter_rows(min_row=4, values_only=True)]
            assert labels == [r["label"] for r in rows] + ["合计"]

            # A branch's row opens its page: its meetings, its lights, its ledger.
            one = next(r for r in rows if r["label"] == "东社区第一党支部")
            async with page.expect_navigation():
                await page.click(f"#branches tr[data-org='{one['org_id']}'] td >> nth=0")
            assert f"org={one['org_id']}" in page.url and "from=2026-11-01" in page.url
            assert await page.text_content("#org-name") == "东社区第一党支部"
            booked = page.locator("#meetings tr[data-status='已安排']")
            assert await booked.count() == 1
            assert "11月28日" in (await booked.text_content() or "")
            assert await booked.locator("a:text('签到屏')").count() == 1
            november = page.locator("#lights-months tbody tr:has-text('11月')")
            assert " ".join((await november.inner_text()).split()) == "11月 已安排 11月28日 待开"
            await _shoot(page, shots, "branch-1280")

            async with page.expect_download() as info:
                await page.click("#ledger-2026")
            ledger = await info.value
            kept = tmp_path / "ledger.xlsx"
            await ledger.save_as(kept)
            sheets = openpyxl.load_workbook(kept).sheetnames
            assert "党课" in sheets and "支委会" in sheets

            await page.set_viewport_size({"width": 390, "height": 844})
            await page.reload()
            await _fits(page)
            await _shoot(page, shots, "branch-390")
            await page.set_viewport_size({"width": 1280, "height": 900})

            # Signing out: the dashboard is closed again.
            async with page.expect_navigation():
                await page.click("text=退出")
            assert "请在微信中发送「后台」获取登录链接" in (await page.content())
            await page.goto(f"{base}/admin")
            assert urlsplit(page.url).path == "/admin/signin"
        finally:
            await browser.close()

    wanted = os.environ.get("DANGJIAN_SHOTS")
    if wanted:  # a copy for someone to look at
        Path(wanted).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, Path(wanted) / png.name)
    assert sorted(p.name for p in shots.glob("*.png")) == [
        "branch-1280.png", "branch-390.png", "overview-1280.png", "overview-390.png",
    ]  # fmt: skip

    hosts = {urlsplit(url).netloc for url in requests if url.startswith(("http:", "https:"))}
    assert hosts == {f"127.0.0.1:{port}"}, hosts
    assert any("/admin/static/vendor/chart.umd.js" in url for url in requests)
    assert problems == []
