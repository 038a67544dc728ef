"""Distinct members of a report's rows: the past days' members kept, today's added on top.

参学党员 and 自学党员 are distinct members, so they cannot be summed from daily snapshots: the
report reads the (organisation, member) pairs of the whole period.  For days already taken those
pairs cannot change (`report_cache`), and cutting them into a report's rows is what costs: a
district's year is tens of thousands of pairs, and copying or walking them on every view took a
third of the view's time (and fed the garbage collector).  So the past is cut into rows once per
way of cutting it and kept, read-only; each view only cuts the few pairs of the days counted
live and counts, per row, those members the past row does not already hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from server.services.tallies.counting import Studied
from server.services.tallies.report_cache import CACHE

RowOf = Callable[[int], str] | None  # an organisation's row, or None for the total alone
Members = frozenset[int]


@dataclass(frozen=True)
class Distinct:
    """Members at organised study and studying on their own: per row, and in all."""

    rows: dict[str, tuple[Members, Members]]
    every: tuple[Members, Members]

    def weight(self) -> int:  # for the report cache: one unit per member kept
        return sum(len(a) + len(b) for a, b in (*self.rows.values(), self.every)) + 1


def cut(studied: Studied, row_of: RowOf) -> Distinct:
    organised: dict[str, set[int]] = defaultdict(set)
    alone: dict[str, set[int]] = defaultdict(set)
    if row_of is not None:
        for pairs, into in ((studied.organised, organised), (studied.self_study, alone)):
            for org_id, member in pairs:
                into[row_of(org_id)].add(member)
    return Distinct(
        rows={
            key: (frozenset(organised.get(key, ())), frozenset(alone.get(key, ())))
            for key in organised.keys() | alone.keys()
        },
        every=(
            frozenset(member for _org, member in studied.organised),
            frozenset(member for _org, member in studied.self_study),
        ),
    )


@dataclass(frozen=True)
class Span:
    """A period's pairs: the days already taken (kept under `key`), and those counted now."""

    past: Studied | None
    key: Hashable | None
    recent: Studied | None


EMPTY: tuple[Members, Members] = (frozenset(), frozenset())


async def counted(
    span: Span, row_of: RowOf, rows: Hashable
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """Per row and in all: (distinct members at organised study, distinct studying alone).

    `rows` names the way `row_of` cuts (with the tree it cuts by), for the kept past."""
    past: Distinct | None = None
    if span.past is not None:
        studied = span.past

        async def make() -> Distinct:
            return cut(studied, row_of)

        past = await CACHE.get(("distinct", span.key, rows), make)
    recent = cut(span.recent, row_of) if span.recent is not None else None

    def union(old: tuple[Members, Members], new: tuple[Members, Members]) -> tuple[int, int]:
        # |old ∪ new| without copying the (large, shared) old sets.
        return (
            len(old[0]) + sum(1 for m in new[0] if m not in old[0]),
            len(old[1]) + sum(1 for m in new[1] if m not in old[1]),
        )

    keys = (past.rows.keys() if past else set()) | (recent.rows.keys() if recent else set())
    per_row = {
        key: union(
            past.rows.get(key, EMPTY) if past else EMPTY,
            recent.rows.get(key, EMPTY) if recent else EMPTY,
        )
        for key in keys
    }
    every = union(past.every if past else EMPTY, recent.every if recent else EMPTY)
    return per_row, every
