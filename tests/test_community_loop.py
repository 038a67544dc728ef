"""The 四单制 loop as its people live it, at the service layer: a resident asks, the community
dispatches, reported members claim and serve, the community confirms, the resident rates, and
the figures reported upward are read from what happened — nothing more, nothing less."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from server.db import close_database, open_database
from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.community import (
    ClaimStatus,
    Community,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    ReportUnit,
    Resident,
    ServiceEvent,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Member, Organisation, Role
from server.services.community import counts, needs, orders, residents, showcase, timeline, units
from server.services.community.volunteers import Application, apply, decide, move
from tests.conftest import make_branch, make_member, migrated

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
TOMORROW_3PM = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "loop.sqlite3"))
    yield
    await close_database()


@dataclass
class Street:
    qingshan: Community
    hongxing: Community
    tax: ReportUnit
    hospital: ReportUnit
    manager: Member  # 青山社区党总支's 总支书记
    other_manager: Member  # 红星村's
    plain: Member


async def street() -> Street:
    branch = await make_branch("示范街道党工委/青山社区党总支/青山社区第一党支部")
    qingshan_org = await Organisation.get(path="示范街道党工委/青山社区党总支")
    other_branch = await make_branch("示范街道党工委/红星村党总支/红星村第一党支部")
    hongxing_org = await Organisation.get(path="示范街道党工委/红星村党总支")
    qingshan = await units.add_community(qingshan_org)
    hongxing = await units.add_community(hongxing_org)
    tax = await units.register_unit(
        "区税务局机关党委", kind="区直机关", contact_name="赵联络", communities=[qingshan]
    )
    hospital = await units.register_unit("区人民医院党委", communities=[qingshan, hongxing])
    manager = await make_member(
        "李书记", "13700000001", role=Role.GENERAL_SECRETARY, org=qingshan_org
    )
    other = await make_member(
        "周书记", "13700000002", role=Role.GENERAL_SECRETARY, org=hongxing_org
    )
    plain = await make_member("王芳", "13700000003", org=branch)
    assert other_branch.id
    return Street(qingshan, hongxing, tax, hospital, manager, other, plain)


async def reported(
    s: Street, name: str, phone: str, unit: ReportUnit | None = None, skills: str = ""
) -> Volunteer:
    volunteer = await apply(
        Application(name, phone, unit or s.tax, None, s.qingshan, skills),
        NOW,
        appid="wx1",
        openid=f"o-{phone}",
    )
    return await decide(s.manager, volunteer.id, NOW, confirm=True, grid="第三网格")


async def resident(s: Street, name: str = "陈大妈", openid: str = "o-chen") -> Resident:
    return await residents.register(
        "wx1",
        openid,
        name=name,
        phone="13900000009",
        community=s.qingshan,
        place="青山小区三单元",
        now=NOW,
    )


def spec(capacity: int = 1, **kw: object) -> orders.OrderSpec:
    base: dict[str, object] = {
        "kind": "维修",
        "title": "楼道灯维修",
        "place": "青山小区三单元五楼",
        "starts_at": TOMORROW_3PM,
        "hours": Decimal("1"),
        "capacity": capacity,
    }
    base.update(kw)
    return orders.OrderSpec(**base)  # type: ignore[arg-type]


async def test_the_whole_loop_from_a_resident_s_need_to_the_figures_reported_upward(
    db: None,
) -> None:
    s = await street()
    zhang = await reported(s, "张伟", "13800000001", skills="水电维修、助老")
    chen = await resident(s)
    need = await residents.post_need(chen, "楼道灯坏了，三单元五楼", NOW)
    assert [n.id for n in await needs.needs_of(s.qingshan)] == [need.id]

    order = await orders.dispatch(s.manager, spec(), NOW, need_id=need.id)
    assert (await Need.get(id=need.id)).status == NeedStatus.DISPATCHED
    assert [v.id for v in await orders.who_to_tell(order)] == [zhang.id]
    assert [o.id for o in await orders.open_orders(zhang, NOW)] == [order.id]

    await orders.claim(zhang, order.id, NOW)
    assert await orders.open_orders(zhang, NOW) == []  # full: one place
    # The work is reported after it happened, with the hours it took.
    later = TOMORROW_3PM + timedelta(hours=1)
    await orders.report_done(zhang, order.id, "已更换楼道灯", later, Decimal("1.5"))
    await orders.confirm_done(s.manager, order.id, later)
    rated = await orders.rate(chen, order.id, 5, "很及时", later + timedelta(hours=2))
    assert (rated.rating, rated.rating_note) == (5, "很及时")

    steps = [e.action for e in await timeline.timeline(need.id, order.id)]
    assert steps == ["点单", "下单", "接单", "完成", "确认完成", "评价"]
    (shown,) = await showcase.showcase(s.qingshan)
    assert shown.by == ["张伟（区税务局机关党委）"] and shown.done == ["已更换楼道灯"]
    assert shown.hours == Decimal("1.5") and shown.rating == 5

    org = await Organisation.get(path="示范街道党工委")
    report = await counts.service_report(
        org, NOW - timedelta(days=1), later + timedelta(days=1), later
    )
    total = report.total
    assert (total.units, total.volunteers, total.needs, total.dispatched) == (2, 1, 1, 1)
    assert (total.claims, total.completed, total.hours, total.rated) == (1, 1, Decimal("1.5"), 1)
    assert total.average_rating == 5
    assert total.sentence() == "1名报到党员认领服务事项1件，完成1件"
    by_name = {row.name: row for row in report.communities}
    assert by_name["红星村"].claims == 0 and by_name["红星村"].units == 1


async def test_a_claim_on_a_full_closed_or_started_order_is_refused_and_changes_nothing(
    db: None,
) -> None:
    s = await street()
    first = await reported(s, "张伟", "13800000001")
    second = await reported(s, "刘洋", "13800000002")
    order = await orders.dispatch(s.manager, spec(), NOW, community_id=s.qingshan.id)
    await orders.claim(first, order.id, NOW)
    with pytest.raises(Conflict) as full:
        await orders.claim(second, order.id, NOW)
    assert full.value.code == "ORDER_FULL"
    with pytest.raises(Conflict) as twice:
        await orders.claim(first, order.id, NOW)
    assert twice.value.code == "ALREADY_CLAIMED"
    started = TOMORROW_3PM + timedelta(minutes=1)
    await orders.withdraw(first, order.id, NOW)
    with pytest.raises(Conflict) as late:
        await orders.claim(second, order.id, started)
    assert late.value.code == "ORDER_CLOSED"
    cancelled = await orders.dispatch(s.manager, spec(3), NOW, community_id=s.qingshan.id)
    await orders.cancel(s.manager, cancelled.id, "天气原因改期", NOW)
    with pytest.raises(Conflict):
        await orders.claim(second, cancelled.id, NOW)
    assert await OrderClaim.filter(status=ClaimStatus.CLAIMED).count() == 0
    assert (await ServiceOrder.get(id=order.id)).taken == 0


async def test_a_withdrawn_place_can_be_claimed_again_but_not_after_the_window_opens(
    db: None,
) -> None:
    s = await street()
    zhang = await reported(s, "张伟", "13800000001")
    liu = await reported(s, "刘洋", "13800000002")
    order = await orders.dispatch(s.manager, spec(), NOW, community_id=s.qingshan.id)
    await orders.claim(zhang, order.id, NOW)
    await orders.withdraw(zhang, order.id, NOW)
    await orders.claim(liu, order.id, NOW)
    with pytest.raises(Conflict) as started:
        await orders.withdraw(liu, order.id, TOMORROW_3PM)
    assert started.value.code == "ORDER_STARTED"
    await orders.withdraw(liu, order.id, NOW)
    await orders.claim(zhang, order.id, NOW)  # the same member again, on the same row
    assert await OrderClaim.filter(order_id=order.id).count() == 2
    assert (await ServiceOrder.get(id=order.id)).taken == 1


async def test_fifty_members_tapping_the_last_place_at_once_leave_exactly_one_claim(
    db: None,
) -> None:
    s = await street()
    people = [await reported(s, f"党员{i}", f"138000001{i:02d}") for i in range(50)]
    order = await orders.dispatch(s.manager, spec(3), NOW, community_id=s.qingshan.id)
    await orders.claim(people[0], order.id, NOW)
    await orders.claim(people[1], order.id, NOW)
    results = await asyncio.gather(
        *(orders.claim(v, order.id, NOW) for v in people[2:]), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, OrderClaim)]
    assert len(won) == 1
    assert all(isinstance(r, Conflict) and r.code == "ORDER_FULL" for r in results if r not in won)
    assert await OrderClaim.filter(order_id=order.id).count() == 3
    assert (await ServiceOrder.get(id=order.id)).taken == 3


async def test_only_a_confirmed_member_of_the_community_and_of_a_named_unit_may_claim(
    db: None,
) -> None:
    s = await street()
    waiting = await apply(
        Application("孙丽", "13800000005", s.tax, None, s.qingshan, ""),
        NOW,
        appid="wx1",
        openid="o5",
    )
    nurse = await reported(s, "何护士", "13800000006", unit=s.hospital)
    order = await orders.dispatch(
        s.manager, spec(2, kind="医疗", unit=s.tax), NOW, community_id=s.qingshan.id
    )
    with pytest.raises(PermissionDenied) as unconfirmed:
        await orders.claim(waiting, order.id, NOW)
    assert unconfirmed.value.code == "NOT_CONFIRMED"
    with pytest.raises(NotFound):  # for the tax office's members only: not shown to a nurse
        await orders.claim(nurse, order.id, NOW)
    assert await orders.open_orders(nurse, NOW) == []
    # After a move the new community confirms again; until then no claims.
    moved = await move(nurse, s.hongxing, NOW)
    assert moved.status == VolunteerStatus.PENDING and moved.grid == ""
    assert await OrderClaim.all().count() == 0


async def test_reporting_is_once_per_person_and_a_refusal_can_be_answered_by_applying_again(
    db: None,
) -> None:
    s = await street()
    first = await apply(
        Application("张伟", "13800000001", s.tax, None, s.qingshan, "水电，助老"),
        NOW,
        appid="wx1",
        openid="o-zhang",
    )
    assert first.skills == "水电、助老"
    with pytest.raises(Conflict) as again:
        await apply(
            Application("张伟", "138 0000 0001", s.hospital, None, s.qingshan, ""),
            NOW,
            appid="wx1",
            openid="o-other",
        )
    assert again.value.code == "VOLUNTEER_EXISTS"
    with pytest.raises(ValidationFailed) as no_reason:
        await decide(s.manager, first.id, NOW, confirm=False)
    assert no_reason.value.field == "reason"
    with pytest.raises(PermissionDenied):  # 红星村's secretary does not run 青山社区
        await decide(s.other_manager, first.id, NOW, confirm=True)
    with pytest.raises(PermissionDenied):  # nor does a plain member
        await decide(s.plain, first.id, NOW, confirm=True)
    refused = await decide(s.manager, first.id, NOW, confirm=False, reason="不住在本社区")
    assert refused.status == VolunteerStatus.REFUSED
    with pytest.raises(Conflict):
        await decide(s.manager, first.id, NOW, confirm=True)
    back = await apply(
        Application("张伟", "13800000001", s.tax, None, s.hongxing, ""),
        NOW,
        appid="wx1",
        openid="o-zhang",
    )
    assert back.id == first.id and back.status == VolunteerStatus.PENDING
    assert await Volunteer.all().count() == 1
    with pytest.raises(ValidationFailed) as phone:
        await apply(
            Application("李四", "12345", s.tax, None, s.qingshan, ""), NOW, appid=None, openid=None
        )
    assert phone.value.field == "phone"


async def test_only_the_resident_rates_once_within_a_week_and_silence_is_not_satisfaction(
    db: None,
) -> None:
    s = await street()
    zhang = await reported(s, "张伟", "13800000001")
    chen = await resident(s)
    neighbour = await resident(s, "邻居", "o-neighbour")
    late_order = None
    for text in ("楼道灯坏了，三单元五楼", "门口垃圾没人清理"):
        need = await residents.post_need(chen, text, NOW)
        order = await orders.dispatch(s.manager, spec(), NOW, need_id=need.id)
        await orders.claim(zhang, order.id, NOW)
        await orders.report_done(zhang, order.id, "已处理", TOMORROW_3PM)
        await orders.confirm_done(s.manager, order.id, TOMORROW_3PM)
        late_order = order
    assert late_order is not None
    first_id = late_order.id - 1
    with pytest.raises(NotFound):  # someone else's order is not theirs to rate, nor to see
        await orders.rate(neighbour, first_id, 1, "", TOMORROW_3PM)
    with pytest.raises(NotFound):
        await residents.own_need(neighbour, (await Need.first()).id)  # type: ignore[union-attr]
    with pytest.raises(ValidationFailed):
        await orders.rate(chen, first_id, 6, "", TOMORROW_3PM)
    await orders.rate(chen, first_id, 4, "", TOMORROW_3PM)
    with pytest.raises(Conflict):
        await orders.rate(chen, first_id, 5, "", TOMORROW_3PM)
    week_later = TOMORROW_3PM + timedelta(days=7, minutes=1)
    with pytest.raises(Conflict) as closed:
        await orders.rate(chen, late_order.id, 5, "", week_later)
    assert closed.value.code == "RATING_CLOSED"
    org = await Organisation.get(path="示范街道党工委")
    total = (await counts.service_report(org, NOW, week_later, week_later)).total
    assert (total.orders_completed, total.rated, total.unrated) == (2, 1, 1)
    assert total.average_rating == 4  # the unrated one is not counted as a 5


async def test_hostile_orders_are_refused_with_the_field_named_and_nothing_written(
    db: None,
) -> None:
    s = await street()
    chen = await resident(s)
    need = await residents.post_need(chen, "楼道灯坏了，三单元五楼", NOW)
    cases = [
        (spec(starts_at=NOW - timedelta(hours=1)), "starts_at"),
        (spec(0), "capacity"),
        (spec(51), "capacity"),
        (spec(kind="跑腿"), "kind"),
        (spec(hours=Decimal("30")), "hours"),
        (spec(title=" "), "title"),
    ]
    for bad, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            await orders.dispatch(s.manager, bad, NOW, need_id=need.id)
        assert refused.value.field == field
    with pytest.raises(PermissionDenied):  # another community's secretary
        await orders.dispatch(s.other_manager, spec(), NOW, need_id=need.id)
    with pytest.raises(PermissionDenied):  # however wrong the form: the need is not theirs
        await orders.dispatch(s.other_manager, spec(0), NOW, need_id=need.id)
    elsewhere = await units.register_unit("区教育局机关党委", communities=[s.hongxing])
    with pytest.raises(ValidationFailed) as unpaired:
        await orders.dispatch(s.manager, spec(unit=elsewhere), NOW, need_id=need.id)
    assert unpaired.value.field == "unit_id"
    with pytest.raises(PermissionDenied):
        await needs.refuse(s.plain, need.id, "不归社区管", NOW)
    assert await ServiceOrder.all().count() == 0
    assert (await Need.get(id=need.id)).status == NeedStatus.NEW
    refused = await needs.refuse(s.manager, need.id, "属物业维修范围，已转物业", NOW)
    assert refused.reason == "属物业维修范围，已转物业"
    with pytest.raises(Conflict):  # a refused need is not dispatched afterwards
        await orders.dispatch(s.manager, spec(), NOW, need_id=need.id)
    with pytest.raises(ValidationFailed):
        await residents.post_need(chen, "灯", NOW)
    assert await Need.all().count() == 1
    assert await ServiceEvent.filter(action="下单").count() == 0


async def test_the_showcase_names_members_and_never_residents(db: None) -> None:
    s = await street()
    zhang = await reported(s, "张伟", "13800000001")
    chen = await resident(s)
    need = await residents.post_need(chen, "我家水管漏了，青山小区三单元502，电话13900000009", NOW)
    order = await orders.dispatch(
        s.manager, spec(title="水管维修", place="青山小区三单元502"), NOW, need_id=need.id
    )
    await orders.claim(zhang, order.id, NOW)
    await orders.report_done(zhang, order.id, "更换了漏水的阀门", TOMORROW_3PM)
    await orders.confirm_done(s.manager, order.id, TOMORROW_3PM)
    (shown,) = await showcase.showcase(s.qingshan)
    text = repr(shown)
    for private in ("陈大妈", "13900000009", "502", "三单元"):
        assert private not in text
    assert shown.title == "水管维修"
    assert await showcase.showcase(s.hongxing) == []
    assert order.status == OrderStatus.OPEN  # the row read before confirmation is unchanged


async def test_work_reported_after_the_community_closed_the_order_is_not_counted(
    db: None,
) -> None:
    s = await street()
    zhang = await reported(s, "张伟", "13800000001")
    liu = await reported(s, "刘洋", "13800000002")
    order = await orders.dispatch(s.manager, spec(2), NOW, community_id=s.qingshan.id)
    await orders.claim(zhang, order.id, NOW)
    await orders.claim(liu, order.id, NOW)
    later = TOMORROW_3PM + timedelta(hours=2)
    await orders.report_done(zhang, order.id, "已处理", later, Decimal("1"))
    await orders.confirm_done(s.manager, order.id, later)
    # 刘洋 never came; a week later he reports a day's work: refused, nothing counted.
    with pytest.raises(Conflict) as closed:
        await orders.report_done(liu, order.id, "来过了", later + timedelta(days=7), Decimal("24"))
    assert closed.value.code == "ORDER_CLOSED"
    org = await Organisation.get(path="示范街道党工委")
    total = (await counts.service_report(org, NOW, later + timedelta(days=8), later)).total
    assert (total.completed, total.hours) == (1, Decimal("1"))
    (shown,) = await showcase.showcase(s.qingshan)
    assert shown.by == ["张伟（区税务局机关党委）"]


async def test_the_community_s_own_orders_are_neither_rated_nor_unrated(db: None) -> None:
    s = await street()
    zhang = await reported(s, "张伟", "13800000001")
    order = await orders.dispatch(
        s.manager, spec(title="先锋岗值守"), NOW, community_id=s.qingshan.id
    )
    await orders.claim(zhang, order.id, NOW)
    await orders.report_done(zhang, order.id, "值守两小时", TOMORROW_3PM)
    await orders.confirm_done(s.manager, order.id, TOMORROW_3PM)
    org = await Organisation.get(path="示范街道党工委")
    weeks = TOMORROW_3PM + timedelta(days=30)
    total = (await counts.service_report(org, NOW, weeks, weeks)).total
    assert (total.orders_completed, total.rated, total.unrated) == (1, 0, 0)


async def test_cancelling_a_need_s_order_closes_the_need_with_the_reason(db: None) -> None:
    s = await street()
    chen = await resident(s)
    need = await residents.post_need(chen, "楼道灯坏了，三单元五楼", NOW)
    order = await orders.dispatch(s.manager, spec(), NOW, need_id=need.id)
    await orders.cancel(s.manager, order.id, "物业已修好", NOW)
    closed = await Need.get(id=need.id)
    assert (closed.status, closed.reason) == (NeedStatus.CANCELLED, "物业已修好")
    # Posting it again is a new need the community can dispatch afresh.
    again = await residents.post_need(chen, "楼道灯又坏了，三单元五楼", NOW)
    assert again.id != need.id and again.status == NeedStatus.NEW


async def test_the_same_need_sent_twice_is_posted_once(db: None) -> None:
    s = await street()
    chen = await resident(s)
    first = await residents.post_need(chen, "楼道灯坏了，三单元五楼", NOW)
    second = await residents.post_need(chen, "楼道灯坏了，三单元五楼", NOW + timedelta(minutes=1))
    assert second.id == first.id and await Need.all().count() == 1
    hours_later = await residents.post_need(
        chen, "楼道灯坏了，三单元五楼", NOW + timedelta(hours=2)
    )
    assert hours_later.id != first.id  # a while later it is a new need


async def test_a_move_waits_for_open_orders_and_never_rewrites_past_figures(db: None) -> None:
    s = await street()
    zhang = await reported(s, "张伟", "13800000001", unit=s.hospital)
    order = await orders.dispatch(s.manager, spec(), NOW, community_id=s.qingshan.id)
    await orders.claim(zhang, order.id, NOW)
    with pytest.raises(Conflict) as held:
        await move(zhang, s.hongxing, NOW)
    assert held.value.code == "OPEN_CLAIMS" and str(order.id) in held.value.user_message
    later = TOMORROW_3PM + timedelta(hours=2)
    await orders.report_done(zhang, order.id, "已处理", later)
    await orders.confirm_done(s.manager, order.id, later)
    org = await Organisation.get(path="示范街道党工委")
    window = (NOW - timedelta(days=1), later + timedelta(days=1))
    before = (await counts.service_report(org, *window, later)).total
    moved = await move(zhang, s.hongxing, later + timedelta(days=3))
    assert moved.status == VolunteerStatus.PENDING and moved.confirmed_at is not None
    after = (await counts.service_report(org, *window, later + timedelta(days=3))).total
    assert (after.volunteers, after.completed) == (before.volunteers, before.completed) == (1, 1)
    # Sent back by the new community: no longer counted after that, still counted before.
    await decide(
        s.other_manager, zhang.id, later + timedelta(days=4), confirm=False, reason="不住本社区"
    )
    gone = (await counts.service_report(org, NOW, later + timedelta(days=5), later)).total
    assert gone.volunteers == 0
    assert (await counts.service_report(org, *window, later)).total.volunteers == 1


async def test_the_public_totals_count_every_completed_service_not_only_those_shown(
    db: None,
) -> None:
    from server.services.community import public

    s = await street()
    zhang = await reported(s, "张伟", "13800000001")
    for n in range(showcase.SHOWN + 2):
        order = await orders.dispatch(
            s.manager, spec(title=f"第{n}次"), NOW, community_id=s.qingshan.id
        )
        await orders.claim(zhang, order.id, NOW)
        await orders.report_done(zhang, order.id, "已处理", TOMORROW_3PM, Decimal("1"))
        await orders.confirm_done(s.manager, order.id, TOMORROW_3PM)
    assert len(await public.public_showcase(s.qingshan)) == showcase.SHOWN
    totals = await public.totals(s.qingshan)
    assert (totals.orders, totals.hours, totals.members) == (52, Decimal(52), 1)


async def test_the_same_community_order_sent_twice_is_published_once(db: None) -> None:
    s = await street()
    first = await orders.dispatch(
        s.manager, spec(title="教老人跳广场舞"), NOW, community_id=s.qingshan.id
    )
    with pytest.raises(Conflict) as twice:
        await orders.dispatch(
            s.manager,
            spec(title="教老人跳广场舞"),
            NOW + timedelta(minutes=1),
            community_id=s.qingshan.id,
        )
    assert twice.value.code == "ORDER_EXISTS" and str(first.id) in twice.value.user_message
    # Another time, or the same an hour later, is another order.
    await orders.dispatch(
        s.manager,
        spec(title="教老人跳广场舞", starts_at=TOMORROW_3PM + timedelta(days=1)),
        NOW,
        community_id=s.qingshan.id,
    )
    assert await ServiceOrder.all().count() == 2
