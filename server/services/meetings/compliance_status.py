"""三会一课 lights: which obligations each branch met, missed or still has time for.

Per the branch work regulation a branch owes, in each calendar period:

- a 支委会 every month, held by the branch itself;
- a 党小组会 every month in each of its 党小组, held by that group;
- a 支部党员大会 every quarter, and a 党课 every DANGJIAN_LECTURE_EVERY period (month, quarter,
  half or year), held anywhere in the branch.

Each obligation of a period has one state at `now`:

- met (`GREEN`, 已开): a meeting of its type in the period is held, by `server.meetings.held`
  (over, and not cancelled), the rule every tally uses;
- booked (`AMBER`, 已安排): none held yet, but one is scheduled (`server.meetings.scheduled`:
  not cancelled, not yet over); `next_at` is when it starts;
- due (`DUE`, 待开): neither, and the period has not ended: there is still time;
- missed (`RED`, 未开): neither, and the period has ended.

Nothing is owed in a period that ended before records began here: the local day of the first
meeting this deployment recorded (any branch, any state), or this month when there is none yet.
A committee that starts using the product in November does not see January to October as
missed — it has no record of them either way, and a light must not say what nobody knows.

A meeting belongs to the period of its local start day.  The monthly reminder
(`compliance.missing`) lists the current obligations that are due or missed, so it and the
lights are one rule.  All branches are read with one query for their groups and two for the
meetings (held, scheduled), whatever their number and the length of the period.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from server.clock import day_span
from server.models.meetings import Meeting, MeetingType, held, scheduled
from server.models.people import Organisation, OrgKind
from server.services.people.scope import under

GREEN, AMBER, DUE, RED = "green", "amber", "due", "red"
STATES = (GREEN, AMBER, DUE, RED)
STATE_WORDS = {GREEN: "已开", AMBER: "已安排", DUE: "待开", RED: "未开"}
OWED = frozenset({DUE, RED})  # nothing held or booked: what the reminder lists
_WORST = (RED, DUE, AMBER, GREEN)  # a cell of several obligations shows its worst
ITEMS = ("committee", "group", "branch_meeting", "lecture")


@dataclass(frozen=True)
class Obligation:
    """A meeting a branch must hold, and how often.  The yearly plan (`plan.py`) lists them
    all; the lights and the monthly reminder check those with a `light` (三会一课 proper)."""

    kind: MeetingType
    months: int  # once in each period of this many months
    per_group: bool = False  # each 党小组 holds its own
    own: bool = False  # held by that organisation itself, not by one beneath it
    light: str | None = None  # its column among the lights (ITEMS)


def obligations(lecture_months: int) -> tuple[Obligation, ...]:
    """What the 支部工作条例 asks of every branch; the 党课's period is DANGJIAN_LECTURE_EVERY."""
    return (
        Obligation(MeetingType.COMMITTEE_MEETING, 1, own=True, light="committee"),
        Obligation(MeetingType.GROUP_MEETING, 1, per_group=True, own=True, light="group"),
        Obligation(MeetingType.THEME_DAY, 1),
        Obligation(MeetingType.BRANCH_MEETING, 3, light="branch_meeting"),
        Obligation(MeetingType.PARTY_LECTURE, lecture_months, light="lecture"),
        Obligation(MeetingType.ORG_LIFE, 12),
        Obligation(MeetingType.APPRAISAL, 12),
    )


LIT_KINDS = [o.kind for o in obligations(3) if o.light]
PERIOD_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}
PERIOD_NAMES = {"month": "本月", "quarter": "本季度", "half": "本半年", "year": "今年"}
_QUARTERS = "一二三四"


def period(today: date, months: int) -> tuple[date, date]:
    """The calendar period of `months` months containing today: its first and last day."""
    first_month = (today.month - 1) // months * months + 1
    start = date(today.year, first_month, 1)
    end_month = first_month + months
    end = date(today.year + (end_month > 12), (end_month - 1) % 12 + 1, 1) - timedelta(days=1)
    return start, end


def periods_between(start: date, end: date, months: int) -> list[tuple[date, date]]:
    """The calendar periods of `months` months that overlap [start, end], in order."""
    out = []
    day = start
    while day <= end:
        first, last = period(day, months)
        out.append((first, last))
        day = last + timedelta(days=1)
    return out


def period_label(start: date, end: date) -> str:
    """2026年11月, 2026年第四季度, 2026年上半年, 2026年."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if months == 1:
        return f"{start.year}年{start.month}月"
    if months == 3:
        return f"{start.year}年第{_QUARTERS[(start.month - 1) // 3]}季度"
    if months == 6:
        return f"{start.year}年{'上' if start.month == 1 else '下'}半年"
    return f"{start.year}年"


def short_label(start: date, end: date) -> str:
    """A column heading: 11月, 第四季度, 上半年, 全年 (the year is the table's)."""
    return period_label(start, end).removeprefix(f"{start.year}年") or "全年"


_THIS = {1: "本月", 3: "本季度", 6: "本半年", 12: "今年"}  # the period containing today


@dataclass(frozen=True)
class Light:
    item: str  # committee, group, branch_meeting or lecture
    label: str  # 本月支委会, 第一网格党小组本月党小组会, 2026年10月支委会, ...
    kind: str  # the meeting type
    org_id: int  # who must hold it: the branch, or the group
    org_name: str
    start: date  # the calendar period it is owed in
    end: date
    state: str  # green 已开, amber 已安排, due 待开, red 未开
    next_at: datetime | None  # booked: when the first one still to come starts
    held_at: datetime | None = None  # met: when the first held one started

    @property
    def word(self) -> str:
        return STATE_WORDS[self.state]

    @property
    def name(self) -> str:
        """支委会, 支部党员大会, 党课, or 第一网格党小组党小组会."""
        return f"{self.org_name}{self.kind}" if self.item == "group" else self.kind

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "label": self.label,
            "kind": self.kind,
            "org_id": self.org_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "state": self.state,
            "word": self.word,
            "next_at": self.next_at.isoformat() if self.next_at else None,
            "held_at": self.held_at.isoformat() if self.held_at else None,
        }


def worst(states: list[str]) -> str | None:
    return next((s for s in _WORST if s in states), None)


@dataclass(frozen=True)
class PeriodLights:
    """One column of the month-by-month view: a month, a quarter, a half or a year."""

    start: date
    end: date
    lights: list[Light]

    @property
    def key(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    @property
    def label(self) -> str:
        return period_label(self.start, self.end)

    @property
    def state(self) -> str:
        return worst([light.state for light in self.lights]) or GREEN

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "label": self.label,
            "state": self.state,
            "lights": [light.as_dict() for light in self.lights],
        }


@dataclass(frozen=True)
class BranchLights:
    branch_id: int
    branch_name: str
    branch_path: str
    lights: list[Light]  # the current obligations: those of the periods containing `as_of`
    periods: list[PeriodLights]  # every obligation of the selected period, by calendar period

    def column(self, item: str) -> str | None:
        """The light of one current item: the worst of its obligations; None when none is owed."""
        return worst([light.state for light in self.lights if light.item == item])

    def cell(self, start: date, end: date) -> PeriodLights | None:
        return next((p for p in self.periods if (p.start, p.end) == (start, end)), None)

    @property
    def overall(self) -> str:
        """The worst light of the whole selected period (of the current one, without one)."""
        everything = [light for p in self.periods for light in p.lights] or self.lights
        return worst([light.state for light in everything]) or GREEN

    def as_dict(self) -> dict[str, Any]:
        return {
            "branch_id": self.branch_id,
            "branch_name": self.branch_name,
            "branch_path": self.branch_path,
            "overall": self.overall,
            "columns": {item: self.column(item) for item in ITEMS},
            "lights": [light.as_dict() for light in self.lights],
            "periods": [p.as_dict() for p in self.periods],
        }


@dataclass(frozen=True)
class _Need:
    item: str
    kind: str
    org: Organisation
    exact: bool  # held by that organisation itself, not anywhere beneath it
    start: date
    end: date
    months: int


_Spans = dict[int, list[tuple[date, date]]]  # months -> the calendar periods of that length


def _needs(
    branch: Organisation, groups: list[Organisation], spans: _Spans, lecture: int
) -> list[_Need]:
    """Every obligation of the branch with a light, in the calendar periods `spans`."""
    needs = []
    lit = [o for o in obligations(lecture) if o.light]
    # Period by period, the obligations of the same length together: 本月支委会, then each
    # group's 本月党小组会, …
    for months, same in itertools.groupby(lit, key=lambda o: o.months):
        alike = list(same)
        for first, last in spans[months]:
            for o in alike:
                light = o.light or ""
                for org in groups if o.per_group else [branch]:
                    needs.append(_Need(light, o.kind, org, o.own, first, last, months))
    return needs


def _label(need: _Need, today: date, labels: dict[tuple[date, date], str]) -> str:
    when = _THIS[need.months] if need.start <= today <= need.end else labels[need.start, need.end]
    owner = need.org.name if need.item == "group" else ""
    return f"{owner}{when}{need.kind}"


# branch path -> meeting type -> (starts, organisation path), in order of starting
_Found = dict[str, dict[str, list[tuple[datetime, str]]]]


async def _meetings(
    rule: Q, branches: list[Organisation], first: date, last: date, zone: ZoneInfo
) -> _Found:
    """Meetings of the four types matching `rule` in [first, last], by the branch they are in."""
    after, before = day_span(first, last, zone)
    query = Meeting.filter(
        rule,
        kind__in=LIT_KINDS,
        starts_at__gte=after,
        starts_at__lt=before,
    )
    common = _common_path([b.path for b in branches])
    if common:
        query = query.filter(under(common))
    found: _Found = defaultdict(lambda: defaultdict(list))
    heads = {b.path for b in branches}
    rows = await query.order_by("starts_at").values_list("kind", "starts_at", "organisation__path")
    for kind, at, path in rows:
        head = _head(path, heads)
        if head is not None:
            found[head][kind].append((at, path))
    return found


async def records_began(zone: ZoneInfo) -> date | None:
    """The local day of the first meeting ever recorded here, if any."""
    first = await Meeting.all().order_by("starts_at").limit(1).values_list("starts_at", flat=True)
    # flat=True gives the values themselves; Tortoise 1.1 types them as tuples.
    return cast("list[datetime]", first)[0].astimezone(zone).date() if first else None


async def branch_lights(
    branches: list[Organisation],
    today: date,
    zone: ZoneInfo,
    lecture_every: str,
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
) -> list[BranchLights]:
    """The lights of each branch, in the order given, at `now`.

    `start`..`end` is the selected period (default: today): every obligation whose calendar
    period overlaps it is in `periods`; `lights` are those of the periods containing the
    selection's last day up to today.
    """
    if not branches:
        return []
    start, end = start or today, end or today
    as_of = min(end, today)
    groups: dict[int, list[Organisation]] = {b.id: [] for b in branches}
    for group in await Organisation.filter(parent_id__in=list(groups), kind=OrgKind.GROUP).order_by(
        "id"
    ):
        assert group.parent_id is not None  # filtered by parent_id__in
        groups[group.parent_id].append(group)
    lecture = PERIOD_MONTHS[lecture_every]
    floor = await records_began(zone) or period(as_of, 1)[0]
    spans = {
        months: [span for span in periods_between(start, end, months) if span[1] >= floor]
        for months in {1, 3, lecture}
    }
    every = {span for periods in spans.values() for span in periods}
    if not every:  # the whole selection is before records began: nothing is owed in it
        return [BranchLights(b.id, b.name, b.path, [], []) for b in branches]
    windows = {span: day_span(*span, zone) for span in every}  # once, not once per branch
    labels = {span: period_label(*span) for span in every}
    needs = {b.id: _needs(b, groups[b.id], spans, lecture) for b in branches}
    first, last = min(s for s, _ in every), max(e for _, e in every)
    met = await _meetings(held(now), branches, first, last, zone)
    booked = await _meetings(scheduled(now), branches, first, last, zone)

    out = []
    for branch in branches:
        by_period: dict[tuple[date, date], list[Light]] = defaultdict(list)
        current = []
        for need in needs[branch.id]:
            label = _label(need, today, labels)
            window = windows[need.start, need.end]
            light = _light(need, label, met[branch.path], booked[branch.path], window, now)
            by_period[(need.start, need.end)].append(light)
            if need.start <= as_of <= need.end:
                current.append(light)
        columns = sorted(by_period, key=lambda span: (span[1], -span[0].toordinal()))
        out.append(
            BranchLights(
                branch.id,
                branch.name,
                branch.path,
                current,
                [PeriodLights(s, e, by_period[(s, e)]) for s, e in columns],
            )
        )
    return out


def _light(
    need: _Need,
    label: str,
    met: dict[str, list[tuple[datetime, str]]],
    booked: dict[str, list[tuple[datetime, str]]],
    window: tuple[datetime, datetime],
    now: datetime,
) -> Light:
    after, before = window

    def starts(found: dict[str, list[tuple[datetime, str]]]) -> list[datetime]:
        return [
            at
            for at, path in found.get(need.kind, ())
            if after <= at < before and (path == need.org.path or not need.exact)
        ]

    done, coming = starts(met), starts(booked)
    if done:
        state = GREEN
    elif coming:
        state = AMBER
    else:
        state = RED if now >= before else DUE
    return Light(
        need.item,
        label,
        need.kind,
        need.org.id,
        need.org.name,
        need.start,
        need.end,
        state,
        coming[0] if state == AMBER else None,
        done[0] if done else None,
    )


def _head(path: str, heads: set[str]) -> str | None:
    """The branch (one of `heads`) that the organisation at `path` is, or is under."""
    parts = path.split("/")
    for n in range(len(parts), 0, -1):
        candidate = "/".join(parts[:n])
        if candidate in heads:
            return candidate
    return None


def _common_path(paths: list[str]) -> str:
    """The deepest organisation path that all `paths` are at or under ("" if none)."""
    split = [p.split("/") for p in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common)
