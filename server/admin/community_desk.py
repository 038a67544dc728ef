"""What the 社区服务 page lists for one community, read straight from the models.

The resident's name, phone and place, and the reported members' phones, are for the community
that runs the loop (as in chat's 需求 and 报到审核); the public 晒单 shows none of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from server.clock import when_text
from server.models.community import (
    ClaimStatus,
    Community,
    OrderClaim,
    OrderStatus,
    PostStatus,
    ReportUnit,
    ServiceOrder,
    StandingPost,
    UnitCommunity,
    Volunteer,
    VolunteerStatus,
)
from server.services.community import orders, posts

COMPLETED_SHOWN = 10
CLAIM_WORDS = {
    ClaimStatus.CLAIMED: "已认领",
    ClaimStatus.DONE: "已报告完成",
    ClaimStatus.WITHDRAWN: "已放弃",
}


def at(moment: datetime | None, zone: ZoneInfo) -> str:
    """11月25日 10:00"""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def window(order: ServiceOrder, zone: ZoneInfo) -> str:
    """11月26日（周四）09:00–10:30"""
    return f"{when_text(order.starts_at, zone)}–{order.ends_at.astimezone(zone):%H:%M}"


def hours_text(value: object) -> str:
    return "" if value is None else f"{value:f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class ClaimLine:
    name: str
    unit: str
    phone: str
    status: str  # a ClaimStatus value
    word: str
    when: str
    note: str
    hours: str


@dataclass(frozen=True)
class OrderLine:
    order: ServiceOrder
    when: str
    claims: list[ClaimLine]  # withdrawn claims left out of the lists, kept on the order page
    done: int
    rating: str  # 5分, 待评价, 未评价 (a week passed), or — for the community's own
    finished: str  # when the community confirmed it done

    @property
    def id(self) -> int:
        return self.order.id


@dataclass(frozen=True)
class UnitLine:
    unit: ReportUnit
    confirmed: int
    pending: int


def rating_word(order: ServiceOrder, now: datetime) -> str:
    if order.rating is not None:
        return f"{order.rating}分"
    if order.need_id is None:
        return "—"  # the community's own: no resident to rate it
    return "待评价" if orders.rating_open(order, now) else "未评价"


async def claim_lines(order_ids: list[int], zone: ZoneInfo) -> dict[int, list[ClaimLine]]:
    rows = (
        await OrderClaim.filter(order_id__in=order_ids)
        .prefetch_related("volunteer__unit")
        .order_by("claimed_at", "id")
    )
    found: dict[int, list[ClaimLine]] = {i: [] for i in order_ids}
    for r in rows:
        v, status = r.volunteer, ClaimStatus(r.status)
        found[r.order_id].append(
            ClaimLine(
                name=v.name,
                unit=v.unit.name if v.unit else "本街道党员",
                phone=v.phone,
                status=status.value,
                word=CLAIM_WORDS[status],
                when=at(r.done_at or r.withdrawn_at or r.claimed_at, zone),
                note=r.note,
                hours=hours_text(r.hours),
            )
        )
    return found


async def order_lines(found: list[ServiceOrder], zone: ZoneInfo, now: datetime) -> list[OrderLine]:
    claims = await claim_lines([o.id for o in found], zone)
    lines = []
    for o in found:
        held = [c for c in claims[o.id] if c.status != ClaimStatus.WITHDRAWN]
        done = sum(c.status == ClaimStatus.DONE for c in held)
        line = OrderLine(
            o, window(o, zone), held, done, rating_word(o, now), at(o.completed_at, zone)
        )
        lines.append(line)
    return lines


async def open_orders(community: Community, zone: ZoneInfo, now: datetime) -> list[OrderLine]:
    found = await ServiceOrder.filter(community_id=community.id, status=OrderStatus.OPEN).order_by(
        "starts_at", "id"
    )
    return await order_lines(found, zone, now)


async def completed_orders(community: Community, zone: ZoneInfo, now: datetime) -> list[OrderLine]:
    found = (
        await ServiceOrder.filter(community_id=community.id, status=OrderStatus.COMPLETED)
        .order_by("-completed_at", "-id")
        .limit(COMPLETED_SHOWN)
    )
    return await order_lines(found, zone, now)


async def paired_units(community: Community) -> list[UnitLine]:
    ids = await UnitCommunity.filter(community_id=community.id).values_list("unit_id", flat=True)
    found = await ReportUnit.filter(id__in=list(ids)).order_by("name", "id")
    counted = Counter(
        (unit_id, str(status))
        for unit_id, status in await Volunteer.filter(
            community_id=community.id, unit_id__in=list(ids)
        ).values_list("unit_id", "status")
    )
    return [
        UnitLine(
            u,
            counted[(u.id, VolunteerStatus.CONFIRMED.value)],
            counted[(u.id, VolunteerStatus.PENDING.value)],
        )
        for u in found
    ]


@dataclass(frozen=True)
class HolderLine:
    name: str
    unit: str
    phone: str
    since: str


@dataclass(frozen=True)
class PostLine:
    """A standing post on the desk, with who holds it now (phones: for the community)."""

    post: StandingPost
    until: str
    holders: list[HolderLine]

    @property
    def id(self) -> int:
        return self.post.id


async def open_posts(community: Community, zone: ZoneInfo) -> list[PostLine]:
    found = await StandingPost.filter(community_id=community.id, status=PostStatus.OPEN).order_by(
        "created_at", "id"
    )
    held = await posts.holder_rows([p.id for p in found])
    lines = []
    for p in found:
        holders = [
            HolderLine(
                r.volunteer.name,
                r.volunteer.unit.name if r.volunteer.unit else "本街道党员",
                r.volunteer.phone,
                at(r.since, zone),
            )
            for r in held[p.id]
        ]
        lines.append(PostLine(p, posts.until_text(p.ends_on), holders))
    return lines
