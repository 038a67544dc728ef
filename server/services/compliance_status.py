"""三会一课 traffic lights per branch: what the dashboard's table (and the REST API) shows.

The same obligations as `compliance.missing`: this month's 支委会 (held by the branch itself)
and 党小组会 (each group, held by that group), this quarter's 支部党员大会 and the 党课 of the
DANGJIAN_LECTURE_EVERY period (anywhere in the branch).  Each gets a light:

- green: a meeting of that type in the period, not cancelled, that has started;
- amber: none has started yet, but one is scheduled later in the period;
- red: neither.

So an item `missing` lists is exactly a red one.  All branches are read with one query for
their groups and one for the meetings, whatever their number.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from server.clock import day_span, day_start
from server.meetings import Meeting, MeetingStatus
from server.models import Organisation, OrgKind
from server.services.compliance import PERIOD_MONTHS, PERIOD_NAMES, period
from server.services.meetings import (
    BRANCH_MEETING,
    COMMITTEE_MEETING,
    GROUP_MEETING,
    PARTY_LECTURE,
)
from server.services.scope import under

GREEN, AMBER, RED = "green", "amber", "red"
_WORST = (RED, AMBER, GREEN)  # a column of several groups shows its worst light
ITEMS = ("committee", "group", "branch_meeting", "lecture")


@dataclass(frozen=True)
class Light:
    item: str  # committee, group, branch_meeting or lecture
    label: str  # 本月支委会, 第一网格党小组本月党小组会, ...
    kind: str  # the meeting type
    org_id: int  # who must hold it: the branch, or the group
    start: date
    end: date
    state: str  # green, amber or red
    next_at: datetime | None  # amber: when the scheduled one starts

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "label": self.label,
            "kind": self.kind,
            "org_id": self.org_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "state": self.state,
            "next_at": self.next_at.isoformat() if self.next_at else None,
        }


@dataclass(frozen=True)
class BranchLights:
    branch_id: int
    branch_name: str
    branch_path: str
    lights: list[Light]

    def column(self, item: str) -> str | None:
        """The light of one column: the worst of its items; None when nothing is owed."""
        states = [light.state for light in self.lights if light.item == item]
        return next((s for s in _WORST if s in states), None)

    @property
    def overall(self) -> str:
        states = {light.state for light in self.lights}
        return next((s for s in _WORST if s in states), GREEN)

    def as_dict(self) -> dict[str, Any]:
        return {
            "branch_id": self.branch_id,
            "branch_name": self.branch_name,
            "branch_path": self.branch_path,
            "overall": self.overall,
            "columns": {item: self.column(item) for item in ITEMS},
            "lights": [light.as_dict() for light in self.lights],
        }


@dataclass(frozen=True)
class _Need:
    item: str
    label: str
    kind: str
    org: Organisation
    exact: bool  # held by that organisation itself, not anywhere beneath it
    start: date
    end: date


def _needs(
    branch: Organisation, groups: list[Organisation], today: date, lecture_every: str
) -> list[_Need]:
    month, quarter = period(today, 1), period(today, 3)
    lecture = period(today, PERIOD_MONTHS[lecture_every])
    needs = [_Need("committee", "本月支委会", COMMITTEE_MEETING, branch, True, *month)]
    needs += [
        _Need("group", f"{g.name}本月党小组会", GROUP_MEETING, g, True, *month) for g in groups
    ]
    needs.append(
        _Need("branch_meeting", "本季度支部党员大会", BRANCH_MEETING, branch, False, *quarter)
    )
    needs.append(
        _Need(
            "lecture", f"{PERIOD_NAMES[lecture_every]}党课", PARTY_LECTURE, branch, False, *lecture
        )
    )
    return needs


async def branch_lights(
    branches: list[Organisation],
    today: date,
    zone: ZoneInfo,
    lecture_every: str,
    *,
    now: datetime | None = None,
) -> list[BranchLights]:
    """The lights of each branch, in the order given.

    `now` decides "has started"; without it, a meeting started once its local day has come.
    """
    if not branches:
        return []
    moment = now if now is not None else day_start(date.fromordinal(today.toordinal() + 1), zone)
    groups: dict[int, list[Organisation]] = {b.id: [] for b in branches}
    for group in await Organisation.filter(parent_id__in=list(groups), kind=OrgKind.GROUP).order_by(
        "id"
    ):
        groups[group.parent_id].append(group)  # type: ignore[attr-defined]
    needs = {b.id: _needs(b, groups[b.id], today, lecture_every) for b in branches}

    # One query: every non-cancelled meeting of the four types in its own period, in the
    # branches' common subtree; matched to the needs here by organisation path.
    windows: dict[tuple[str, date, date], None] = {}
    for need in (n for ns in needs.values() for n in ns):
        windows[(need.kind, need.start, need.end)] = None
    when = Q()
    for kind, start, end in windows:
        first, after = day_span(start, end, zone)
        when |= Q(kind=kind, starts_at__gte=first, starts_at__lt=after)
    query = Meeting.filter(when).exclude(status=MeetingStatus.CANCELLED)
    common = _common_path([b.path for b in branches])
    if common:
        query = query.filter(under(common))
    by_branch: dict[str, list[tuple[str, datetime, str]]] = defaultdict(list)
    heads = {b.path for b in branches}
    for kind, at, path in await query.values_list("kind", "starts_at", "organisation__path"):
        head = _head(path, heads)
        if head is not None:
            by_branch[head].append((kind, at, path))

    out = []
    for branch in branches:
        lights = []
        for need in needs[branch.id]:
            first, after = day_span(need.start, need.end, zone)
            starts = [
                at
                for kind, at, path in by_branch[branch.path]
                if kind == need.kind
                and first <= at < after
                and (path == need.org.path or not need.exact)
            ]
            later = sorted(at for at in starts if at > moment)
            state = GREEN if any(at <= moment for at in starts) else AMBER if later else RED
            lights.append(
                Light(
                    need.item,
                    need.label,
                    need.kind,
                    need.org.id,
                    need.start,
                    need.end,
                    state,
                    later[0] if state == AMBER else None,
                )
            )
        out.append(BranchLights(branch.id, branch.name, branch.path, lights))
    return out


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
