"""The demo street's year of 双报到 and 四单制: the seed report's figures (32 units, 690 reported
members, 1,465 claims) as counts.py counts them, rows that hang together, nothing in the
future but the coming week's orders, and a second run that writes nothing."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from server.db import close_database, open_database
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
    UnitCommunity,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Member, Organisation, Role
from server.services.community import orders
from server.services.community.counts import service_report
from server.services.community.volunteers import decide
from server.services.demo.community import (
    CLAIMS,
    REPORTED,
    VOLUNTEER_BLOCK,
    CommunityReport,
    seed_community,
)
from server.services.demo.street import COMMITTEE, sample_members
from server.services.tallies.report import tally_report
from server.services.tallies.report_file import Filing, to_xlsx
from server.services.tallies.service import moments
from tests.demo_street import DAY, NOW, ZONE, seeded_street

YEAR_AGO = NOW - timedelta(days=365)
MODELS = (
    Community, ReportUnit, UnitCommunity, Volunteer, Resident, Need, ServiceOrder, OrderClaim,
    ServiceEvent,
)  # fmt: skip


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[CommunityReport]:
    url, _, _ = seeded_street(tmp_path / "street.sqlite3")
    await open_database(url)
    yield await seed_community(DAY, ZONE, now=NOW)
    await close_database()


async def test_the_reports_figures_as_counts_counts_them(seeded: CommunityReport) -> None:
    committee = await Organisation.get(path=COMMITTEE)
    report = await service_report(committee, YEAR_AGO, NOW, NOW)
    total = report.total

    assert seeded.written and seeded.figures == total
    assert len(report.communities) == 12
    assert (total.units, total.volunteers) == (32, REPORTED)
    assert total.claims == CLAIMS
    assert total.sentence().startswith(f"{REPORTED}名报到党员认领服务事项{CLAIMS}件，完成")
    assert 0.95 * CLAIMS <= total.completed < CLAIMS  # a few are still open today
    assert total.needs > total.dispatched * 0.7 and total.dispatched > 600
    assert total.rated > 0.6 * total.orders_completed * 0.75
    assert total.average_rating is not None and 4.3 <= total.average_rating <= 4.9
    assert total.unrated > 0
    assert Decimal(1000) < total.hours < Decimal(6000)
    assert sum(c.claims for c in report.communities) == CLAIMS
    assert all(c.units >= 2 and c.volunteers > 0 and c.claims > 0 for c in report.communities)
    assert f"{REPORTED}名报到党员认领服务事项{CLAIMS}件" in seeded.summary()


async def test_the_figures_agree_with_the_rows(seeded: CommunityReport) -> None:
    committee = await Organisation.get(path=COMMITTEE)
    total = (await service_report(committee, YEAR_AGO, NOW, NOW)).total
    claims = await OrderClaim.all().prefetch_related("order")
    counted = [
        c
        for c in claims
        if c.status is not ClaimStatus.WITHDRAWN and c.order.status is not OrderStatus.CANCELLED
    ]
    assert len(counted) == total.claims
    done = [c for c in counted if c.order.status is OrderStatus.COMPLETED]
    assert all(c.status is ClaimStatus.DONE and c.hours for c in done)
    assert len(done) == total.completed
    assert sum((c.hours or Decimal(0) for c in done), Decimal(0)) == total.hours
    ratings = [o.rating for o in await ServiceOrder.filter(rating__not_isnull=True)]
    assert len(ratings) == total.rated and set(ratings) <= {2, 3, 4, 5}
    assert Counter(ratings).most_common(1)[0][0] == 5
    assert await Volunteer.filter(status=VolunteerStatus.CONFIRMED).count() == REPORTED


async def test_rows_hang_together(seeded: CommunityReport) -> None:
    volunteers = {v.id: v for v in await Volunteer.all()}
    units = await ReportUnit.all()
    pairings = Counter(p.unit_id for p in await UnitCommunity.all())
    assert len(units) == 32 and len({u.code for u in units}) == 32
    assert all(1 <= pairings[u.id] <= 3 for u in units)
    paired = {(p.unit_id, p.community_id) for p in await UnitCommunity.all()}
    for v in volunteers.values():
        assert v.unit_id is None or (v.unit_id, v.community_id) in paired
        assert v.unit_id is not None or v.member_id is not None
    demo_phones = [v for v in volunteers.values() if v.phone.startswith(VOLUNTEER_BLOCK)]
    assert len(demo_phones) >= REPORTED - 1

    for order in await ServiceOrder.all().prefetch_related("claims"):
        live = [c for c in order.claims if c.status is not ClaimStatus.WITHDRAWN]
        assert order.taken == len(live) <= order.capacity
        assert order.created_at < order.starts_at < order.ends_at
        for claim in order.claims:
            volunteer = volunteers[claim.volunteer_id]
            assert volunteer.community_id == order.community_id
            assert volunteer.decided_at is not None and volunteer.decided_at < claim.claimed_at
            assert order.created_at < claim.claimed_at < NOW
        if order.status is OrderStatus.COMPLETED:
            assert order.completed_at is not None and order.completed_at < NOW
            assert order.rated_at is None or order.completed_at < order.rated_at < NOW
            assert order.rating is None or order.need_id is not None  # only a resident rates
    needs = await Need.all().prefetch_related("order")
    for need in needs:
        assert need.created_at < NOW
        dispatched = need.status is NeedStatus.DISPATCHED
        assert dispatched == (getattr(need, "order", None) is not None)
    statuses = Counter(n.status for n in needs)
    assert statuses[NeedStatus.REFUSED] > 0 and statuses[NeedStatus.NEW] >= 3
    assert await ServiceOrder.filter(status=OrderStatus.CANCELLED).exists()
    assert await OrderClaim.filter(status=ClaimStatus.WITHDRAWN).exists()
    assert await ServiceEvent.filter(at__gte=NOW).count() == 0


async def test_every_step_has_its_event(seeded: CommunityReport) -> None:
    events = Counter(e.action for e in await ServiceEvent.all())
    claims = await OrderClaim.all()
    assert events["点单"] == await Need.all().count()
    assert events["下单"] == await ServiceOrder.all().count()
    assert events["接单"] == len(claims)
    assert events["放弃"] == sum(c.status is ClaimStatus.WITHDRAWN for c in claims)
    assert events["完成"] == sum(c.status is ClaimStatus.DONE for c in claims)
    assert events["确认完成"] == await ServiceOrder.filter(status=OrderStatus.COMPLETED).count()
    assert events["评价"] == await ServiceOrder.filter(rating__not_isnull=True).count()
    assert events["不受理"] == await Need.filter(status=NeedStatus.REFUSED).count()
    assert events["报到"] == await Volunteer.all().count()


async def test_today_there_is_work_and_something_to_claim(seeded: CommunityReport) -> None:
    coming = await ServiceOrder.filter(status=OrderStatus.OPEN, starts_at__gt=NOW)
    assert coming and all(o.starts_at <= NOW + timedelta(days=8) for o in coming)
    assert all(o.taken < o.capacity for o in coming)
    awaiting = await ServiceOrder.filter(status=OrderStatus.OPEN, starts_at__lt=NOW)
    done = set(await OrderClaim.filter(status=ClaimStatus.DONE).values_list("order_id", flat=True))
    assert awaiting and all(o.id in done for o in awaiting)
    assert seeded.pending == 3
    # The printed sample 党员 has reported where he lives and may claim at once.
    member = next(s for s in await sample_members(2023, DAY) if s.role is Role.MEMBER)
    volunteer = await Volunteer.get(phone=member.phone)
    assert volunteer.status is VolunteerStatus.CONFIRMED and volunteer.member_id is not None
    assert await orders.open_orders(volunteer, NOW)


async def test_a_second_run_writes_nothing(seeded: CommunityReport) -> None:
    before = {m.__name__: await m.all().count() for m in MODELS}
    again = await seed_community(DAY, ZONE, now=NOW + timedelta(minutes=5))
    assert not again.written and "already seeded" in again.summary()
    assert {m.__name__: await m.all().count() for m in MODELS} == before
    assert again.figures is not None and again.figures.claims == CLAIMS


async def test_the_staff_report_carries_the_figures_beside_the_study_ones(
    seeded: CommunityReport,
) -> None:
    committee = await Organisation.get(path=COMMITTEE)
    start = DAY.replace(month=1, day=1)
    report = await tally_report(committee, start, DAY, by="branch", today=DAY, zone=ZONE, now=NOW)
    service = report.service
    assert service is not None
    first, after = moments(start, DAY, ZONE)
    expected = (await service_report(committee, first, after, NOW)).total
    assert service.total == expected and len(service.communities) == 12
    assert service.sentence == f"2026年以来，{expected.sentence()}"
    assert report.as_dict()["service"]["total"]["claims"] == expected.claims

    book = load_workbook(io.BytesIO(to_xlsx(report, Filing(DAY))))
    assert book.sheetnames == ["汇总", "按党支部", "双报到"]
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=3, values_only=True)}
    assert summary["双报到"] == service.sentence and summary["汇总"] == report.sentence
    rows = {r[0]: r for r in book["双报到"].iter_rows(min_row=4, values_only=True) if r[0]}
    assert rows["合计"][1:3] == (32, REPORTED)
    assert rows["合计"][5] == expected.claims and rows["合计"][7] == expected.completed
    assert f"汇总：{service.sentence}" in rows

    # The community's 党总支 reports its figures; a branch under it does not show them as its
    # own (they are the community's); by month none is asked for.
    general = await Organisation.get(path=f"{COMMITTEE}/红星村党总支")
    mine = await tally_report(general, start, DAY, by=None, today=DAY, zone=ZONE, now=NOW)
    assert mine.service is not None and [c.name for c in mine.service.communities] == ["红星村"]
    branch = await Organisation.filter(path__startswith=f"{COMMITTEE}/红星村党总支/").first()
    assert branch is not None
    theirs = await tally_report(branch, start, DAY, by=None, today=DAY, zone=ZONE, now=NOW)
    assert theirs.service is None
    months = await tally_report(
        committee, start, DAY, by="month", today=DAY, zone=ZONE, now=NOW, service=False
    )
    assert months.service is None and months.as_dict()["service"] is None


async def test_the_demo_s_waiting_members_can_be_confirmed_as_the_summary_invites(
    seeded: CommunityReport,
) -> None:
    # Stored as the server stores moments (UTC), so the community's decision finds them.
    waiting = await Volunteer.filter(status=VolunteerStatus.PENDING).prefetch_related("community")
    assert len(waiting) == 3
    for volunteer in waiting:
        org = await Organisation.get(id=volunteer.community.organisation_id)
        leader = await Member.filter(organisation_id=org.id, role=Role.GENERAL_SECRETARY).first()
        assert leader is not None
        decided = await decide(leader, volunteer.id, NOW, confirm=True, grid="第一网格")
        assert decided.status == VolunteerStatus.CONFIRMED
