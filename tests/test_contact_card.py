"""A 报到单位's 联系卡: each member's quarter counted exactly as the figures reported upward
(`counts`), the members in the order they reported — never by how much they did — those who did
not serve named, the quarter's edges at midnight in Shanghai, and the workbook that prints it.

The rows are written directly, with the moments each step happened, so that every edge (an order
confirmed half an hour either side of midnight on New Year's Eve, a claim withdrawn, an order
cancelled, work reported but not yet confirmed) is where the test puts it.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from server.db import close_database, open_database
from server.errors import ConfigError, ValidationFailed
from server.models.community import (
    ClaimStatus,
    Community,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    ReportUnit,
    Resident,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Organisation
from server.services.community import counts, units
from server.services.community.contact_card import (
    Expectation,
    Quarter,
    progress,
    quarter_card,
    summary,
)
from server.services.community.contact_card_file import card_file, footnote
from server.settings import Settings, load_settings
from tests.conftest import make_branch, migrated

ZONE = ZoneInfo("Asia/Shanghai")
Q4 = Quarter(2026, 4)
AFTER_Q4 = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)
FORMULA_NAME = "=SUM(A1)"
SEPTEMBER = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZONE)  # type: ignore[misc]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "card.sqlite3"))
    yield
    await close_database()


def settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


@dataclass
class World:
    committee: Organisation
    hongxing: Community
    qingshan: Community
    tax: ReportUnit  # the unit whose card is read
    hospital: ReportUnit  # another unit, serving beside it
    people: dict[str, Volunteer]


async def volunteer(
    name: str,
    phone: str,
    unit: ReportUnit | None,
    community: Community,
    registered: datetime,
    *,
    status: VolunteerStatus = VolunteerStatus.CONFIRMED,
    decided: datetime | None = None,
    grid: str = "第一网格",
) -> Volunteer:
    return await Volunteer.create(
        name=name,
        phone=phone,
        unit=unit,
        community=community,
        grid=grid,
        status=status,
        registered_at=registered,
        decided_at=decided or registered,
        confirmed_at=(decided or registered) if status == VolunteerStatus.CONFIRMED else None,
    )


async def order(
    community: Community,
    *,
    completed: datetime | None = None,
    cancelled: bool = False,
    rating: int | None = None,
    created: datetime = SEPTEMBER,
) -> ServiceOrder:
    status = (
        OrderStatus.CANCELLED
        if cancelled
        else OrderStatus.COMPLETED
        if completed
        else OrderStatus.OPEN
    )
    # From a resident's need, as every order that can be rated is.
    resident, _ = await Resident.get_or_create(
        appid="wx",
        openid=f"o-{community.id}",
        defaults={
            "name": "陈大妈",
            "phone": "13900000009",
            "community": community,
            "place": "3栋",
            "created_at": created,
        },
    )
    need = await Need.create(
        resident=resident,
        community=community,
        text="楼道灯坏了",
        status=NeedStatus.DISPATCHED,
        created_at=created,
    )
    return await ServiceOrder.create(
        community=community,
        need=need,
        kind="维修",
        title="楼道灯维修",
        starts_at=created,
        ends_at=created,
        created_at=created,
        capacity=5,
        status=status,
        completed_at=completed,
        rating=rating,
    )


async def claim(
    o: ServiceOrder,
    v: Volunteer,
    claimed: datetime,
    status: ClaimStatus = ClaimStatus.DONE,
    hours: str | None = None,
) -> OrderClaim:
    return await OrderClaim.create(
        order=o,
        volunteer=v,
        claimed_at=claimed,
        status=status,
        hours=Decimal(hours) if hours else None,
        done_at=claimed if status == ClaimStatus.DONE else None,
    )


async def card_world() -> World:
    """The tax bureau's members in the order they reported: 周一, then one whose name looks like
    a formula, then 安二, who does the most; 王五 confirmed only in January; 赵六 pending."""
    committee = await make_branch("示范街道党工委")
    hongxing = await units.add_community(await make_branch("示范街道党工委/红星社区党总支"))
    qingshan = await units.add_community(await make_branch("示范街道党工委/青山社区党总支"))
    tax = await units.register_unit(
        "区税务局机关党委",
        kind="区直机关",
        contact_name="赵联络",
        contact_phone="13911112222",
        communities=[hongxing, qingshan],
    )
    hospital = await units.register_unit(
        "区人民医院党委", contact_phone="13933334444", communities=[hongxing]
    )
    p = {
        "zhou": await volunteer("周一", "13500000001", tax, hongxing, local(2026, 3, 1, 9, 0)),
        "formula": await volunteer(
            FORMULA_NAME, "13500000002", tax, hongxing, local(2026, 3, 2, 9, 0), grid=""
        ),
        "an": await volunteer("安二", "13500000003", tax, qingshan, local(2026, 3, 3, 9, 0)),
        "wang": await volunteer(
            "王五",
            "13500000004",
            tax,
            qingshan,
            local(2026, 12, 20, 9, 0),
            decided=local(2027, 1, 5, 9, 0),
        ),
        "zhao": await volunteer(
            "赵六",
            "13500000005",
            tax,
            qingshan,
            local(2026, 4, 1, 9, 0),
            status=VolunteerStatus.PENDING,
        ),
        "qian": await volunteer("钱七", "13500000006", hospital, hongxing, local(2026, 1, 1, 9, 0)),
        "street": await volunteer("孙八", "13500000007", None, qingshan, local(2026, 1, 1, 9, 0)),
    }
    # O1: two of the unit's members and one of the hospital's; rated 5.
    o1 = await order(hongxing, completed=local(2026, 11, 10, 10, 0), rating=5)
    await claim(o1, p["an"], local(2026, 11, 1, 9, 0), hours="2")
    await claim(o1, p["zhou"], local(2026, 11, 1, 9, 5), hours="1.5")
    await claim(o1, p["qian"], local(2026, 11, 1, 9, 6), hours="2")
    # O2: confirmed at 23:30 on New Year's Eve (15:30 UTC): still the fourth quarter; rated 3.
    o2 = await order(qingshan, completed=local(2026, 12, 31, 23, 30), rating=3)
    await claim(o2, p["an"], local(2026, 12, 30, 9, 0), hours="1")
    await claim(o2, p["street"], local(2026, 12, 30, 9, 0), hours="1")
    # O3: claimed in December, confirmed ten minutes into 2027 (still 31 December in UTC).
    o3 = await order(qingshan, completed=local(2027, 1, 1, 0, 10), rating=4)
    await claim(o3, p["an"], local(2026, 12, 20, 9, 0), hours="4")
    # O4: the third quarter's last minutes: in 周一's year, not in the quarter.
    o4 = await order(hongxing, completed=local(2026, 9, 30, 23, 50))
    await claim(o4, p["zhou"], local(2026, 9, 20, 9, 0), hours="3")
    # O5: claimed, still open.  O9: reported done, not yet confirmed by the community.
    o5 = await order(hongxing)
    await claim(o5, p["zhou"], local(2026, 12, 1, 9, 0), ClaimStatus.CLAIMED)
    o9 = await order(qingshan)
    await claim(o9, p["an"], local(2026, 12, 2, 9, 0), hours="2")
    # O6 cancelled; O7 withdrawn: neither is a claim.
    o6 = await order(qingshan, cancelled=True)
    await claim(o6, p["an"], local(2026, 10, 5, 9, 0), ClaimStatus.CLAIMED)
    o7 = await order(hongxing)
    await claim(o7, p["formula"], local(2026, 10, 6, 9, 0), ClaimStatus.WITHDRAWN)
    return World(committee, hongxing, qingshan, tax, hospital, p)


# ---- quarters --------------------------------------------------------------------------------


def test_quarters_are_calendar_quarters_in_shanghai() -> None:
    # 16:10 UTC on 31 December is ten past midnight on New Year's Day in Shanghai.
    assert Quarter.of(datetime(2026, 12, 31, 16, 10, tzinfo=UTC), ZONE) == Quarter(2027, 1)
    assert Quarter.of(datetime(2026, 12, 31, 15, 59, tzinfo=UTC), ZONE) == Q4
    assert Q4.name == "2026年第四季度" and Quarter(2027, 1).name == "2027年第一季度"
    assert Q4.key == "2026Q4" and Quarter.parse("2026Q4") == Q4
    assert Q4.span(ZONE) == (
        datetime(2026, 9, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
    )
    assert Quarter(2027, 1).previous == Q4 and Q4.next == Quarter(2027, 1)
    for wrong in ("2026Q5", "2026-4", "Q4", "1999Q1"):
        with pytest.raises(ValidationFailed):
            Quarter.parse(wrong)


# ---- the card's figures ----------------------------------------------------------------------


async def test_each_member_counted_as_the_figures_reported_upward(db: None) -> None:
    w = await card_world()
    card = await quarter_card(w.tax, Q4, AFTER_Q4, settings())
    # In the order they reported; 安二 did the most and is last; 王五 was confirmed in January.
    assert [m.name for m in card.members] == ["周一", FORMULA_NAME, "安二"]
    zhou, formula, an = card.members
    assert (zhou.claims, zhou.completed, zhou.hours) == (2, 1, Decimal("1.5"))
    assert (zhou.rated, zhou.average_rating) == (1, 5.0)
    assert (formula.claims, formula.completed, formula.rated) == (0, 0, 0)
    assert formula.community == "红星社区" and formula.grid == ""
    # O6 cancelled is no claim; O3 and O9 are claims, but not completed in the quarter.
    assert (an.claims, an.completed, an.hours, an.rated, an.average_rating) == (
        4, 2, Decimal("3"), 2, 4.0,
    )  # fmt: skip
    # The year: 周一's September service counts, 安二's New Year's one does not.
    assert zhou.year and (zhou.year.completed, zhou.year.hours, zhou.year.met) == (
        2, Decimal("4.5"), True,
    )  # fmt: skip
    assert an.year and (an.year.completed, an.year.met) == (2, True)
    assert formula.year and not formula.year.met
    assert [m.name for m in card.not_served] == [FORMULA_NAME]
    t = card.totals
    assert (t.members, t.claims, t.claimers, t.completed, t.hours) == (3, 6, 2, 3, Decimal("4.5"))
    # O1 had two of the unit's members: one order, one rating.
    assert (t.orders_completed, t.rated, t.average_rating, t.served, t.met) == (2, 2, 4.0, 2, 2)


async def test_the_totals_are_counts_service_report_restricted_to_the_units_members(
    db: None,
) -> None:
    w = await card_world()
    card = await quarter_card(w.tax, Q4, AFTER_Q4, settings())
    start, end = Q4.span(ZONE)
    # The restriction, written here: the street as if only the unit's members had served.
    members = [m.volunteer_id for m in card.members]
    await OrderClaim.exclude(volunteer_id__in=members).delete()
    served = await OrderClaim.filter(status=ClaimStatus.DONE).values_list("order_id", flat=True)
    await ServiceOrder.filter(status=OrderStatus.COMPLETED).exclude(id__in=served).delete()
    total = (await counts.service_report(w.committee, start, end, AFTER_Q4)).total
    t = card.totals
    assert (t.claims, t.claimers, t.completed, t.hours) == (
        total.claims, total.claimers, total.completed, total.hours,
    )  # fmt: skip
    assert (t.orders_completed, t.rated, t.rating_sum, t.average_rating) == (
        total.orders_completed, total.rated, total.rating_sum, total.average_rating,
    )  # fmt: skip


async def test_the_next_quarter_has_the_new_years_service_and_the_late_member(db: None) -> None:
    w = await card_world()
    card = await quarter_card(w.tax, Quarter(2027, 1), AFTER_Q4, settings())
    assert [m.name for m in card.members] == ["周一", FORMULA_NAME, "安二", "王五"]
    an = card.members[2]
    assert (an.claims, an.completed, an.hours) == (0, 1, Decimal("4"))
    assert an.year and (an.year.year, an.year.completed, an.year.met) == (2027, 1, False)
    assert card.so_far and "截至1月10日" in summary(card)


async def test_another_units_card_has_only_its_own_members(db: None) -> None:
    w = await card_world()
    card = await quarter_card(w.hospital, Q4, AFTER_Q4, settings())
    assert [m.name for m in card.members] == ["钱七"]
    assert card.totals.completed == 1 and card.totals.hours == Decimal("2")


async def test_the_expectation_is_a_setting_and_either_part_is_enough(db: None) -> None:
    w = await card_world()
    zhou = w.people["zhou"]
    mine = await progress(zhou, 2026, AFTER_Q4, settings())
    assert mine.sentence() == "今年已完成服务2次、共4.5小时，已达到年度要求（2次或12小时）。"
    stricter = await progress(zhou, 2026, AFTER_Q4, settings(service_yearly_orders=3))
    assert stricter.sentence() == (
        "今年已完成服务2次、共4.5小时；年度要求是3次或12小时，达到其一即可。"
    )
    by_hours = await progress(
        zhou, 2026, AFTER_Q4, settings(service_yearly_orders=5, service_yearly_hours=4.5)
    )
    assert by_hours.met and "（5次或4.5小时）" in by_hours.sentence()
    assert Expectation(2, Decimal(12)).met(0, Decimal(12))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DANGJIAN_SERVICE_YEARLY_ORDERS", "0"),
        ("DANGJIAN_SERVICE_YEARLY_ORDERS", "two"),
        ("DANGJIAN_SERVICE_YEARLY_HOURS", "-1"),
    ],
)
def test_a_bad_expectation_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert name in str(err.value)


# ---- the workbook ----------------------------------------------------------------------------


async def test_the_workbook_prints_the_card_with_no_formula(db: None) -> None:
    w = await card_world()
    card = await quarter_card(w.tax, Q4, AFTER_Q4, settings())
    made = await card_file(card, Q4, date(2027, 1, 10))
    assert made.filename == f"unit-card-{w.tax.id}-2026Q4.xlsx"
    assert made.readable == "区税务局机关党委联系卡2026年第四季度.xlsx"
    sheet = load_workbook(io.BytesIO(made.data)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "区税务局机关党委在职党员到社区报到服务情况（2026年第四季度）"
    assert values[1][0] == "填报单位：示范街道党工委" and values[1][5] == "填报日期：2027年1月10日"
    assert values[2] == [
        "序号", "姓名", "报到社区", "网格", "认领", "完成", "服务时长（小时）",
        "评价（均分/条数）", "本年累计", "是否达到年度要求",
    ]  # fmt: skip
    assert values[3] == [1, "周一", "红星社区", "第一网格", 2, 1, 1.5, "5.0/1", "2次/4.5小时", "是"]
    assert values[4][:2] == [2, FORMULA_NAME] and values[4][3] == "—" and values[4][9] == "否"
    assert values[5][:2] == [3, "安二"]
    assert values[6][:2] == ["合计", "3人"] and values[6][4:8] == [6, 3, 4.5, "4.0/2"]
    text = "\n".join(str(v) for row in values for v in row if v is not None)
    assert "本季度未参加服务的党员（1人）" in text and f"{FORMULA_NAME}（红星社区）" in text
    assert footnote(card) in text and "不作排名" in text
    # Nothing is a formula, not even a name that starts with '='.
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    assert sheet["B5"].data_type == "s" and sheet["B5"].quotePrefix
    assert sheet.print_title_rows == "$3:$3"
    assert sheet.page_setup.orientation == "portrait" and sheet.page_setup.paperSize == 9
