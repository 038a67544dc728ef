"""组织晒单: what a community's reported members did, shown to anyone without signing in.

No resident's name, phone or address: the time, the kind, what was done (the members' own
words), by whom (the member's name and unit — they serve in public) and the rating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from server.models.community import ClaimStatus, Community, OrderClaim, OrderStatus, ServiceOrder

SHOWN = 50


@dataclass(frozen=True)
class Shown:
    order_id: int
    completed_at: datetime
    kind: str
    title: str
    done: list[str]  # what each member reported
    by: list[str]  # 张三（区税务局）
    hours: Decimal
    rating: int | None


async def showcase(community: Community, limit: int = SHOWN) -> list[Shown]:
    orders = (
        await ServiceOrder.filter(community=community, status=OrderStatus.COMPLETED)
        .order_by("-completed_at", "-id")
        .limit(limit)
    )
    claims = await OrderClaim.filter(
        order_id__in=[o.id for o in orders], status=ClaimStatus.DONE
    ).prefetch_related("volunteer__unit")
    by_order: dict[int, list[OrderClaim]] = {}
    for row in sorted(claims, key=lambda c: c.id):
        by_order.setdefault(row.order_id, []).append(row)
    shown = []
    for order in orders:
        rows = by_order.get(order.id, [])
        assert order.completed_at is not None  # a completed order has its moment
        shown.append(
            Shown(
                order_id=order.id,
                completed_at=order.completed_at,
                kind=order.kind,
                title=public_title(order),
                done=[r.note for r in rows],
                by=[_signature(r) for r in rows],
                hours=sum((r.hours or Decimal(0) for r in rows), Decimal(0)),
                rating=order.rating,
            )
        )
    return shown


def public_title(order: ServiceOrder) -> str:
    """The order's title is the community's wording, never the resident's own message."""
    return order.title


def _signature(row: OrderClaim) -> str:
    volunteer = row.volunteer
    unit = volunteer.unit.name if volunteer.unit is not None else "本街道"
    return f"{volunteer.name}（{unit}）"
