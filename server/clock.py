"""An injectable clock, so time-based behaviour is tested by moving time rather than sleeping."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = "一二三四五六日"  # Monday first, as date.weekday()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of `day` in `zone`, in UTC: what a stored datetime is compared to."""
    return datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)


def day_span(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local days `first` to `last` (both included) as a half-open UTC range."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)


def when_text(moment: datetime, zone: ZoneInfo) -> str:
    """11月26日（周四）15:00, in the organisation's zone."""
    local = moment.astimezone(zone)
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


class Clock:
    """Wall-clock time in UTC plus the organisation's zone for 'today' and 'this month'."""

    def __init__(self, zone: ZoneInfo | str = "Asia/Shanghai") -> None:
        self.zone = ZoneInfo(zone) if isinstance(zone, str) else zone

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        return time.time()

    def local_now(self) -> datetime:
        return self.now().astimezone(self.zone)

    def today(self) -> date:
        return self.local_now().date()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FrozenClock(Clock):
    """A clock that moves only when told to; `sleep` advances it instantly."""

    def __init__(self, start: datetime, zone: ZoneInfo | str = "Asia/Shanghai") -> None:
        super().__init__(zone)
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def timestamp(self) -> float:
        return self._now.timestamp()

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (aware): the day of the meeting, the minute before midnight."""
        if moment.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = moment.astimezone(UTC)

    def advance(self, seconds: float = 0, **kw: float) -> None:
        self._now += timedelta(seconds=seconds, **kw)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)
