"""How many rows go into one statement, and cutting a sequence to that size."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

BATCH = 500  # rows per INSERT/UPDATE: well under SQLite's bound-variable limit
PHONE_CHUNK = 900  # values per `IN (...)` lookup, for the same reason

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
