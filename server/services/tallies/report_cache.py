"""What a report read from days already taken, kept in this process while those days stay taken.

Staff open the same period again and again (the dashboard, then its branch pages, then the
export), and a district's year of snapshot rows and distinct members costs a second to read.
Those figures cannot change while every day they cover stays taken: any later change to such a
day deletes its `SnapshotDay` row (`snapshot.touched`), and taking it again writes a new row
with a new id.  So each entry is keyed by the days' stamps (`snapshot.taken_days`) as the
database holds them, read afresh by every report: another process retaking or touching a day
changes the key, and the stale entry is never used again (it ages out).  Nothing here is ever
invalidated by hand.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from datetime import date
from typing import Any, TypeVar

from server.db import opened
from server.services.tallies.counting import Studied, Tally

T = TypeVar("T")
# What is kept, in weight units (an estimate of 100-odd bytes each): a distinct (organisation,
# member) pair or a month's figures is 1, an organisation's tallies 8.  A district's year by
# branch weighs about 70,000 and a street's about 5,000: the cap holds a handful of a district's
# reports or a hundred of a street's.
MOST = 500_000


def weight(value: Any) -> int:
    weigh = getattr(value, "weight", None)  # a value that knows its own (`distinct.Distinct`)
    if callable(weigh):
        return int(weigh())
    if isinstance(value, tuple):
        return sum(weight(v) for v in value)
    if isinstance(value, list):
        return len(value) + 1
    if isinstance(value, Studied):
        return len(value.organised) + len(value.self_study) + 1
    if isinstance(value, dict):
        tallies = any(isinstance(v, Tally) for v in value.values())
        return len(value) * (8 if tallies else 1) + 1
    return 1


class ReportCache:
    """Least recently used first out, once the weight kept passes `most`."""

    def __init__(self, most: int = MOST) -> None:
        self.most = most
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.kept = 0  # the weight of what is kept
        self.hits = self.misses = 0

    async def get(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        key = (opened(), key)
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            kept: T = self._entries[key][0]  # what `make` made for this key
            return kept
        self.misses += 1
        value = await make()
        if key not in self._entries:  # another report may have made it meanwhile
            heavy = weight(value)
            self._entries[key] = (value, heavy)
            self.kept += heavy
        while self.kept > self.most and len(self._entries) > 1:
            _key, (_value, heavy) = self._entries.popitem(last=False)
            self.kept -= heavy
        return value

    def clear(self) -> None:
        self._entries.clear()
        self.kept = 0

    def __len__(self) -> int:
        return len(self._entries)


CACHE = ReportCache()


def version(taken: dict[date, str], first: date, last: date) -> str:
    """The days [first, last] as taken: changes whenever any of them is retaken or touched."""
    days = sorted(day for day in taken if first <= day <= last)
    text = ";".join(f"{day.isoformat()}={taken[day]}" for day in days)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def digest(items: Iterable[object]) -> str:
    """A short fixed-size key for a long list (a district's organisation ids, or its tree)."""
    return hashlib.blake2b(",".join(map(str, items)).encode(), digest_size=16).hexdigest()
