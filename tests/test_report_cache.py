"""The report cache: what a report read for days already taken, kept within a weight."""

from __future__ import annotations

from server.services.tallies.counting import Studied, Tally
from server.services.tallies.report_cache import ReportCache, version, weight


async def made(value: object) -> object:
    return value


async def test_a_kept_value_is_made_once_and_then_handed_back() -> None:
    cache = ReportCache()
    calls: list[int] = []

    async def make() -> list[int]:
        calls.append(1)
        return [1, 2, 3]

    first = await cache.get("k", make)
    again = await cache.get("k", make)
    assert first is again and calls == [1]
    assert (cache.hits, cache.misses) == (1, 1)


async def test_the_least_recently_used_goes_first_once_the_weight_is_passed() -> None:
    cache = ReportCache(most=100)
    await cache.get("a", lambda: made({n: n for n in range(40)}))
    await cache.get("b", lambda: made({n: n for n in range(40)}))
    await cache.get("a", lambda: made({}))  # a is used again: b is now the oldest
    await cache.get("c", lambda: made({n: n for n in range(40)}))
    assert len(cache) == 2 and cache.kept <= 100
    assert await cache.get("a", lambda: made("remade")) != "remade"
    assert await cache.get("b", lambda: made("remade")) == "remade"


async def test_one_value_heavier_than_the_cap_is_still_kept_alone() -> None:
    cache = ReportCache(most=10)
    await cache.get("small", lambda: made({1: 1}))
    await cache.get("big", lambda: made({n: n for n in range(50)}))
    assert len(cache) == 1
    assert await cache.get("big", lambda: made("remade")) != "remade"


def test_an_organisations_tallies_weigh_more_than_a_pair_of_ids() -> None:
    assert weight({1: Tally(), 2: Tally()}) > weight({1: (0, 0), 2: (0, 0)})
    assert weight(Studied({(1, 2), (1, 3)}, {(1, 2)})) == 4


def test_the_version_changes_when_a_day_in_the_span_is_taken_again() -> None:
    from datetime import date

    days = {date(2026, 3, 1): "1@a", date(2026, 3, 2): "2@a", date(2026, 3, 5): "3@a"}
    span = (date(2026, 3, 1), date(2026, 3, 2))
    before = version(days, *span)
    assert version({**days, date(2026, 3, 5): "9@b"}, *span) == before  # outside the span
    assert version({**days, date(2026, 3, 2): "4@a"}, *span) != before  # retaken: new row
    assert version({date(2026, 3, 1): "1@a"}, *span) != before  # touched: no longer taken
