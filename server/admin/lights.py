"""The 三会一课 lights as the pages lay them out (the rule itself is `compliance_status`).

The overview: a row per branch, a column per month (and per quarter, and per 党课 period when
longer), each cell the worst light of that period with every obligation in its title.  A
branch's page: one grid of the monthly obligations (支委会, each group's 党小组会) and one of the
longer ones (支部党员大会, 党课), latest period first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.services.meetings.compliance_status import (
    AMBER,
    DUE,
    GREEN,
    RED,
    STATE_WORDS,
    BranchLights,
    Light,
    PeriodLights,
    short_label,
)

# The legend: the words of the badges, and what each means.
LEGEND = (
    (GREEN, "期内已召开"),
    (AMBER, "已安排，尚未召开"),
    (DUE, "期内尚未安排，还来得及"),
    (RED, "期已结束而未召开"),
)

EVERY = {"month": "每月", "quarter": "每季度", "half": "每半年", "year": "每年"}  # 党课


def day_text(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.month}月{local.day}日"


def detail(light: Light, zone: ZoneInfo) -> str:
    """已开（11月5日）, 已安排（11月28日）, 待开, 未开."""
    if light.held_at is not None:
        return f"{light.word}（{day_text(light.held_at, zone)}）"
    if light.next_at is not None:
        return f"{light.word}（{day_text(light.next_at, zone)}）"
    return light.word


@dataclass(frozen=True)
class Column:
    start: date
    end: date
    label: str  # 11月, 第四季度, 上半年, 全年
    monthly: bool


@dataclass(frozen=True)
class Cell:
    state: str
    word: str
    title: str  # each obligation and its light
    met: int  # obligations of the period held
    owed: int  # obligations of the period


@dataclass(frozen=True)
class Row:
    branch_id: int
    name: str
    cells: list[Cell | None]
    missed: int  # obligations of the period that ended without a meeting


@dataclass(frozen=True)
class Matrix:
    columns: list[Column]
    rows: list[Row]

    @property
    def with_missed(self) -> int:
        return sum(1 for row in self.rows if row.missed)


def matrix(lights: list[BranchLights], zone: ZoneInfo) -> Matrix:
    spans: dict[tuple[date, date], None] = {}
    for branch in lights:
        for p in branch.periods:
            spans[(p.start, p.end)] = None
    ordered = sorted(spans, key=lambda span: (span[1], -span[0].toordinal()))
    columns = [Column(s, e, short_label(s, e), s.month == e.month) for s, e in ordered]
    rows = []
    for branch in lights:
        cells: list[Cell | None] = []
        for column in columns:
            found = branch.cell(column.start, column.end)
            cells.append(_cell(found, zone) if found else None)
        missed = sum(1 for p in branch.periods for light in p.lights if light.state == RED)
        rows.append(Row(branch.branch_id, branch.branch_name, cells, missed))
    return Matrix(columns, rows)


def _cell(found: PeriodLights, zone: ZoneInfo) -> Cell:
    title = f"{found.label}：" + "；".join(
        f"{light.name}{detail(light, zone)}" for light in found.lights
    )
    met = sum(1 for light in found.lights if light.state == GREEN)
    return Cell(found.state, STATE_WORDS[found.state], title, met, len(found.lights))


@dataclass(frozen=True)
class Grid:
    names: list[tuple[str, str]]  # the columns: (支委会, ""), (第一网格党小组, 党小组会), ...
    rows: list[tuple[str, list[Light | None]]]  # (period, a light per column), latest first


def grids(branch: BranchLights) -> tuple[Grid, Grid]:
    """The monthly obligations, and the longer ones; 11月 rather than 2026年11月 in one year."""
    one_year = len({p.start.year for p in branch.periods}) == 1
    monthly = [p for p in branch.periods if p.start.month == p.end.month]
    longer = [p for p in branch.periods if p.start.month != p.end.month]
    return _grid(monthly, one_year), _grid(longer, one_year)


def _grid(periods: list[PeriodLights], one_year: bool) -> Grid:
    names: dict[str, tuple[str, str]] = {}
    for p in periods:
        for light in p.lights:
            heading = (light.org_name, light.kind) if light.item == "group" else (light.kind, "")
            names.setdefault(light.name, heading)
    rows = []
    for p in reversed(periods):
        by_name = {light.name: light for light in p.lights}
        label = short_label(p.start, p.end) if one_year else p.label
        rows.append((label, [by_name.get(name) for name in names]))
    return Grid(list(names.values()), rows)
