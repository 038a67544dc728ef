"""A year of the demo street's 党员双报到 and 四单制, shaped like the seed report: 32 unit Party
organisations, 690 in-service members reported to the 12 村（社区）, and "690名报到党员认领服务
事项1465件" — exactly 1,465 claims counted (counts.py's rules) in the year up to `now`.

Our choices where the report is silent:

- Each 报到单位 is paired with one to three communities (every community has at least two);
  its members report to one of them, most before the year began, some during it.  Phones are
  1710000xxxx (members and unit contacts), residents' 1720000xxxx: obviously not real.
- About three in four orders come from a resident's need (one to three places, rated by the
  resident within the week, most 4–5, some never); the rest are the community's own 先锋岗 and
  微心愿 with more places and no rating.  A few needs are refused, a few orders cancelled, a
  few claims withdrawn — none of which count.
- So that each community has work to do today: open orders in the coming week (not full, so
  `服务` shows them), two orders done and awaiting the community's confirmation, a few needs
  and three members' 报到 waiting.  The printed sample 党员 is a confirmed 报到党员 of his own
  community, so he can claim one at once.

Everything is drawn from `random.Random(f"{seed}:c")` and written once, in bulk, with every
step's `ServiceEvent`; a street with any demo 双报到 row gets nothing more.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

from tortoise.models import Model
from tortoise.transactions import in_transaction

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
from server.services.community.counts import ServiceFigures, service_report
from server.services.community.units import _ALPHABET, _LETTERS, add_community
from server.services.demo import community_texts as texts
from server.services.demo.rows import insert, insert_with_ids
from server.services.demo.street import COMMITTEE, COMMUNITIES, _cn, _name, sample_members
from server.services.people.orgs import SEPARATOR

VOLUNTEER_BLOCK = "1710000"
RESIDENT_BLOCK = "1720000"
REPORTED = 690
CLAIMS = 1465
DAYS = 365
PENDING = 3
NEW_NEEDS = 4
AWAITING = 2
APPID = "demo"  # residents' WeChat users: never a real appid
SEASONS = {1: 1.2, 2: 1.1, 3: 1.5, 7: 1.3, 9: 1.1, 10: 1.3}  # 春节, 学雷锋, 七一, 重阳


@dataclass
class CommunityReport:
    first: date
    today: date
    written: bool = False
    rows: int = 0
    communities: int = 0
    units: int = 0
    pending: int = 0
    residents: int = 0
    figures: ServiceFigures | None = None
    # For trying it in chat: a unit's 报到码 and a community it is paired with.
    sample_code: str = ""
    sample_unit: str = ""
    sample_community: str = ""

    def try_it(self) -> str:
        if not self.sample_code:
            return ""
        where = self.sample_community
        return (
            "试用双报到 / try 双报到（在公众号里发送 / send in chat）：\n"
            f"  居民 resident：居民登记 张三 13800000000 {where} 幸福小区3栋"
            "，再发 点单 楼道灯坏了，3栋5楼\n"
            f"  在职党员 in-service member（{self.sample_unit}）："
            f"报到 {self.sample_code} 李四 13900000000\n"
            "  社区 community：用上面的总支书记绑定行绑定后发送 社区"
            " / bind as the 总支书记 above, then 社区"
        )

    def summary(self) -> str:
        head = (
            f"示范双报到 demo 党员双报到：村（社区）communities {self.communities}，报到单位 "
            f"units {self.units}，待确认报到 pending {self.pending}，居民 residents "
            f"{self.residents}"
        )
        if self.written:
            head += f"（共写入 {self.rows:,} 行 rows）"
        else:
            head += "（已有数据，未再添加 / already seeded, nothing added）"
        f = self.figures
        if f is None:
            return head
        rating = f"平均 average {f.average_rating} 分" if f.average_rating else "无 none"
        return (
            f"{head}\n  近一年 the past year（{self.first} 至 {self.today}）：居民点单 needs "
            f"{f.needs}，社区下单 dispatched {f.dispatched}，{f.sentence()}，服务时长 hours "
            f"{f.hours} 小时，评价 rated {f.rated} 单（{rating}）"
        )


def _now(today: date, zone: ZoneInfo, now: datetime | None) -> datetime:
    if now is not None:
        return now.astimezone(zone)
    current = datetime.now(zone)
    return current if current.date() == today else datetime.combine(today, time(20), zone)


async def demo_communities() -> list[Community]:
    """The 12 communities of the demo street, made to take part (again: the same ones)."""
    communities = []
    for name in COMMUNITIES:
        org = await Organisation.get_or_none(path=f"{COMMITTEE}{SEPARATOR}{name}党总支")
        if org is not None:
            communities.append(await add_community(org))
    return communities


async def seeded() -> bool:
    names = [name for name, _, _ in texts.UNITS]
    return (
        await Volunteer.filter(phone__startswith=VOLUNTEER_BLOCK).exists()
        or await ReportUnit.filter(name__in=names).exists()
    )


async def seed_community(
    today: date, zone: ZoneInfo, *, seed: int = 2023, now: datetime | None = None
) -> CommunityReport:
    """Write the year up to `now` (and the coming week's orders); nothing if any exist."""
    now = _now(today, zone, now)
    first = now - timedelta(days=DAYS)
    report = CommunityReport(first.date(), today)
    communities = await demo_communities()
    if not communities:
        return report
    if not await seeded():
        managers = await _managers(communities)
        samples = [s for s in await sample_members(seed, today) if s.role is Role.MEMBER]
        street_members = await Member.filter(phone__in=[s.phone for s in samples])
        year = _Year(random.Random(f"{seed}:c"), now, zone, communities, managers)
        async with in_transaction():
            report.rows = await year.write(street_members)
        report.written = True
    report.communities = len(communities)
    ids = [c.id for c in communities]
    report.units = len(
        set(await UnitCommunity.filter(community_id__in=ids).values_list("unit_id", flat=True))
    )
    report.pending = await Volunteer.filter(
        community_id__in=ids, status=VolunteerStatus.PENDING
    ).count()
    report.residents = await Resident.filter(community_id__in=ids).count()
    committee = await Organisation.get(path=COMMITTEE)
    report.figures = (await service_report(committee, first, now, now)).total
    # The sample 总支书记 printed to bind as runs the first community: a unit paired with it.
    pairing = await UnitCommunity.filter(community_id__in=ids).order_by("community_id", "unit_id")
    pairing_first = pairing[0] if pairing else None
    if pairing_first is not None:
        unit = await ReportUnit.get(id=pairing_first.unit_id)
        community = await Community.get(id=pairing_first.community_id)
        report.sample_code, report.sample_unit = unit.code, unit.name
        report.sample_community = community.name
    return report


async def _managers(communities: list[Community]) -> dict[int, Member]:
    """Each community's 总支书记: who confirms, dispatches and closes its orders."""
    found = {}
    for community in communities:
        member = await Member.filter(
            organisation_id=community.organisation_id, role=Role.GENERAL_SECRETARY
        ).first()
        if member is not None:
            found[community.id] = member
    return found


@dataclass(eq=False)
class _Order:
    row: ServiceOrder
    need: Need | None
    resident: Resident | None
    done_note: str  # what its members report they did
    claims: list[OrderClaim] = field(default_factory=list)


class _Year:
    """The plan, built and written in the order rows point to each other."""

    def __init__(
        self,
        rng: random.Random,
        now: datetime,
        zone: ZoneInfo,
        communities: list[Community],
        managers: dict[int, Member],
    ) -> None:
        self.rng, self.now, self.zone = rng, now, zone
        self.first = now - timedelta(days=DAYS)
        self.communities = [c for c in communities if c.id in managers]
        self.managers = managers
        self.events: list[tuple[datetime, str, str, Need | None, ServiceOrder | None, str]] = []
        self.volunteers: dict[int, list[Volunteer]] = {c.id: [] for c in self.communities}
        self.residents: dict[int, list[Resident]] = {c.id: [] for c in self.communities}
        self.keenness: dict[int, float] = {}  # by id(volunteer)
        self.needs: list[Need] = []
        self.orders: list[_Order] = []
        self.names: dict[int, str] = {}  # volunteer id(row) -> name, for the events

    # --- helpers -------------------------------------------------------------------------------

    def _between(self, start: datetime, end: datetime) -> datetime:
        seconds = max(0.0, (end - start).total_seconds())
        return (start + timedelta(seconds=self.rng.uniform(0, seconds))).replace(microsecond=0)

    def _office_hours(self, moment: datetime) -> datetime:
        """The community confirms in working hours: a moment at night moves to the next
        morning (08:30–11:30)."""
        local = moment.astimezone(self.zone)
        if 8 <= local.hour < 20:
            return moment
        day = local.date() + timedelta(days=1 if local.hour >= 20 else 0)
        morning = datetime.combine(day, time(8, 30), self.zone)
        return self._between(morning, morning + timedelta(hours=3))

    def _at(self, day: date, hours: Sequence[int]) -> datetime:
        return datetime.combine(
            day, time(self.rng.choice(hours), self.rng.choice((0, 30))), self.zone
        )

    def _manager(self, community_id: int) -> str:
        return f"社区 {self.managers[community_id].name}"

    def _event(
        self,
        at: datetime,
        actor: str,
        action: str,
        *,
        need: Need | None = None,
        order: ServiceOrder | None = None,
        note: str = "",
    ) -> None:
        self.events.append((at, actor[:60], action, need, order, note[:300]))

    def _place(self, community: Community) -> str:
        if community.name.endswith("村"):
            return f"{community.name}{self.rng.choice(texts.VILLAGE_PLACES)}"
        return f"{self.rng.choice(texts.ESTATES)}小区{self.rng.randint(1, 12)}栋"

    # --- units and members ---------------------------------------------------------------------

    def _code(self, taken: set[str]) -> str:
        while True:
            code = self.rng.choice(_LETTERS) + "".join(self.rng.choices(_ALPHABET, k=5))
            if code not in taken:
                taken.add(code)
                return code

    async def _units(self, phones: list[str]) -> tuple[list[ReportUnit], list[list[Community]]]:
        # flat=True: the codes themselves (Tortoise 1.1 types them as tuples)
        taken = set(cast("list[str]", await ReportUnit.all().values_list("code", flat=True)))
        units = [
            ReportUnit(
                name=name,
                kind=kind,
                contact_name=_name(self.rng, self.rng.random() < 0.4),
                contact_phone=phones.pop(),
                code=self._code(taken),
                created_at=self._between(self.first - timedelta(days=400), self.first),
            )
            for name, kind, _ in texts.UNITS
        ]
        await insert_with_ids(ReportUnit, units)
        paired = []
        n = len(self.communities)
        for i, _ in enumerate(units):
            chosen = [self.communities[i % n]]  # round robin first: every community has some
            extra = self.rng.choices((0, 1, 2), weights=(45, 40, 15))[0]
            others = [c for c in self.communities if c is not chosen[0]]
            chosen += self.rng.sample(others, min(extra, len(others)))
            paired.append(chosen)
        pairings = [
            UnitCommunity(unit_id=unit.id, community_id=c.id)
            for unit, cs in zip(units, paired, strict=True)
            for c in cs
        ]
        await insert(UnitCommunity, pairings)
        return units, paired

    def _skills(self, unit_name: str, kind: str) -> str:
        own = {"医院": "医疗保健", "学校": "课业辅导"}.get(kind)
        if any(word in unit_name for word in ("司法", "人力资源")):
            own = "法律咨询"
        if any(word in unit_name for word in ("供电", "自来水", "燃气", "住房", "物业")):
            own = "水电维修"
        picked = self.rng.sample(texts.SKILLS, self.rng.choice((0, 1, 1, 2)))
        return "、".join(dict.fromkeys(([own] if own else []) + picked))

    async def _volunteers(self, street_members: list[Member]) -> int:
        phones = [f"{VOLUNTEER_BLOCK}{n:04d}" for n in self.rng.sample(range(10_000), 1_000)]
        units, paired = await self._units(phones)
        by_path = {c.organisation_id: c for c in self.communities}
        orgs = {o.id: o.path for o in await Organisation.filter(id__in=list(by_path))}
        rows: list[Volunteer] = []
        for member in street_members:  # the printed sample 党员, reporting where he lives
            path = (await Organisation.get(id=member.organisation_id)).path
            home = next(
                (c for i, c in by_path.items() if path.startswith(orgs[i] + SEPARATOR)), None
            )
            if home is not None:
                rows.append(self._volunteer(member.name, member.phone, None, home, member))
        weights = [size for _, _, size in texts.UNITS]
        for unit, cs, size in zip(
            units, paired, _shares(REPORTED - len(rows), weights), strict=True
        ):
            for _ in range(size):
                home = self.rng.choices(cs, weights=[2] + [1] * (len(cs) - 1))[0]
                row = self._volunteer(
                    _name(self.rng, self.rng.random() < 0.45), phones.pop(), unit, home, None
                )
                rows.append(row)
        # Waiting for the community today: the first three communities' newest members.
        for community in self.communities[:PENDING]:
            unit = next(u for u, cs in zip(units, paired, strict=True) if community in cs)
            row = self._volunteer(
                _name(self.rng, self.rng.random() < 0.45), phones.pop(), unit, community, None
            )
            row.status, row.decided_at, row.decided_by_id, row.grid, row.confirmed_at = (
                VolunteerStatus.PENDING,
                None,
                None,
                "",
                None,
            )
            row.registered_at = self._between(self.now - timedelta(days=3), self.now)
            rows.append(row)
        await insert_with_ids(Volunteer, rows)
        homes = {c.id: c.name for c in self.communities}
        for row, unit_name in ((r, self._unit_name(r, units)) for r in rows):
            self._event(
                row.registered_at,
                f"党员 {row.name}",
                "报到",
                note=f"{unit_name} → {homes[row.community_id]}",
            )
            if row.status is VolunteerStatus.CONFIRMED:
                assert row.decided_at is not None
                self.volunteers[row.community_id].append(row)
                self.keenness[row.id] = self.rng.choice((0.2, 0.6, 1.0, 1.0, 1.5, 2.5, 4.0))
                self._event(
                    row.decided_at,
                    self._manager(row.community_id),
                    "确认报到",
                    note=f"{row.name}：{row.grid}",
                )
        return len(units) + len(rows)

    @staticmethod
    def _unit_name(row: Volunteer, units: list[ReportUnit]) -> str:
        return next((u.name for u in units if u.id == row.unit_id), "本街道")

    def _volunteer(
        self,
        name: str,
        phone: str,
        unit: ReportUnit | None,
        community: Community,
        member: Member | None,
    ) -> Volunteer:
        if self.rng.random() < 0.85:  # reported before the year began
            registered = self._between(self.first - timedelta(days=200), self.first)
        else:
            registered = self._between(self.first, self.first + timedelta(days=270))
        decided = registered + timedelta(minutes=self.rng.randint(60, 3 * 24 * 60))
        row = Volunteer(
            name=name,
            phone=phone,
            unit_id=unit.id if unit else None,
            member_id=member.id if member else None,
            community_id=community.id,
            grid=f"第{_cn(self.rng.randint(1, 14))}网格",
            skills=self._skills(unit.name, unit.kind) if unit else "助老陪护",
            status=VolunteerStatus.CONFIRMED,
            registered_at=registered,
            decided_at=min(decided, self.now - timedelta(hours=1)),
            decided_by_id=self.managers[community.id].id,
        )
        row.confirmed_at = row.decided_at
        return row

    # --- residents, needs and orders -----------------------------------------------------------

    async def _residents(self) -> int:
        phones = iter(self.rng.sample(range(10_000), 10_000))
        rows = []
        number = 0
        for community in self.communities:
            for k in range(self.rng.randint(30, 55)):
                number += 1
                early = k < 5  # some were there before the year began
                rows.append(
                    Resident(
                        name=_name(self.rng, self.rng.random() < 0.55),
                        phone=f"{RESIDENT_BLOCK}{next(phones):04d}",
                        community_id=community.id,
                        place=self._place(community),
                        appid=APPID,
                        openid=f"demo-resident-{number:04d}",
                        created_at=self._between(
                            self.first - timedelta(days=60),
                            self.first if early else self.now - timedelta(days=10),
                        ),
                    )
                )
        rows.sort(key=lambda r: r.created_at)
        await insert_with_ids(Resident, rows)
        for row in rows:
            self.residents[row.community_id].append(row)
        return len(rows)

    def _resident(self, community: Community, before: datetime) -> Resident:
        there = self.residents[community.id]
        ready = [r for r in there if r.created_at < before] or there[:1]
        return self.rng.choice(ready)

    def _need(
        self, community: Community, created: datetime, template: texts.Need
    ) -> tuple[Need, Resident]:
        resident = self._resident(community, created)
        need = Need(
            resident_id=resident.id,
            community_id=community.id,
            text=template[1].format(place=resident.place),
            status=NeedStatus.NEW,
            created_at=created,
        )
        self.needs.append(need)
        self._event(created, f"居民 {resident.name}", "点单", need=need, note=need.text[:100])
        return need, resident

    def _claimers(self, community: Community, before: datetime, k: int) -> list[Volunteer]:
        ready = [v for v in self.volunteers[community.id] if v.decided_at and v.decided_at < before]
        picked: list[Volunteer] = []
        while ready and len(picked) < k:
            one = self.rng.choices(ready, weights=[self.keenness[v.id] for v in ready])[0]
            picked.append(one)
            ready.remove(one)
        return picked

    def _order(
        self,
        community: Community,
        created: datetime,
        starts: datetime,
        *,
        own: bool,
        wanted: int | None,
        most: int = 50,
    ) -> _Order | None:
        """An order dispatched at `created`, with `wanted` claims (None: as drawn), at most
        `most`; None when nobody could take it (its need, if any, is dropped with it)."""
        rng = self.rng
        manager = self.managers[community.id]
        if own:
            kind, title, done, fewest, places = rng.choice(texts.OWN)
            capacity = rng.randint(fewest, places)
            claims = rng.randint(max(1, math.ceil(capacity * 0.6)), capacity)
            hours = Decimal(rng.choice(("2", "2", "3", "3", "4")))
            place = community.name if rng.random() < 0.5 else self._place(community)
            need, resident = None, None
            title = title.format(place=place)
        else:
            template = rng.choice(texts.NEEDS)
            kind, done = template[0], template[3]
            capacity = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
            claims = capacity if rng.random() > 0.08 else max(1, capacity - 1)
            hours = Decimal(rng.choice(("1", "1", "1.5", "2", "2", "3")))
            need, resident = self._need(
                community, created - timedelta(minutes=rng.randint(90, 40 * 60)), template
            )
            place = resident.place
            title = template[2].format(place=place)
        wanted = min(claims if wanted is None else wanted, most)
        claimers = self._claimers(community, created, wanted)
        if not claimers and wanted != 0:
            if need is not None:  # nobody to send: the need is still waiting, not ordered
                self.needs.remove(need)
                self.events.pop()
            return None
        row = ServiceOrder(
            community_id=community.id,
            kind=kind,
            title=title,
            place=place,
            starts_at=starts,
            ends_at=starts + timedelta(hours=float(hours)),
            expected_hours=hours,
            capacity=max(capacity, len(claimers)),
            taken=len(claimers),
            status=OrderStatus.OPEN,
            created_at=created,
            created_by_id=manager.id,
        )
        if need is not None:
            need.status, need.decided_at, need.decided_by_id = (
                NeedStatus.DISPATCHED,
                created,
                manager.id,
            )
        order = _Order(row, need, resident, done)
        self._event(
            created,
            self._manager(community.id),
            "下单",
            need=need,
            order=row,
            note=f"{kind}，{row.capacity}人，{hours}小时",
        )
        latest = min(
            starts - timedelta(minutes=30),
            created + timedelta(hours=36),
            self.now - timedelta(minutes=1),
        )
        for volunteer in claimers:
            at = self._between(created + timedelta(minutes=5), latest)
            order.claims.append(
                OrderClaim(volunteer_id=volunteer.id, status=ClaimStatus.CLAIMED, claimed_at=at)
            )
            self._event(at, f"党员 {volunteer.name}", "接单", order=row)
        self.orders.append(order)
        return order

    def _withdrawn(self, order: _Order, community: Community) -> None:
        """Someone claimed, then gave the place up before the day (not counted)."""
        claimed = {c.volunteer_id for c in order.claims}
        others = [
            v for v in self._claimers(community, order.row.created_at, 20) if v.id not in claimed
        ]
        if not others:
            return
        volunteer = others[0]
        start = order.row.created_at + timedelta(minutes=5)
        at = self._between(start, min(order.row.starts_at - timedelta(hours=2), self.now))
        gone = self._between(at, min(order.row.starts_at - timedelta(hours=1), self.now))
        order.claims.append(
            OrderClaim(
                volunteer_id=volunteer.id,
                status=ClaimStatus.WITHDRAWN,
                claimed_at=at,
                withdrawn_at=gone,
            )
        )
        self._event(at, f"党员 {volunteer.name}", "接单", order=order.row)
        self._event(gone, f"党员 {volunteer.name}", "放弃", order=order.row)

    def _done(self, order: _Order, names: dict[int, str]) -> datetime:
        """Every claimer reports the work done after the window; the last report's moment."""
        last = order.row.ends_at
        for claim in order.claims:
            if claim.status is not ClaimStatus.CLAIMED:
                continue
            at = self._between(
                order.row.ends_at + timedelta(minutes=10), order.row.ends_at + timedelta(hours=6)
            )
            at = min(at, self.now - timedelta(minutes=30))
            spent = order.row.expected_hours
            if self.rng.random() < 0.2:
                spent = max(
                    Decimal("0.5"), spent + self.rng.choice((Decimal("-0.5"), Decimal("0.5")))
                )
            claim.status, claim.done_at, claim.hours = ClaimStatus.DONE, at, spent
            claim.note = order.done_note
            self._event(
                at,
                f"党员 {names[claim.volunteer_id]}",
                "完成",
                order=order.row,
                note=f"{claim.note}（{spent}小时）",
            )
            last = max(last, at)
        return last

    def _complete(self, order: _Order, names: dict[int, str]) -> None:
        row = order.row
        last = self._done(order, names)
        row.status = OrderStatus.COMPLETED
        row.completed_at = min(
            self._office_hours(
                self._between(last + timedelta(hours=1), last + timedelta(hours=40))
            ),
            self.now - timedelta(minutes=20),
        )
        row.completed_by_id = row.created_by_id
        self._event(row.completed_at, self._manager(row.community_id), "确认完成", order=row)
        if order.resident is None or self.rng.random() < 0.15:
            return  # the community's own order, or a resident who never rated
        rated = self._between(
            row.completed_at + timedelta(hours=1), row.completed_at + timedelta(days=5)
        )
        if rated >= self.now:
            return
        stars = self.rng.choices((5, 4, 3, 2), weights=(70, 23, 5, 2))[0]
        note = self.rng.choice(texts.RATING_NOTES) if stars >= 4 else "时间有些拖延"
        row.rating, row.rating_note, row.rated_at = stars, note, rated
        self._event(
            rated,
            f"居民 {order.resident.name}",
            "评价",
            order=row,
            note=f"{stars}分 {note}".strip(),
        )

    def _cancel(self, order: _Order) -> None:
        row = order.row
        row.status = OrderStatus.CANCELLED
        at = self._between(row.created_at + timedelta(hours=1), row.starts_at - timedelta(hours=1))
        self._event(
            at,
            self._manager(row.community_id),
            "撤销",
            order=row,
            note=self.rng.choice(texts.CANCELS),
        )

    def _community(self) -> Community:
        weights = [len(self.volunteers[c.id]) + 1 for c in self.communities]
        return self.rng.choices(self.communities, weights=weights)[0]

    def _recent(self) -> int:
        """Today's work: the coming week's open orders, two awaiting confirmation, new needs.
        Returns the claims they hold (counted: claimed, not withdrawn, order not cancelled)."""
        counted = 0
        tomorrow = self.now.date() + timedelta(days=1)
        for community in self.communities:
            for _ in range(self.rng.randint(1, 2)):
                created = self._between(self.now - timedelta(days=3), self.now - timedelta(hours=1))
                day = tomorrow + timedelta(days=self.rng.randint(0, 6))
                own = self.rng.random() < 0.4
                order = self._order(
                    community, created, self._at(day, (9, 10, 14, 15)), own=own, wanted=0
                )
                if order is None:
                    continue
                free = order.row.capacity
                if own or free > 1:  # some places taken, never all: 服务 lists it
                    wanted = self.rng.randint(0, free - 1)
                    for volunteer in self._claimers(community, created, wanted):
                        at = self._between(
                            created + timedelta(minutes=5), self.now - timedelta(minutes=1)
                        )
                        order.claims.append(
                            OrderClaim(
                                volunteer_id=volunteer.id, status=ClaimStatus.CLAIMED, claimed_at=at
                            )
                        )
                        self._event(at, f"党员 {volunteer.name}", "接单", order=order.row)
                    order.row.taken = len(order.claims)
                counted += len(order.claims)
        return counted

    def _awaiting(self, names: dict[int, str]) -> int:
        counted = 0
        for community in self.communities[:AWAITING]:
            created = self.now - timedelta(days=5, hours=self.rng.randint(0, 12))
            starts = self._at(self.now.date() - timedelta(days=2), (9, 10, 14))
            order = self._order(community, created, starts, own=False, wanted=None)
            if order is not None:
                self._done(order, names)
                counted += len(order.claims)
        return counted

    def _new_needs(self) -> None:
        for community in self.communities[-NEW_NEEDS:]:
            created = self._between(
                self.now - timedelta(hours=36), self.now - timedelta(minutes=10)
            )
            self._need(community, created, self.rng.choice(texts.NEEDS))

    def _year(self, budget: int, names: dict[int, str]) -> None:
        """Orders over the year, until exactly `budget` claims count."""
        start = (self.first + timedelta(days=2)).date()
        days = [start + timedelta(days=n) for n in range((self.now.date() - start).days - 9)]
        weights = [SEASONS.get(d.month, 1.0) for d in days]
        while budget > 0:
            community = self._community()
            if self.rng.random() < 0.03:  # refused, with the reason the resident is told
                created = self._between(
                    self.first + timedelta(days=1), self.now - timedelta(days=2)
                )
                need, _ = self._need(community, created, self.rng.choice(texts.NEEDS))
                need.status = NeedStatus.REFUSED
                need.reason = self.rng.choice(texts.REFUSALS)
                need.decided_at = created + timedelta(hours=self.rng.randint(2, 30))
                need.decided_by_id = self.managers[community.id].id
                self._event(
                    need.decided_at,
                    self._manager(community.id),
                    "不受理",
                    need=need,
                    note=need.reason,
                )
                continue
            day = self.rng.choices(days, weights=weights)[0]
            created = self._at(day, range(8, 18))
            starts = self._at(day + timedelta(days=self.rng.randint(1, 6)), (9, 10, 14, 15, 16, 19))
            own = self.rng.random() < 0.22
            # The last order stops at exactly the designed number.
            order = self._order(community, created, starts, own=own, wanted=None, most=budget)
            if order is None:
                continue
            if self.rng.random() < 0.015:
                self._cancel(order)  # its claims never count
                continue
            budget -= len(order.claims)
            if self.rng.random() < 0.04:
                self._withdrawn(order, community)
            self._complete(order, names)

    # --- writing -------------------------------------------------------------------------------

    async def write(self, street_members: list[Member]) -> int:
        rows = await self._volunteers(street_members)
        rows += await self._residents()
        names = {v.id: v.name for vs in self.volunteers.values() for v in vs}
        budget = CLAIMS - self._recent() - self._awaiting(names)
        self._year(budget, names)
        self._new_needs()
        self.needs.sort(key=lambda n: n.created_at)
        rows += await insert_with_ids(Need, self.needs)
        self.orders.sort(key=lambda o: o.row.created_at)
        for order in self.orders:
            order.row.need_id = order.need.id if order.need else None
        rows += await insert_with_ids(ServiceOrder, [o.row for o in self.orders])
        claims = []
        for order in self.orders:
            for claim in order.claims:
                claim.order_id = order.row.id
                claims.append(claim)
        rows += await insert(OrderClaim, claims)
        self.events.sort(key=lambda e: e[0])
        events: list[Model] = [
            ServiceEvent(
                at=at,
                actor=actor,
                action=action,
                need_id=need.id if need else None,
                order_id=order.id if order else None,
                note=note,
            )
            for at, actor, action, need, order, note in self.events
        ]
        rows += await insert(ServiceEvent, events)
        return rows


def _shares(total: int, weights: Sequence[int]) -> list[int]:
    """`total` split in proportion to `weights`, by largest remainder (they add up exactly)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    sizes = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - sizes[i], reverse=True)
    for i in by_remainder[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes
