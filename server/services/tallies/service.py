"""The 双报到 figures beside the study ones: `counts.service_report` for the days a tally report
covers (from the first day's midnight to the midnight after the last, in the deployment's
zone), with the sentence staff paste next to the study sentence.

None when no community takes part under (or above) the organisation: a report about a street
without the 四单制 says nothing of it rather than a row of zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.models.people import Organisation
from server.services.community.counts import ServiceFigures, communities_under, service_report

# (field, header) in the order every view shows them.
FIGURES: tuple[tuple[str, str], ...] = (
    ("units", "报到单位"), ("volunteers", "报到党员"), ("needs", "居民点单"),
    ("dispatched", "社区下单"), ("claims", "认领（人次）"), ("claimers", "认领党员"),
    ("completed", "完成（人次）"), ("orders_completed", "办结服务单"),
    ("hours", "服务时长（小时）"), ("rated", "已评价"), ("average_rating", "平均评分"),
    ("unrated", "逾期未评价"),
)  # fmt: skip


@dataclass(frozen=True)
class ServiceSummary:
    start: date
    end: date
    total: ServiceFigures
    communities: list[ServiceFigures]
    sentence: str  # "2026年以来，690名报到党员认领服务事项1465件，完成1455件"

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "sentence": self.sentence,
            "total": figures_dict(self.total),
            "communities": [figures_dict(f) for f in self.communities],
        }


def figures_dict(figures: ServiceFigures) -> dict[str, Any]:
    out: dict[str, Any] = {"name": figures.name}
    for name, _ in FIGURES:
        out[name] = getattr(figures, name)
    out["hours"] = float(figures.hours)
    return out


def moments(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end] as days → [first midnight, the midnight after the last) as moments."""
    return (
        datetime.combine(start, time(), zone),
        datetime.combine(end + timedelta(days=1), time(), zone),
    )


async def service_summary(
    org: Organisation, start: date, end: date, *, span: str, zone: ZoneInfo, now: datetime
) -> ServiceSummary | None:
    """`span` opens the sentence ("2026年以来" or "2026年1月1日至2026年3月20日")."""
    if not await communities_under(org):
        return None
    first, after = moments(start, end, zone)
    report = await service_report(org, first, after, now)
    return ServiceSummary(
        start=start,
        end=end,
        total=report.total,
        communities=report.communities,
        sentence=f"{span}，{report.total.sentence()}",
    )
