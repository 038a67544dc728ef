"""Staff download the tally through the API: the printed form (填报日期 from the server's clock,
each branch's 党总支) and the CSV with percentages, as `dangjian tally` writes them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from server.app import create_app
from server.clock import FrozenClock
from server.models.people import Organisation
from server.wechat.fake_state import FakeWeChat
from tests.test_api_tallies import NOW, Street


@pytest.fixture
async def street(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> Street:
    """test_api_tallies' street: two branches under two 党总支, a 党课 and a staff member."""
    client = await aiohttp_client(create_app(make_settings(), clock=FrozenClock(NOW)))
    built = Street(client, fake_wechat[0])
    await built.build()
    return built


async def test_the_xlsx_is_filed_today_with_each_branchs_general_branch(street: Street) -> None:
    status, data = await street.get(street.staff, "/api/v1/tallies/export", by="branch")
    assert status == 200
    sheet = load_workbook(io.BytesIO(data))["按党支部"]
    assert sheet["A1"].value.startswith("示范街道党工委 党员参与情况统计（2026年1月1日至")
    assert "填报日期：2026年11月20日" in [c.value for c in sheet[2]]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows["东社区第一党支部"][1] == "东社区党总支"
    assert rows["西社区第一党支部"][1] == "西社区党总支"
    assert rows["东社区第一党支部"][2] == 2  # 组织党员学习人次: the 党课's two present


async def test_the_csv_gives_the_rate_as_a_percentage(street: Street) -> None:
    status, data = await street.get(
        street.staff, "/api/v1/tallies/export", by="branch", format="csv"
    )
    assert status == 200
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    rate = rows[0].index("出勤率")
    one = next(r for r in rows if r[0] == "东社区第一党支部")
    assert one[rate] == "100.0%" and one[1] == "东社区党总支"


async def test_a_hostile_branch_name_is_text_in_both(street: Street) -> None:
    await Organisation.filter(id=street.one.id).update(name='=HYPERLINK("http://evil","x")')
    _, data = await street.get(street.staff, "/api/v1/tallies/export", by="branch")
    sheet = load_workbook(io.BytesIO(data))["按党支部"]
    cell = next(c for c in sheet["A"] if c.value == '=HYPERLINK("http://evil","x")')
    assert cell.data_type == "s"
    _, text = await street.get(street.staff, "/api/v1/tallies/export", by="branch", format="csv")
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert ['\'=HYPERLINK("http://evil","x")', "东社区党总支"] in [r[:2] for r in rows]
