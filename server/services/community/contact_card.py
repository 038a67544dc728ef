"""A 报到单位's 联系卡: what each of its in-service members did in the communities they reported
to, for a quarter — the facts the unit's Party organisation reads at its 民主评议.

Counted exactly as the figures reported upward (`counts`), restricted to the unit's members:
认领 are claims made in the period and not withdrawn, on orders not cancelled; 完成 are claims
the member reported done on orders the community confirmed in the period, 服务时长 their hours;
评价 the resident's ratings of those orders.  The members are those the community confirmed
before the period ended.

Nothing here ranks anyone: the members are listed in a fixed order (by when they reported),
never by how much they did, and the yearly expectation is shown as each member's own progress
against a setting (DANGJIAN_SERVICE_YEARLY_ORDERS / _HOURS), met when either is reached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

from server.clock import day_start
from server.errors import ValidationFailed
from server.models.community import (
    ClaimStatus,
    OrderClaim,
    OrderStatus,
    ReportUnit,
    Volunteer,
)
from server.services.community.counts import reported_by
from server.settings import Settings

QUARTER_NAMES = "一二三四"
_QUARTER_KEY = re.compile(r"(?P<year>\d{4})\s*[Qq](?P<number>[1-4])")


# ---- quarters ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter in the deployment's zone (DANGJIAN_TZ)."""

    year: int
    number: int  # 1–4

    @classmethod
    def of(cls, moment: datetime, zone: ZoneInfo) -> Quarter:
        local = moment.astimezone(zone)
        return cls(local.year, (local.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """2026Q4 (the API's and the link's way of naming one)."""
        found = _QUARTER_KEY.fullmatch(text.strip())
        if found is None or not 2000 <= int(found.group("year")) <= 2100:
            raise ValidationFailed("季度应写成 2026Q4 这样的形式。", field="quarter")
        return cls(int(found.group("year")), int(found.group("number")))

    @property
    def key(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def name(self) -> str:
        """2026年第四季度."""
        return f"{self.year}年第{QUARTER_NAMES[self.number - 1]}季度"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def next(self) -> Quarter:
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    @property
    def previous(self) -> Quarter:
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )

    def span(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[first local midnight, the next quarter's) in UTC."""
        return day_start(self.first_day, zone), day_start(self.next.first_day, zone)


def year_span(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return day_start(date(year, 1, 1), zone), day_start(date(year + 1, 1, 1), zone)


# ---- the yearly expectation ------------------------------------------------------------------


def number_text(value: Decimal) -> str:
    """5.5, 12 (no trailing .0)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Expectation:
    orders: int = 2
    hours: Decimal = Decimal(12)

    @classmethod
    def of(cls, settings: Settings) -> Expectation:
        return cls(settings.service_yearly_orders, Decimal(str(settings.service_yearly_hours)))

    def met(self, completed: int, hours: Decimal) -> bool:
        return completed >= self.orders or hours >= self.hours

    @property
    def text(self) -> str:
        """2次或12小时."""
        return f"{self.orders}次或{number_text(self.hours)}小时"


@dataclass(frozen=True)
class Progress:
    """A member's own year so far against the expectation: for them, never compared."""

    year: int
    completed: int
    hours: Decimal
    expectation: Expectation

    @property
    def met(self) -> bool:
        return self.expectation.met(self.completed, self.hours)

    @property
    def done_text(self) -> str:
        """3次/4.5小时 (the 联系卡's 本年累计)."""
        return f"{self.completed}次/{number_text(self.hours)}小时"

    def sentence(self) -> str:
        done = f"今年已完成服务{self.completed}次、共{number_text(self.hours)}小时"
        if self.met:
            return f"{done}，已达到年度要求（{self.expectation.text}）。"
        return f"{done}；年度要求是{self.expectation.text}，达到其一即可。"


async def completed_by(
    volunteer_ids: list[int], start: datetime, end: datetime
) -> dict[int, tuple[int, Decimal]]:
    """Done claims on orders confirmed in [start, end), and their hours, by member."""
    rows = await OrderClaim.filter(
        volunteer_id__in=volunteer_ids,
        status=ClaimStatus.DONE,
        order__status=OrderStatus.COMPLETED,
        order__completed_at__gte=start,
        order__completed_at__lt=end,
    ).values_list("volunteer_id", "hours")
    found: dict[int, tuple[int, Decimal]] = {}
    for volunteer_id, hours in rows:
        n, total = found.get(volunteer_id, (0, Decimal(0)))
        found[volunteer_id] = (n + 1, total + (hours or Decimal(0)))
    return found


async def progress(volunteer: Volunteer, year: int, now: datetime, settings: Settings) -> Progress:
    """The member's services completed in `year` (as the 联系卡 counts them) so far.

    The whole year is asked for: nothing is completed after `now`, and a cut at `now` would
    leave out a confirmation made this very moment."""
    start, end = year_span(year, settings.zone)
    done = await completed_by([volunteer.id], start, end)
    completed, hours = done.get(volunteer.id, (0, Decimal(0)))
    return Progress(year, completed, hours, Expectation.of(settings))


# ---- the card --------------------------------------------------------------------------------


@dataclass
class MemberLine:
    volunteer_id: int
    name: str
    community: str
    grid: str
    claims: int = 0
    completed: int = 0
    hours: Decimal = Decimal(0)
    rated: int = 0
    rating_sum: int = 0
    year: Progress | None = None

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rated, 2) if self.rated else None

    @property
    def served(self) -> bool:
        """Served in the period: at least one service completed (claiming alone is not)."""
        return self.completed > 0


@dataclass
class CardTotals:
    """The unit's figures, as `counts.service_report` would give them for its members only."""

    members: int = 0
    claims: int = 0
    claimers: int = 0
    completed: int = 0
    hours: Decimal = Decimal(0)
    orders_completed: int = 0  # orders confirmed in the period with a member's work done
    rated: int = 0  # of those orders, the ones the resident rated
    rating_sum: int = 0
    served: int = 0  # members with a service completed in the period
    met: int = 0  # members who have reached the yearly expectation

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rated, 2) if self.rated else None


@dataclass
class ContactCard:
    unit_id: int
    unit_name: str
    period: str  # 2026年第四季度
    start: datetime
    end: datetime
    made_at: datetime
    expectation: Expectation
    zone: ZoneInfo
    members: list[MemberLine] = field(default_factory=list)
    totals: CardTotals = field(default_factory=CardTotals)

    @property
    def not_served(self) -> list[MemberLine]:
        return [m for m in self.members if not m.served]

    @property
    def made_on(self) -> date:
        return self.made_at.astimezone(self.zone).date()

    @property
    def so_far(self) -> bool:
        """The period is not over yet: the figures are up to `made_at`."""
        return self.made_at < self.end


async def contact_card(
    unit: ReportUnit,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    zone: ZoneInfo,
    expectation: Expectation,
    period: str = "",
) -> ContactCard:
    """The unit's card for [start, end): one line per member, in the order they reported."""
    card = ContactCard(unit.id, unit.name, period, start, end, now, expectation, zone)
    members = (
        await Volunteer.filter(reported_by(end), unit_id=unit.id)
        .prefetch_related("community")
        .order_by("id")  # the order they first reported in: never by what they did
    )
    lines = {v.id: MemberLine(v.id, v.name, v.community.name, v.grid) for v in members}
    ids = list(lines)
    totals = card.totals
    totals.members = len(ids)

    claims = (
        await OrderClaim.filter(volunteer_id__in=ids, claimed_at__gte=start, claimed_at__lt=end)
        .exclude(status=ClaimStatus.WITHDRAWN)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values_list("volunteer_id", flat=True)
    )
    for volunteer_id in cast(list[int], claims):
        lines[volunteer_id].claims += 1
        totals.claims += 1
    totals.claimers = len(set(claims))

    done = await OrderClaim.filter(
        volunteer_id__in=ids,
        status=ClaimStatus.DONE,
        order__status=OrderStatus.COMPLETED,
        order__completed_at__gte=start,
        order__completed_at__lt=end,
    ).values_list("volunteer_id", "order_id", "hours", "order__rating")
    ratings: dict[int, int | None] = {}
    for volunteer_id, order_id, hours, rating in done:
        line = lines[volunteer_id]
        line.completed += 1
        line.hours += hours or Decimal(0)
        if rating is not None:
            line.rated += 1
            line.rating_sum += rating
        totals.completed += 1
        totals.hours += hours or Decimal(0)
        ratings[order_id] = rating
    # An order served by two of the unit's members is one order and one rating.
    totals.orders_completed = len(ratings)
    given = [r for r in ratings.values() if r is not None]
    totals.rated, totals.rating_sum = len(given), sum(given)

    year_start, _ = year_span(start.astimezone(zone).year, zone)
    year = await completed_by(ids, year_start, min(end, now))
    for line in lines.values():
        completed, hours = year.get(line.volunteer_id, (0, Decimal(0)))
        line.year = Progress(year_start.astimezone(zone).year, completed, hours, expectation)
        totals.served += line.served
        totals.met += line.year.met
    card.members = list(lines.values())
    return card


async def quarter_card(
    unit: ReportUnit, quarter: Quarter, now: datetime, settings: Settings
) -> ContactCard:
    start, end = quarter.span(settings.zone)
    return await contact_card(
        unit,
        start,
        end,
        now,
        zone=settings.zone,
        expectation=Expectation.of(settings),
        period=quarter.name,
    )


def _names(lines: list[MemberLine], most: int = 12) -> str:
    names = [line.name for line in lines[:most]]
    more = f"等{len(lines)}人" if len(lines) > most else ""
    return "、".join(names) + more


def summary(card: ContactCard) -> str:
    """The card in a few lines, for chat and the quarterly message (facts, no ranking)."""
    t = card.totals
    made = card.made_on
    when = f"（截至{made.month}月{made.day}日）" if card.so_far else ""
    lines = [
        f"{card.unit_name} {card.period}{when}在职党员到社区报到服务情况：",
        f"报到党员{t.members}人，认领服务{t.claims}人次，完成{t.completed}人次，"
        f"服务时长{number_text(t.hours)}小时。",
    ]
    if t.rated:
        lines.append(f"居民评价{t.rated}条，平均{t.average_rating}分。")
    if card.members:
        lines.append(f"本年已达到年度要求（{card.expectation.text}）{t.met}人。")
        missing = card.not_served
        lines.append(
            f"本季度未参加服务{len(missing)}人：{_names(missing)}。"
            if missing
            else "本季度每位报到党员都参加了服务。"
        )
    return "\n".join(lines)
