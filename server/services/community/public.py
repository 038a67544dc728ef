"""The 晒单 as it leaves the building: `showcase.showcase` with residents' details taken out.

What the community and its members wrote is shown in their words, and their words may name
the resident they helped (给张三换好了灯, 幸福小区3栋502, a phone number).  Before anything is
shown to the public, the resident's name, phone and address on the order's need, and anything
shaped like a phone number, are replaced.  A nickname (张阿姨) cannot be told apart from
ordinary words and stays: the community writes the title, and members are asked to write
what they did, not for whom.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from server.errors import NotFound
from server.models.community import (
    ClaimStatus,
    Community,
    Need,
    OrderClaim,
    OrderStatus,
    Resident,
    ServiceOrder,
)
from server.services.community.showcase import SHOWN, Shown, showcase

# Eleven digits starting with 1, and landlines (0xx-xxxxxxx), spaces and dashes allowed.
_PHONE = re.compile(r"(?<!\d)(?:1(?:[\s-]?\d){10}|0\d{2,3}[\s-]?\d{7,8})(?!\d)")
NAME_SHOWN = "居民"
PLACE_SHOWN = "（住址略）"
PHONE_SHOWN = "（电话略）"


@dataclass(frozen=True)
class Summary:
    orders: int
    hours: Decimal
    members: int
    rated: int
    average_rating: float | None


async def public_community(community_id: int) -> Community:
    community = await Community.get_or_none(id=community_id)
    if community is None:
        raise NotFound("没有这个社区。", field="id")
    return community


async def public_showcase(community: Community, limit: int = SHOWN) -> list[Shown]:
    shown = await showcase(community, limit)
    residents = await _residents_of([s.order_id for s in shown])
    return [_scrubbed(s, residents.get(s.order_id)) for s in shown]


async def totals(community: Community) -> Summary:
    """Everything the community has completed, not only the page's newest: a total that
    shrank as new services were shown would be no total."""
    completed = await ServiceOrder.filter(community=community, status=OrderStatus.COMPLETED)
    done = await OrderClaim.filter(
        order__community_id=community.id,
        order__status=OrderStatus.COMPLETED,
        status=ClaimStatus.DONE,
    ).values_list("volunteer_id", "hours")
    ratings = [o.rating for o in completed if o.rating is not None]
    return Summary(
        orders=len(completed),
        hours=sum((Decimal(h or 0) for _, h in done), Decimal(0)),
        members=len({v for v, _ in done}),
        rated=len(ratings),
        average_rating=round(sum(ratings) / len(ratings), 1) if ratings else None,
    )


async def _residents_of(order_ids: list[int]) -> dict[int, Resident]:
    orders = await ServiceOrder.filter(id__in=order_ids, need_id__isnull=False).values_list(
        "id", "need_id"
    )
    needs = await Need.filter(id__in=[n for _, n in orders]).prefetch_related("resident")
    resident_of_need = {need.id: need.resident for need in needs}
    return {order_id: resident_of_need[need_id] for order_id, need_id in orders}


def scrub(text: str, resident: Resident | None) -> str:
    if resident is not None:
        for value, shown in (
            (resident.phone, PHONE_SHOWN),
            (resident.place, PLACE_SHOWN),
            (resident.name, NAME_SHOWN),
        ):
            if value and len(value) >= 2:  # a one-character name would eat ordinary words
                text = text.replace(value, shown)
    return _PHONE.sub(PHONE_SHOWN, text)


def _scrubbed(shown: Shown, resident: Resident | None) -> Shown:
    return replace(
        shown,
        title=scrub(shown.title, resident),
        done=[scrub(note, resident) for note in shown.done],
    )
