"""The dashboard's branch page, lights, picker and ledger on the real PostgreSQL.

The same story as tests/test_admin_branch_page.py, on the database a district runs: the
attendance counted per meeting (a GROUP BY over a join), the lights' two queries, a search
with a LIKE, the pending list with its organisations' parents.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import openpyxl
import pytest

from server.app import create_app
from server.clock import FrozenClock
from server.models.meetings import Attendance
from server.models.people import Organisation, Role
from server.models.study import Submission
from tests.conftest import make_branch, make_member
from tests.test_admin_branch_page import (
    a_meeting,
    attendance,
    badge,
    cell,
    group_of,
    local,
    meeting_rows,
)
from tests.test_admin_pages import NOW, ONE, TWO, sign_in

pytestmark = pytest.mark.integration


async def test_a_branch_page_on_postgres(
    aiohttp_client: Any, make_settings: Callable[..., Any], pg_url: str
) -> None:
    client = await aiohttp_client(create_app(make_settings(db_url=pg_url), clock=FrozenClock(NOW)))
    one, two = await make_branch(ONE), await make_branch(TWO)
    committee = await Organisation.get(path=ONE.split("/")[0])
    staff = await make_member("赵干事", "13900000003", role=Role.STAFF, org=committee)
    secretary = await make_member("李书记", "13900000001", role=Role.SECRETARY, org=one)
    wang = await make_member("王芳", "13900000002", org=one)
    group = await group_of(one)
    held = await a_meeting(
        one, "支委会", local(2026, 11, 3, 9), status="held",
        people={secretary: Attendance.PRESENT, wang: Attendance.UNKNOWN},
    )  # fmt: skip
    booked = await a_meeting(group, "党小组会", local(2026, 11, 28, 9))
    for n, day in enumerate((date(2026, 11, 20), date(2026, 11, 2))):
        await Submission.create(
            member=wang, organisation_id=one.id, day=day, content="学习心得" * 20,
            length=80, digest=f"d{n}", status="pending",
        )  # fmt: skip

    await sign_in(client, staff)
    found = await (await client.get("/admin/orgs.json", params={"q": "第一"})).json()
    assert [item["name"] for item in found["items"]] == ["东社区第一党支部"]
    overview = await (await client.get("/admin", params={"from": "2026-11-01"})).text()
    assert badge(cell(overview, one.id, "2026-11-01/2026-11-30")) == ("amber", "已安排")
    assert badge(cell(overview, two.id, "2026-10-01/2026-12-31")) == ("due", "待开")

    body = await (await client.get("/admin", params={"org": str(one.id)})).text()
    rows = meeting_rows(body)
    assert list(rows) == [booked.id, held.id]
    assert attendance(rows[held.id]) == ["2", "1", "0", "1", "50.0%"]
    assert rows[booked.id]["情况"] == "已安排"
    waited = re.findall(r'<li data-waited="(\d+)">', body)
    assert waited == ["23", "5"]

    ledger = await client.get("/admin/ledger", params={"org": str(one.id), "year": "2026"})
    assert ledger.status == 200
    assert "支委会" in openpyxl.load_workbook(io.BytesIO(await ledger.read())).sheetnames
