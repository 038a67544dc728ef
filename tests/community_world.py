"""A small street taking part in 双报到, built through the services: two communities, their
managers, a 报到单位, reported members, residents with needs, and a loop run to the end.

红星社区 is a 社区党总支 (its 总支书记 runs it; the secretary of a branch under it does not),
青山社区 a 社区党支部 (its secretary runs it); the committee's staff run both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from server.models.community import (
    Community,
    Need,
    ReportUnit,
    Resident,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Member, Role
from server.services.community import orders, residents, units, volunteers
from tests.conftest import make_branch, make_member

COMMITTEE = "示范街道党工委"
HONGXING = f"{COMMITTEE}/红星社区党总支"
QINGSHAN = f"{COMMITTEE}/青山社区党支部"
# What must never reach the public 晒单: the resident's name, phone and address.
RESIDENT = ("张秀兰", "13912345678", "幸福小区3栋502")


@dataclass
class Street:
    hongxing: Community
    qingshan: Community
    people: dict[str, Member]
    unit: ReportUnit
    resident: Resident  # 红星社区's
    other_resident: Resident  # 青山社区's


async def street(now: datetime) -> Street:
    committee = await make_branch(COMMITTEE)
    hong_org = await make_branch(HONGXING)
    first_branch = await make_branch(f"{HONGXING}/红星社区第一党支部")
    qing_org = await make_branch(QINGSHAN)
    hongxing = await units.add_community(hong_org)
    qingshan = await units.add_community(qing_org)
    people = {
        "hong": await make_member(
            "李总支", "13700000001", role=Role.GENERAL_SECRETARY, org=hong_org
        ),
        "qing": await make_member("赵书记", "13700000002", role=Role.SECRETARY, org=qing_org),
        "staff": await make_member("钱干事", "13700000003", role=Role.STAFF, org=committee),
        "branch": await make_member("孙支书", "13700000004", role=Role.SECRETARY, org=first_branch),
        "plain": await make_member("周党员", "13700000005", org=first_branch),
        "wang": await make_member("王五", "13700000006", org=first_branch),
        "chen": await make_member("陈六", "13700000007", org=first_branch),
        "qian": await make_member("钱七", "13700000008", org=qing_org),
    }
    unit = await units.register_unit(
        "区税务局机关党委", kind="区直机关", communities=[hongxing, qingshan]
    )
    resident = await residents.register(
        "wxresident", "o-res-1", name=RESIDENT[0], phone=RESIDENT[1], community=hongxing,
        place=RESIDENT[2], now=now,
    )  # fmt: skip
    other = await residents.register(
        "wxresident", "o-res-2", name="吴桂芳", phone="13987654321", community=qingshan,
        place="青山苑1栋", now=now,
    )  # fmt: skip
    return Street(hongxing, qingshan, people, unit, resident, other)


async def report(
    s: Street,
    who: str,
    community: Community,
    now: datetime,
    *,
    confirm: bool = True,
    manager: str = "staff",
) -> Volunteer:
    """A street member reports where they live; the community confirms (or leaves it pending)."""
    member = s.people[who]
    v = await volunteers.apply(
        volunteers.Application(
            name=member.name,
            phone=member.phone,
            unit=None,
            member=member,
            community=community,
            skills="水电维修",
        ),
        now,
        appid=None,
        openid=None,
    )
    if confirm:
        v = await volunteers.decide(s.people[manager], v.id, now, confirm=True, grid="第一网格")
    return v


async def outside_volunteers(
    s: Street, community: Community, count: int, now: datetime
) -> list[Volunteer]:
    """`count` in-service members of the unit, confirmed at once (as rows: many, quickly)."""
    return [
        await Volunteer.create(
            name=f"党员{i:02d}",
            phone=f"135{i:08d}",
            unit=s.unit,
            community=community,
            status=VolunteerStatus.CONFIRMED,
            registered_at=now,
            decided_at=now,
            confirmed_at=now,
        )
        for i in range(count)
    ]


async def a_need(s: Street, now: datetime, text: str = "楼道灯坏了，三单元五楼") -> Need:
    return await residents.post_need(s.resident, text, now)


def spec(now: datetime, **kw: object) -> orders.OrderSpec:
    values: dict[str, object] = {
        "kind": "维修",
        "title": "楼道灯维修",
        "place": "幸福小区3栋",
        "starts_at": now + timedelta(days=1),
        "hours": Decimal("1.5"),
        "capacity": 1,
    }
    return orders.OrderSpec(**(values | kw))  # type: ignore[arg-type]


async def served(s: Street, now: datetime, note: str = "已换好楼道灯，试亮正常") -> ServiceOrder:
    """A need dispatched, claimed by 王五, done, confirmed and rated: one 晒单 item."""
    need = await a_need(s, now)
    order = await orders.dispatch(s.people["hong"], spec(now), now, need_id=need.id)
    wang = await Volunteer.get_or_none(member_id=s.people["wang"].id)
    if wang is None:
        wang = await report(s, "wang", s.hongxing, now)
    await orders.claim(wang, order.id, now)
    later = now + timedelta(days=1, hours=2)
    await orders.report_done(wang, order.id, note, later, Decimal("1.5"))
    await orders.confirm_done(s.people["hong"], order.id, later)
    await orders.rate(s.resident, order.id, 5, "很及时", later)
    return await ServiceOrder.get(id=order.id)
