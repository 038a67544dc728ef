"""The mini-program API and the dashboard on the real PostgreSQL and Redis.

Two apps share them, each with its own Redis client (as two server processes would; the ORM
connection is one per test process): a token from one works on the other, and a dashboard link
pressed on both signs in once.  Separate `dangjian serve` processes are exercised in
test_postgres_redis.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.models.meetings import Meeting
from server.models.people import Organisation, Role
from server.models.study import Submission
from server.services.tallies.report import tally_report
from server.typedefs import CLOCK, SETTINGS
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import make_branch, make_member

pytestmark = pytest.mark.integration

ONE = "示范街道党工委/东社区党总支/东社区第一党支部"
TWO = "示范街道党工委/西社区党总支/西社区第一党支部"
THOUGHTS = "学习了党章关于党员义务的规定，我要在网格工作中带头服务群众，主动走访困难家庭，" * 2


async def test_the_api_and_dashboard_across_two_apps_on_postgres_and_redis(
    aiohttp_client: Any,
    make_settings: Callable[..., Any],
    fake_wechat: tuple[FakeWeChat, str],
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
) -> None:
    fake = fake_wechat[0]
    settings = make_settings(db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix)
    first: TestClient = await aiohttp_client(create_app(settings))
    second: TestClient = await aiohttp_client(create_app(settings))

    one, two = await make_branch(ONE), await make_branch(TWO)
    committee = await Organisation.get(path="示范街道党工委")
    secretary = await make_member("李书记", "13900000001", role=Role.SECRETARY, org=one)
    wang = await make_member("王芳", "13900000002", org=one)
    other = await make_member("周书记", "13900000003", role=Role.SECRETARY, org=two)
    staff = await make_member("赵敏", "13900000009", role=Role.STAFF, org=committee)

    # Signed in on the first app, the member goes on on the second: the session is in Redis.
    wang_headers = await signed_in(first, fake, wang)
    checked = await second.post("/api/v1/checkin", headers=wang_headers)
    assert checked.status == 200 and (await checked.json())["already"] is False
    again = await first.post("/api/v1/checkin", headers=wang_headers)
    assert (await again.json())["already"] is True
    handed = await second.post("/api/v1/submissions", json={"text": THOUGHTS}, headers=wang_headers)
    assert handed.status == 200, await handed.text()
    thought = (await handed.json())["id"]

    # The secretary schedules on one app and approves the 心得 on the other.
    sec_headers = await signed_in(second, fake, secretary)
    starts = (first.app[CLOCK].now() + timedelta(days=3)).replace(microsecond=0).isoformat()
    made = await first.post(
        "/api/v1/meetings",
        json={"kind": "党课", "starts_at": starts, "topic": "学习党章"},
        headers=sec_headers,
    )
    assert made.status == 200, await made.text()
    meeting = (await made.json())["id"]
    seen = await second.get(f"/api/v1/meetings/{meeting}", headers=wang_headers)
    assert seen.status == 200
    approved = await first.post(
        f"/api/v1/review/submissions/{thought}/approve", headers=sec_headers
    )
    assert approved.status == 200
    assert await Submission.filter(status="approved").count() == 1

    # Another branch's secretary learns nothing about either, on either app.
    other_headers = await signed_in(first, fake, other)
    for client, path in (
        (first, f"/api/v1/meetings/{meeting}/roster"),
        (second, f"/api/v1/review/submissions/{thought}"),
        (first, "/api/v1/meetings/999999/roster"),
    ):
        resp = await client.get(path, headers=other_headers)
        assert resp.status == 403
        assert (await resp.json())["error"] == "无权访问，或该对象不存在。"
    assert await Meeting.all().count() == 1

    # Staff read the committee's tallies, the same as the service computes, and the XLSX.
    staff_headers = await signed_in(second, fake, staff)
    resp = await first.get("/api/v1/tallies", params={"by": "branch"}, headers=staff_headers)
    body = await resp.json()
    today = first.app[CLOCK].today()
    expected = await tally_report(
        committee,
        date(today.year, 1, 1),
        today,
        by="branch",
        today=today,
        zone=first.app[SETTINGS].zone,
        now=first.app[CLOCK].now(),
    )
    assert body == expected.as_dict()
    assert body["total"]["check_ins"] == 1 and body["total"]["approved"] == 1
    export = await second.get(
        "/api/v1/tallies/export", params={"by": "branch"}, headers=staff_headers
    )
    sheets = openpyxl.load_workbook(io.BytesIO(await export.read()), read_only=True)
    assert any(
        body["sentence"] in str(cell)
        for row in sheets.worksheets[0].iter_rows(values_only=True)
        for cell in row
    )

    # Signing out on one app ends the session on both.
    assert (await second.post("/api/v1/auth/logout", headers=wang_headers)).status == 200
    assert (await first.get("/api/v1/profile", headers=wang_headers)).status == 401


async def test_a_dashboard_link_pressed_on_two_apps_signs_in_once(
    aiohttp_client: Any,
    make_settings: Callable[..., Any],
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
) -> None:
    from server.services.people.admin_links import issue_link

    settings = make_settings(db_url=pg_url, redis_url=redis_url, redis_prefix=redis_prefix)
    first: TestClient = await aiohttp_client(create_app(settings))
    second: TestClient = await aiohttp_client(create_app(settings))
    committee = (await make_branch(ONE)).path.split("/")[0]
    staff = await make_member(
        "赵敏", "13900000009", role=Role.STAFF, org=await Organisation.get(path=committee)
    )
    link = await issue_link(settings, staff, first.app[CLOCK].now())
    token = link.rsplit("t=", 1)[1]

    answers = [
        await client.post("/admin/login", data={"t": token}, allow_redirects=False)
        for client in (first, second)
    ]
    assert sorted(a.status for a in answers) == [303, 403]
    winner = next(a for a in answers if a.status == 303)
    cookie = winner.cookies["dj_admin"].value
    # The session lives in Redis: the other app knows it too.
    for client in (first, second):
        page = await client.get("/admin", cookies={"dj_admin": cookie}, allow_redirects=False)
        assert page.status == 200
        assert "共组织党员学习" in await page.text()
