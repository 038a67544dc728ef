"""A 报到单位's 联系卡 on the dashboard, through the real app.

The finance bureau's members reported in the order 周一, 安二, 陈三; 安二 did the most this
quarter and 陈三 nothing.  Staff read any unit's card; 红星社区's 总支书记 reads the units paired
with 红星社区 (from a link on her desk) and is refused a unit paired only with 青山社区 exactly as
an unknown id; one who runs no community gets the dashboard's refusal whatever the id, and a
plain member never gets a session.  The page's figures
are `quarter_card`'s, in the card's order; the XLSX is the chat link's workbook; a quarter to
come, or one not written as 2026Q4, is a 400 naming 季度.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from server.admin.community_card import shown
from server.app import create_app
from server.clock import FrozenClock
from server.downloads import XLSX
from server.models.community import (
    ClaimStatus,
    Community,
    OrderClaim,
    OrderStatus,
    ReportUnit,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.services.community import units
from server.services.community.contact_card import ContactCard, Quarter, quarter_card
from server.services.community.contact_card_file import card_file, row_values
from server.services.people.admin_links import issue_link
from server.typedefs import SETTINGS
from tests import community_world as world
from tests.test_admin_pages import sign_in, token_in

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 2026年第四季度
Q4 = Quarter(2026, 4)
HIDDEN = "无权访问，或该对象不存在"
NOT_YOURS = "只有社区党组织书记和党工委工作人员"
RANKING = ("排行", "名次", "第一名", "最多", "最少", "最佳", "榜")


@dataclass
class Cards:
    client: TestClient
    street: world.Street
    tax: ReportUnit  # paired with 红星社区 only
    far: ReportUnit  # paired with 青山社区 only
    people: dict[str, Volunteer]
    signed: str = ""  # who is signed in: a link signs in once


async def member(
    name: str, phone: str, unit: ReportUnit, community: Community, registered: datetime
) -> Volunteer:
    return await Volunteer.create(
        name=name, phone=phone, unit=unit, community=community,
        grid="第一网格", status=VolunteerStatus.CONFIRMED, registered_at=registered,
        decided_at=registered, confirmed_at=registered,
    )  # fmt: skip


async def served(
    community: Community, who: Volunteer, done: datetime, hours: str, rating: int | None
) -> None:
    """An order confirmed done at `done`, claimed and reported done by `who`."""
    order = await ServiceOrder.create(
        community=community, kind="维修", title="楼道灯维修", starts_at=done, ends_at=done,
        created_at=done - timedelta(days=2), capacity=2, status=OrderStatus.COMPLETED,
        completed_at=done, rating=rating,
    )  # fmt: skip
    await OrderClaim.create(
        order=order, volunteer=who, claimed_at=done - timedelta(days=1),
        status=ClaimStatus.DONE, hours=Decimal(hours), done_at=done,
    )  # fmt: skip


@pytest.fixture
async def cards(aiohttp_client: Any, make_settings: Any) -> Cards:
    client = await aiohttp_client(create_app(make_settings(identity_ttl=0), clock=FrozenClock(NOW)))
    s = await world.street(NOW)
    tax = await units.register_unit(
        "区财政局机关党委", kind="区直机关", contact_name="赵联络", contact_phone="13911112222",
        communities=[s.hongxing],
    )  # fmt: skip
    far = await units.register_unit("青山小学党支部", communities=[s.qingshan])
    march = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    people = {
        "zhou": await member("周一", "13500000001", tax, s.hongxing, march),
        "an": await member("安二", "13500000002", tax, s.hongxing, march + timedelta(days=1)),
        "chen": await member("陈三", "13500000003", tax, s.hongxing, march + timedelta(days=2)),
    }
    october = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)
    await served(s.hongxing, people["zhou"], october, "1.5", 5)
    for day, rating in ((1, 4), (8, None), (15, 5)):
        await served(s.hongxing, people["an"], october + timedelta(days=day), "2", rating)
    await served(s.hongxing, people["an"], datetime(2026, 8, 1, 2, tzinfo=UTC), "6", None)  # Q3
    return Cards(client, s, tax, far, people)


async def as_(c: Cards, who: str) -> None:
    if c.signed != who:
        await sign_in(c.client, c.street.people[who])
        c.signed = who


async def get(c: Cards, who: str, path: str, **query: str) -> tuple[int, str]:
    await as_(c, who)
    resp = await c.client.get(f"/admin/community/units{path}", params=query)
    return resp.status, await resp.text()


async def card_of(c: Cards, unit: ReportUnit, quarter: Quarter = Q4) -> ContactCard:
    return await quarter_card(unit, quarter, NOW, c.client.app[SETTINGS])


def rows_of(page: str) -> list[tuple[int, list[str]]]:
    body = page.split('id="card-table"', 1)[1].split("</tbody>", 1)[0]
    return [
        (int(found.group(1)), re.findall(r"<td[^>]*>(.*?)</td>", found.group(2)))
        for found in re.finditer(r'<tr data-member="(\d+)"[^>]*>(.*?)</tr>', body, re.S)
    ]


def number_on(page: str, key: str) -> str:
    found = re.search(rf'data-key="{key}" data-value="([^"]*)"', page)
    assert found, key
    return found.group(1)


async def test_the_general_secretary_opens_the_card_from_her_desk(cards: Cards) -> None:
    await as_(cards, "hong")
    desk = await (await cards.client.get("/admin/community")).text()
    link = f"/admin/community/units/{cards.tax.id}/card?c={cards.street.hongxing.id}"
    assert f'href="{link}"' in desk
    resp = await cards.client.get(link)
    page = await resp.text()
    assert resp.status == 200
    assert "区财政局机关党委 · 联系卡" in page and "赵联络" in page and "13911112222" in page
    assert "2026年第四季度" in page and "截至11月25日" in page  # so far, by default
    assert f'href="/admin/community?c={cards.street.hongxing.id}#units"' in page
    assert 'id="next-quarter"' not in page  # the next quarter has not come
    assert "?quarter=2026Q3" in page and 'id="card-xlsx"' in page
    assert page.count('<option value="20') == 8  # this quarter and the seven before it
    assert "年度要求：完成服务2次或12小时，达到其一即可" in page
    assert "统计口径：" in page and "名单按报到先后排列，不作排名" in page
    assert not any(word in page for word in RANKING)


async def test_staff_read_any_units_card_and_link_it_from_the_units_table(cards: Cards) -> None:
    for unit in (cards.tax, cards.far):
        status, page = await get(cards, "staff", f"/{unit.id}/card", quarter="2026Q4")
        assert status == 200 and f"{unit.name} · 联系卡" in page
    desk = await (
        await cards.client.get("/admin/community", params={"c": str(cards.street.qingshan.id)})
    ).text()
    assert f'href="/admin/community/units/{cards.far.id}/card?c=' in desk
    assert 'action="/admin/community/units"' in desk  # the staff's units table, with its forms
    status, _ = await get(cards, "staff", "/999999/card")
    assert status == 403


async def test_the_page_shows_the_cards_figures_in_the_cards_order(cards: Cards) -> None:
    card = await card_of(cards, cards.tax)
    status, page = await get(cards, "hong", f"/{cards.tax.id}/card", quarter="2026Q4")
    assert status == 200
    rows = rows_of(page)
    zhou, an, chen = (cards.people[k].id for k in ("zhou", "an", "chen"))
    # 安二 did the most, 陈三 nothing: still by when they reported.
    assert [i for i, _ in rows] == [m.volunteer_id for m in card.members] == [zhou, an, chen]
    assert card.members[1].completed == 3 > card.members[0].completed == 1
    for (_, cells), (n, line) in zip(rows, enumerate(card.members, start=1), strict=True):
        assert cells == [shown(v) for v in row_values(n, line)]
    assert rows[1][1][6] == "6" and rows[0][1][6] == "1.5"  # hours as the card has them
    t = card.totals
    assert number_on(page, "members") == str(t.members) == "3"
    assert number_on(page, "claims") == str(t.claims) == "4"
    assert number_on(page, "completed") == str(t.completed) == "4"
    assert number_on(page, "hours") == "7.5" and t.hours == Decimal("7.5")
    assert number_on(page, "rating") == str(t.average_rating) and t.rated == 3
    assert number_on(page, "served") == str(t.served) == "2"
    assert number_on(page, "met") == str(t.met) == "1"  # 安二: 4 done this year
    not_served = page.split('id="not-served"', 1)[1].split("</section>", 1)[0]
    assert "陈三（红星社区）" in not_served and "周一" not in not_served


async def test_an_earlier_quarter_and_the_nav(cards: Cards) -> None:
    card = await card_of(cards, cards.tax, Quarter(2026, 3))
    status, page = await get(cards, "hong", f"/{cards.tax.id}/card", quarter="2026Q3")
    assert status == 200 and "2026年第三季度" in page and "截至" not in page
    assert 'id="next-quarter"' in page and "?quarter=2026Q4" in page
    assert number_on(page, "completed") == str(card.totals.completed) == "1"
    old = await get(cards, "hong", f"/{cards.tax.id}/card", quarter="2024Q1")
    assert old[0] == 200 and '<option value="2024Q1" selected>' in old[1]


async def test_the_xlsx_is_the_chat_links_workbook(cards: Cards) -> None:
    await as_(cards, "hong")
    resp = await cards.client.get(
        f"/admin/community/units/{cards.tax.id}/card.xlsx", params={"quarter": "2026Q4"}
    )
    assert resp.status == 200 and resp.headers["Content-Type"] == XLSX
    assert f'filename="unit-card-{cards.tax.id}-2026Q4.xlsx"' in resp.headers["Content-Disposition"]
    assert resp.headers["Cache-Control"] == "no-store"
    got = load_workbook(io.BytesIO(await resp.read())).active
    made = await card_file(await card_of(cards, cards.tax), Q4, NOW.date())
    wanted = load_workbook(io.BytesIO(made.data)).active
    assert got is not None and wanted is not None
    values = [list(r) for r in got.iter_rows(values_only=True)]
    assert values == [list(r) for r in wanted.iter_rows(values_only=True)]
    names = [r[1] for r in values if isinstance(r[0], int)]
    assert names == ["周一", "安二", "陈三"]
    default = await cards.client.get(f"/admin/community/units/{cards.tax.id}/card.xlsx")
    assert default.status == 200 and "2026Q4" in default.headers["Content-Disposition"]


async def test_others_are_refused_as_an_unknown_id(cards: Cards) -> None:
    # 红星社区's 总支书记 and a unit paired only with 青山社区: as a unit that does not exist.
    answers = [
        await get(cards, "hong", path)
        for path in (
            f"/{cards.far.id}/card",
            "/999999/card",
            f"/{cards.far.id}/card.xlsx",
            f"/{cards.far.id}/card?quarter=2027Q3",  # refused before the quarter is read
        )
    ]
    assert {status for status, _ in answers} == {403}
    assert all(HIDDEN in text and "青山小学" not in text for _, text in answers)
    assert answers[0][1] == answers[1][1]
    # 青山社区's secretary and the tax bureau (红星社区's).
    foreign = await get(cards, "qing", f"/{cards.tax.id}/card")
    assert foreign[0] == 403 and HIDDEN in foreign[1] and "区财政局" not in foreign[1]
    # A branch secretary signs in to the dashboard but runs no community: its usual refusal,
    # whatever the id.
    branch = [
        await get(cards, "branch", path)
        for path in (f"/{cards.tax.id}/card", "/999999/card", f"/{cards.tax.id}/card.xlsx")
    ]
    assert [status for status, _ in branch] == [403] * 3
    assert branch[0][1] == branch[1][1] == branch[2][1] and NOT_YOURS in branch[0][1]
    assert "区财政局" not in branch[0][1]


async def test_a_plain_member_never_gets_past_signing_in(cards: Cards) -> None:
    plain = cards.street.people["plain"]
    link = await issue_link(cards.client.app[SETTINGS], plain, NOW)
    login = await cards.client.post(
        "/admin/login", data={"t": token_in(link)}, allow_redirects=False
    )
    assert login.status == 403
    answers = [
        await cards.client.get(f"/admin/community/units{path}", allow_redirects=False)
        for path in (f"/{cards.tax.id}/card", "/999999/card", f"/{cards.tax.id}/card.xlsx")
    ]
    assert {(r.status, r.headers["Location"]) for r in answers} == {(303, "/admin/signin")}


@pytest.mark.parametrize(
    ("quarter", "words"),
    [("2027Q1", "还没有到"), ("2026Q5", "2026Q4"), ("abc", "2026Q4"), ("1999Q1", "2026Q4")],
)
async def test_a_quarter_to_come_or_malformed_is_a_clear_400(
    cards: Cards, quarter: str, words: str
) -> None:
    for path in ("card", "card.xlsx"):
        status, page = await get(cards, "staff", f"/{cards.tax.id}/{path}", quarter=quarter)
        assert status == 400 and words in page
        assert 'data-field="quarter"' in page and "请检查：<strong>季度</strong>" in page


async def test_a_malformed_unit_id_is_a_400(cards: Cards) -> None:
    status, page = await get(cards, "staff", "/abc/card")
    assert status == 400 and "无法显示" in page
