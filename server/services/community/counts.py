"""The 双报到 figures staff report upward, by community and period, read from the loop's own
rows (never from check-ins or taps).

- 报到单位: units paired with the community, registered before the period ended.
- 报到党员: members a community confirmed before the period ended and did not send back before
  it (an application never confirmed is not counted; a member who moved is counted in the
  community they belong to now, and a move never uncounts a past period).
- 居民点单: needs posted in the period.  下单: orders dispatched in the period, not cancelled.
- 认领 (人次): claims made in the period and not withdrawn, on orders not cancelled; an order
  for three members claimed by three is three claims.
- 完成 (人次): claims whose work the member reported done on an order the community confirmed
  in the period; 服务时长 adds up their hours.
- 评价: orders from residents' needs completed in the period that the resident rated; the
  average is over these only.  An order not rated within a week counts as unrated, never as
  satisfied; the community's own orders (先锋岗, 微心愿) have nobody to rate them and count as
  neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from tortoise.expressions import Q

from server.models.community import (
    ClaimStatus,
    Community,
    Need,
    OrderClaim,
    OrderStatus,
    ServiceOrder,
    UnitCommunity,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Organisation
from server.services.community.orders import RATING_DAYS


@dataclass
class ServiceFigures:
    name: str
    units: int = 0
    volunteers: int = 0
    needs: int = 0
    dispatched: int = 0
    claims: int = 0
    claimers: int = 0
    completed: int = 0  # claims done and confirmed
    orders_completed: int = 0
    hours: Decimal = Decimal(0)
    rated: int = 0
    rating_sum: int = 0
    unrated: int = 0  # a week passed without a rating
    unit_ids: set[int] = field(default_factory=set, repr=False)
    claimer_ids: set[int] = field(default_factory=set, repr=False)

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rated, 2) if self.rated else None

    def sentence(self) -> str:
        return f"{self.volunteers}名报到党员认领服务事项{self.claims}件，完成{self.completed}件"


@dataclass
class ServiceReport:
    total: ServiceFigures
    communities: list[ServiceFigures]


def reported_by(end: datetime) -> Q:
    """报到党员 at `end`: confirmed by a community before it, and not sent back before it.

    A member who moved and waits for the new community to confirm them still counts (in the
    community they belong to now); their past periods are not rewritten by the move.
    """
    sent_back = Q(status=VolunteerStatus.REFUSED) & Q(decided_at__lt=end)
    return Q(confirmed_at__lt=end) & ~sent_back


async def communities_under(org: Organisation) -> list[Community]:
    """Communities in `org`'s subtree: `org` itself or below it.

    Not the community a branch sits in: its figures are the community's, not the branch's,
    and a branch's report must not show them as its own.
    """
    rows = await Community.all().prefetch_related("organisation").order_by("name")
    return [
        c
        for c in rows
        if c.organisation.path == org.path or c.organisation.path.startswith(org.path + "/")
    ]


async def service_report(
    org: Organisation, start: datetime, end: datetime, now: datetime
) -> ServiceReport:
    """Figures for [start, end) by community under `org`, and their total."""
    communities = await communities_under(org)
    ids = [c.id for c in communities]
    rows = {c.id: ServiceFigures(c.name) for c in communities}
    total = ServiceFigures("合计")

    def each(community_id: int) -> list[ServiceFigures]:
        return [rows[community_id], total]

    pairings = await UnitCommunity.filter(
        community_id__in=ids, unit__created_at__lt=end
    ).values_list("community_id", "unit_id")
    for community_id, unit_id in pairings:
        for figures in each(community_id):
            figures.unit_ids.add(unit_id)
    confirmed = await Volunteer.filter(reported_by(end), community_id__in=ids).values_list(
        "community_id", flat=True
    )
    for community_id in cast(list[int], confirmed):
        for figures in each(community_id):
            figures.volunteers += 1
    needs = await Need.filter(
        community_id__in=ids, created_at__gte=start, created_at__lt=end
    ).values_list("community_id", flat=True)
    for community_id in cast(list[int], needs):
        for figures in each(community_id):
            figures.needs += 1
    dispatched = (
        await ServiceOrder.filter(community_id__in=ids, created_at__gte=start, created_at__lt=end)
        .exclude(status=OrderStatus.CANCELLED)
        .values_list("community_id", flat=True)
    )
    for community_id in cast(list[int], dispatched):
        for figures in each(community_id):
            figures.dispatched += 1
    claims = (
        await OrderClaim.filter(
            order__community_id__in=ids, claimed_at__gte=start, claimed_at__lt=end
        )
        .exclude(status=ClaimStatus.WITHDRAWN)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values_list("order__community_id", "volunteer_id")
    )
    for community_id, volunteer_id in claims:
        for figures in each(community_id):
            figures.claims += 1
            figures.claimer_ids.add(volunteer_id)
    done = await OrderClaim.filter(
        order__community_id__in=ids,
        order__status=OrderStatus.COMPLETED,
        order__completed_at__gte=start,
        order__completed_at__lt=end,
        status=ClaimStatus.DONE,
    ).values_list("order__community_id", "hours")
    for community_id, hours in done:
        for figures in each(community_id):
            figures.completed += 1
            figures.hours += hours or Decimal(0)
    completed = await ServiceOrder.filter(
        community_id__in=ids,
        status=OrderStatus.COMPLETED,
        completed_at__gte=start,
        completed_at__lt=end,
    ).values_list("community_id", "rating", "completed_at", "need_id")
    for community_id, rating, completed_at, need_id in completed:
        for figures in each(community_id):
            figures.orders_completed += 1
            if need_id is None:
                continue  # the community's own order: no resident to rate it
            if rating is not None:
                figures.rated += 1
                figures.rating_sum += rating
            elif completed_at + timedelta(days=RATING_DAYS) < now:
                figures.unrated += 1
    for figures in [*rows.values(), total]:
        figures.units = len(figures.unit_ids)
        figures.claimers = len(figures.claimer_ids)
    return ServiceReport(total=total, communities=[rows[c.id] for c in communities])
