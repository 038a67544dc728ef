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
from server.services.counting import Studied

T = TypeVar("T")
MOST = 64  # entries; a district's largest is a few MB


class ReportCache:
    def __init__(self, most: int = MOST) -> None:
        self.most = most
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = self.misses = 0

    async def get(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        key = (opened(), key)
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key]  # type: ignore[no-any-return]
        self.misses += 1
        value = await make()
        self._entries[key] = value
        while len(self._entries) > self.most:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()


CACHE = ReportCache()


def version(taken: dict[date, str], first: date, last: date) -> str:
    """The days [first, last] as taken: changes whenever any of them is retaken or touched."""
    days = sorted(day for day in taken if first <= day <= last)
    text = ";".join(f"{day.isoformat()}={taken[day]}" for day in days)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def digest(items: Iterable[object]) -> str:
    """A short fixed-size key for a long list (a district's organisation ids, or its tree)."""
    return hashlib.blake2b(",".join(map(str, items)).encode(), digest_size=16).hexdigest()


def copy_studied(studied: Studied) -> Studied:
    return Studied(set(studied.organised), set(studied.self_study))
