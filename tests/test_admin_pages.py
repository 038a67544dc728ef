"""The staff dashboard without a browser: the one-time link, the cookie session, who sees what.

A secretary sends 后台 in chat, opens the link, presses 进入后台 and reads their branch; the
link works once, expires, cannot be forged; every page needs the session; another branch is
refused exactly like an organisation that does not exist; hostile query values get a 400 page
naming the field.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from aiohttp.test_utils import TestClient

from server.admin.links import COOKIE
from server.admin.pages import FIELD_NAMES
from server.app import create_app
from server.channels import Channel
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.errors import ValidationFailed
from server.models.meetings import Meeting
from server.models.people import Member, Organisation, OrgKind, Role, WeChatIdentity
from server.services.meetings.compliance import missing
from server.services.meetings.compliance_status import AMBER, DUE, GREEN, RED, branch_lights
from server.services.people.access import Hidden
from server.services.people.admin_links import admin_link_for_phone, issue_link
from server.services.tallies.report import tally_report
from server.typedefs import CLOCK, SETTINGS
from tests.conftest import APPID, make_branch, make_member, migrated
from tests.wechat_peer import WeChatPeer, openid_for

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
COMMITTEE = "示范街道党工委"
ONE = f"{COMMITTEE}/东社区党总支/东社区第一党支部"
TWO = f"{COMMITTEE}/东社区党总支/东社区第二党支部"
SECRETARY = openid_for("secretary-one")
MEMBER = openid_for("member-one")
STRANGER = openid_for("not-bound")


@dataclass
class Street:
    client: TestClient
    peer: WeChatPeer
    clock: FrozenClock
    one: Organisation
    two: Organisation
    secretary: Member
    member: Member
    staff: Member


async def bind(member: Member, openid: str) -> None:
    await WeChatIdentity.create(
        appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
    )


@pytest.fixture
async def street(aiohttp_client: Any, make_settings: Any) -> Street:
    clock = FrozenClock(NOW)
    settings = make_settings(identity_ttl=0)
    client = await aiohttp_client(create_app(settings, clock=clock))
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    one, two = await make_branch(ONE), await make_branch(TWO)
    committee = await Organisation.get(path=COMMITTEE)
    secretary = await make_member("李书记", "13900000001", role=Role.SECRETARY, org=one)
    member = await make_member("王芳", "13900000002", org=one)
    staff = await make_member("赵干事", "13900000003", role=Role.STAFF, org=committee)
    await make_member("陈明", "13900000004", org=two)
    await bind(secretary, SECRETARY)
    await bind(member, MEMBER)
    return Street(client, peer, clock, one, two, secretary, member, staff)


def token_in(text: str) -> str:
    found = re.search(r"/admin/login\?t=([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


async def sign_in(client: TestClient, member: Member) -> None:
    link = await issue_link(client.app[SETTINGS], member, client.app[CLOCK].now())
    resp = await client.post("/admin/login", data={"t": token_in(link)}, allow_redirects=False)
    assert resp.status == 303, await resp.text()


async def test_a_secretary_asks_in_chat_and_the_link_signs_her_in_once(street: Street) -> None:
    client = street.client
    reply = (await street.peer.say(client, SECRETARY, "后台")).text or ""
    assert "李书记同志" in reply and "只能使用一次" in reply
    settings = client.app[SETTINGS]
    assert f"{settings.base_url}/admin/login?t=" in reply
    token = token_in(reply)

    # Opening the link (or WeChat previewing it) only shows the button.
    for _ in range(2):
        page = await client.get("/admin/login", params={"t": token})
        assert page.status == 200 and "进入后台" in await page.text()

    resp = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/admin"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Path=/admin" in cookie and "Secure" not in cookie

    home = await client.get("/admin")
    text = await home.text()
    assert home.status == 200 and "东社区第一党支部" in text and "李书记" in text
    assert "default-src 'self'" in home.headers["Content-Security-Policy"]
    assert home.headers["Cache-Control"] == "no-store"

    again = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
    assert again.status == 403 and "已经用过" in await again.text()
    assert (await client.get("/admin/login", params={"t": token})).status == 403


async def test_a_link_pressed_many_times_at_once_signs_in_once(street: Street) -> None:
    client = street.client
    link = await issue_link(client.app[SETTINGS], street.staff, client.app[CLOCK].now())
    token = token_in(link)

    async def press() -> int:
        resp = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
        return resp.status

    statuses = await asyncio.gather(*(press() for _ in range(8)))
    assert sorted(statuses) == [303] + [403] * 7


async def test_the_cookie_is_secure_behind_https(aiohttp_client: Any, make_settings: Any) -> None:
    settings = make_settings(public_url="https://dj.example.gov.cn")
    client = await aiohttp_client(create_app(settings))
    staff = await make_member("赵干事", "13900000003", role=Role.STAFF)
    link = await issue_link(settings, staff, client.app[CLOCK].now())
    assert link.startswith("https://dj.example.gov.cn/admin/login?t=")
    resp = await client.post("/admin/login", data={"t": token_in(link)}, allow_redirects=False)
    assert resp.status == 303 and "Secure" in resp.headers["Set-Cookie"]


async def test_members_and_strangers_are_refused_politely_in_chat(street: Street) -> None:
    client, peer = street.client, street.peer
    refused = (await peer.say(client, MEMBER, "后台")).text or ""
    assert "仅对支部书记" in refused and "/admin/login" not in refused
    stranger = (await peer.say(client, STRANGER, "后台")).text or ""
    assert "绑定" in stranger and "/admin/login" not in stranger
    assert "后台" in ((await peer.say(client, SECRETARY, "帮助")).text or "")
    assert "后台" not in ((await peer.say(client, MEMBER, "帮助")).text or "")


async def test_a_link_expires_after_its_ttl(street: Street) -> None:
    client = street.client
    token = token_in((await street.peer.say(client, SECRETARY, "后台")).text or "")
    street.clock.advance(client.app[SETTINGS].admin_link_ttl + 1)
    assert (await client.get("/admin/login", params={"t": token})).status == 403
    resp = await client.post("/admin/login", data={"t": token}, allow_redirects=False)
    assert resp.status == 403 and "过期" in await resp.text()
    assert COOKIE not in resp.cookies


async def test_forged_links_are_refused(street: Street) -> None:
    client = street.client
    for forged in ("x" * 43, "' OR 1=1 --", "", "a" * 5000):
        resp = await client.post("/admin/login", data={"t": forged}, allow_redirects=False)
        assert resp.status == 403, forged
        assert (await client.get("/admin/login", params={"t": forged})).status == 403
    assert (await client.post("/admin/login", allow_redirects=False)).status == 403


async def test_a_form_posted_from_another_site_is_refused(street: Street) -> None:
    link = await issue_link(
        street.client.app[SETTINGS], street.staff, street.client.app[CLOCK].now()
    )
    resp = await street.client.post(
        "/admin/login",
        data={"t": token_in(link)},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert resp.status == 403 and COOKIE not in resp.cookies


@pytest.mark.parametrize(
    "path", ["/admin", "/admin/", "/admin?org=1", "/admin/export?format=xlsx", "/admin/export"]
)
async def test_every_page_needs_a_session(street: Street, path: str) -> None:
    resp = await street.client.get(path, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/admin/signin"
    hint = await street.client.get("/admin/signin")
    assert "请在微信中发送「后台」获取登录链接" in await hint.text()


async def test_a_forged_or_ended_session_is_no_session(street: Street) -> None:
    client = street.client
    client.session.cookie_jar.update_cookies({COOKIE: "forged" * 8})
    assert (await client.get("/admin", allow_redirects=False)).status == 303
    await sign_in(client, street.secretary)
    assert (await client.get("/admin", allow_redirects=False)).status == 200
    street.clock.advance(client.app[SETTINGS].admin_session_ttl + 1)
    assert (await client.get("/admin", allow_redirects=False)).status == 303


async def test_signing_out_ends_the_session(street: Street) -> None:
    client = street.client
    await sign_in(client, street.secretary)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/admin"))[COOKIE].value
    resp = await client.post("/admin/logout", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/admin/signin?out=1"
    assert (await client.get("/admin", allow_redirects=False)).status == 303
    # The old cookie, replayed, opens nothing: the session itself is gone.
    client.session.cookie_jar.update_cookies({COOKIE: cookie})
    assert (await client.get("/admin", allow_redirects=False)).status == 303


async def test_a_demoted_secretary_loses_the_dashboard_at_once(street: Street) -> None:
    await sign_in(street.client, street.secretary)
    street.secretary.role = Role.MEMBER
    await street.secretary.save()
    assert (await street.client.get("/admin", allow_redirects=False)).status == 303


async def test_a_secretary_sees_only_her_branch(street: Street) -> None:
    client = street.client
    await sign_in(client, street.secretary)
    page = await client.get("/admin")
    text = await page.text()
    assert "东社区第一党支部" in text and "东社区第二党支部" not in text
    report = await tally_report(
        street.one, date(2026, 1, 1), date(2026, 11, 25), by=None, today=date(2026, 11, 25),
        zone=ZONE, now=NOW,
    )  # fmt: skip
    assert report.sentence in text

    # Her own branch's page: no picker of one option, no table of branches, and the hint on
    # the 心得 is addressed to her, not to "the secretary".
    assert 'id="picker"' not in text and "<select" not in text and "各支部情况" not in text
    assert "三会一课落实情况" in text and 'id="meetings-card"' in text
    assert "支部书记在微信中" not in text

    other = await client.get("/admin", params={"org": str(street.two.id)})
    nowhere = await client.get("/admin", params={"org": "999999"})
    assert other.status == nowhere.status == 403
    assert await other.text() == await nowhere.text()
    assert Hidden.user_message in await other.text()
    export = await client.get("/admin/export", params={"org": str(street.two.id)})
    assert export.status == 403 and await export.text() == await nowhere.text()


async def test_staff_switch_between_the_organisations_of_the_street(street: Street) -> None:
    client = street.client
    await sign_in(client, street.staff)
    text = await (await client.get("/admin")).text()
    assert "示范街道党工委" in text and "东社区第一党支部" in text and "东社区第二党支部" in text
    two = await client.get("/admin", params={"org": str(street.two.id), "from": "2026-11-01"})
    assert two.status == 200
    assert "2026年11月1日至2026年11月25日" in await two.text()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-20", "to": "2026-11-01"}, "from"),
        ({"from": "2026-13-45"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2020-01-01", "to": "2026-11-25"}, "to"),
        ({"org": "1 OR 1=1"}, "org"),
        ({"org": "';DROP TABLE member;--"}, "org"),
        ({"org": "-1"}, "org"),
        ({"org": "9" * 40}, "org"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "9999-12-31"}, "from"),
        ({"org": "1\x00"}, "org"),
    ],
)
async def test_hostile_query_values_get_a_page_naming_the_field(
    street: Street, query: dict[str, str], field: str
) -> None:
    client = street.client
    await sign_in(client, street.staff)
    for path in ("/admin", "/admin/export"):
        resp = await client.get(path, params=query)
        text = await resp.text()
        assert resp.status == 400, (path, query, text)
        names_the_field(text, field)
    assert await Member.filter(name="王芳").exists()


@pytest.mark.parametrize(
    ("query", "field"), [({"by": "evil"}, "by"), ({"format": "exe"}, "format")]
)
async def test_hostile_export_values_get_a_page_naming_the_field(
    street: Street, query: dict[str, str], field: str
) -> None:
    await sign_in(street.client, street.staff)
    resp = await street.client.get("/admin/export", params=query)
    assert resp.status == 400
    names_the_field(await resp.text(), field)


def names_the_field(page: str, field: str) -> None:
    """A refusal names the value in Chinese words, and no English reaches the reader."""
    assert (
        f'data-field="{field}"' in page and f"请检查：<strong>{FIELD_NAMES[field]}</strong>" in page
    )
    message = page[page.index('<section class="card message">') : page.index("</section>")]
    words = re.findall(r">([^<]*)<", message)
    english = [w for w in words if re.search(r"\b(?!xlsx\b|csv\b|Excel\b|CSV\b)[A-Za-z]{3,}", w)]
    assert english == [], english
    assert "Traceback" not in page and "数据口径" not in page


async def test_an_error_page_says_what_is_wrong_in_chinese(street: Street) -> None:
    await sign_in(street.client, street.staff)
    resp = await street.client.get("/admin", params={"from": "2026-11-20", "to": "2026-11-01"})
    text = await resp.text()
    assert resp.status == 400 and "开始日期晚于结束日期" in text
    names_the_field(text, "from")
    assert '<a class="button" href="/admin">返回后台首页</a>' in text
    # The note on how the figures are counted is on the overview only.
    assert "数据口径" in await (await street.client.get("/admin")).text()
    assert "数据口径" not in await (await street.client.get("/admin/signin")).text()


async def test_the_bare_address_leads_to_the_dashboard(street: Street) -> None:
    resp = await street.client.get("/", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/admin"
    page = await street.client.get("/")  # not signed in: the page that says how
    assert "请在微信中发送「后台」获取登录链接" in await page.text()


async def test_the_picker_finds_organisations_in_scope_by_name(street: Street) -> None:
    client = street.client
    await sign_in(client, street.staff)
    overview = await (await client.get("/admin", params={"from": "2026-11-01"})).text()
    assert 'id="picker"' in overview and 'action="/admin/orgs"' in overview

    # Without JavaScript: the form's page lists the matches, each keeping the period.
    page = await client.get("/admin/orgs", params={"q": "第二", "from": "2026-11-01"})
    text = await page.text()
    assert page.status == 200 and "东社区第二党支部" in text and "东社区第一党支部" not in text
    assert f"/admin?org={street.two.id}&amp;from=2026-11-01&amp;to=2026-11-25" in text
    # With JavaScript: the same matches as JSON while typing.
    found = await (await client.get("/admin/orgs.json", params={"q": "第二"})).json()
    assert [item["name"] for item in found["items"]] == ["东社区第二党支部"]
    assert found["items"][0]["within"] == "示范街道党工委 › 东社区党总支"
    everything = await (await client.get("/admin/orgs.json", params={"q": "社区"})).json()
    assert {item["name"] for item in everything["items"]} == {
        "东社区党总支", "东社区第一党支部", "东社区第二党支部",
    }  # fmt: skip
    # A LIKE wildcard is a character like any other.
    assert (await (await client.get("/admin/orgs.json", params={"q": "%"})).json())["total"] == 0

    # A secretary finds only her own branch, whatever she types.
    await sign_in(client, street.secretary)
    mine = await (await client.get("/admin/orgs.json", params={"q": "党支部"})).json()
    assert [item["name"] for item in mine["items"]] == ["东社区第一党支部"]
    too_long = await client.get("/admin/orgs", params={"q": "党" * 51})
    assert too_long.status == 400
    names_the_field(await too_long.text(), "q")
    # PostgreSQL cannot compare text with a NUL in it: refused first, whichever the database.
    nul = await client.get("/admin/orgs", params={"q": "党\x00"})
    assert nul.status == 400
    names_the_field(await nul.text(), "q")


async def test_the_export_is_a_download_of_the_same_report(street: Street) -> None:
    client = street.client
    await sign_in(client, street.staff)
    resp = await client.get("/admin/export", params={"format": "csv", "by": "branch"})
    assert resp.status == 200
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="tally-')
    body = (await resp.read()).decode("utf-8-sig")
    assert "东社区第一党支部" in body and "东社区第二党支部" in body
    # The same filed file as the API's: the general branch beside each branch, and the day.
    assert "所属党总支" in body and "东社区党总支" in body
    resp = await client.get("/admin/export", params={"format": "xlsx", "by": "branch"})
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    cells = [str(c) for row in book.worksheets[-1].iter_rows(values_only=True) for c in row if c]
    assert any("填报日期" in c and "2026年11月25日" in c for c in cells), cells[:6]


async def test_the_cli_link_never_changes_a_role(street: Street) -> None:
    settings, now = street.client.app[SETTINGS], street.client.app[CLOCK].now()
    with pytest.raises(ValidationFailed) as plain:
        await admin_link_for_phone("13900000002", settings, now)
    assert "dangjian make-admin" in plain.value.user_message
    assert (await Member.get(id=street.member.id)).role is Role.MEMBER
    await admin_link_for_phone("13900000001", settings, now)  # a secretary stays one
    assert (await Member.get(id=street.secretary.id)).role is Role.SECRETARY
    with pytest.raises(ValidationFailed) as refused:
        await admin_link_for_phone("13999999999", settings, now)
    assert refused.value.field == "phone"


# ---- the lights, on the database alone -----------------------------------------------------


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "lights.sqlite3"))
    yield
    await close_database()


async def meeting(org: Organisation, kind: str, local: datetime, status: str = "planned") -> None:
    starts = local.replace(tzinfo=ZONE).astimezone(UTC)
    await Meeting.create(
        organisation=org, kind=kind, topic="议题", starts_at=starts,
        ends_at=starts + timedelta(hours=1), status=status,
    )  # fmt: skip


async def test_the_lights_of_a_constructed_month(db: None) -> None:
    today, now = date(2026, 11, 25), NOW  # Wednesday 25 November, 10:00
    one, two = await make_branch(ONE), await make_branch(TWO)
    east, west = [
        await Organisation.create(
            name=name, kind=OrgKind.GROUP, parent=one, path=f"{one.path}/{name}"
        )
        for name in ("东片党小组", "西片党小组")
    ]
    await meeting(one, "支委会", datetime(2026, 11, 3, 9), "held")  # held: green
    await meeting(east, "党小组会", datetime(2026, 11, 25, 9))  # over at 10:00, now: green
    await meeting(west, "党小组会", datetime(2026, 11, 28, 9))  # later this month: amber
    await meeting(one, "支部党员大会", datetime(2026, 11, 20, 9), "cancelled")  # none: due
    await meeting(east, "党课", datetime(2026, 12, 2, 9))  # later this quarter, in a group: amber
    await meeting(two, "支委会", datetime(2026, 10, 30, 9), "held")  # last month
    await meeting(two, "支委会", datetime(2026, 11, 25, 11))  # today, not yet: amber
    await meeting(two, "支部党员大会", datetime(2026, 10, 10, 9), "held")  # this quarter: green

    first, second = await branch_lights([one, two], today, ZONE, "quarter", now=now)
    assert [(light.label, light.state) for light in first.lights] == [
        ("本月支委会", GREEN),
        ("东片党小组本月党小组会", GREEN),
        ("西片党小组本月党小组会", AMBER),
        ("本季度支部党员大会", DUE),
        ("本季度党课", AMBER),
    ]
    assert first.column("group") == AMBER and first.overall == DUE
    assert first.lights[2].next_at == datetime(2026, 11, 28, 1, tzinfo=UTC)
    assert second.column("committee") == AMBER and second.column("group") is None
    assert second.column("branch_meeting") == GREEN and second.column("lecture") == DUE
    assert second.as_dict()["columns"] == {
        "committee": AMBER, "group": None, "branch_meeting": GREEN, "lecture": DUE,
    }  # fmt: skip

    # What is owed (nothing held or booked) is exactly what the monthly reminder lists.
    for branch, lights in ((one, first), (two, second)):
        owed = await missing(branch, today, ZONE, "quarter", now=now)
        assert [light.label for light in lights.lights if light.state in (DUE, RED)] == owed
    assert await branch_lights([], today, ZONE, "month", now=now) == []
