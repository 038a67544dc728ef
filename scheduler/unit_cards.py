"""Each quarter's first day: every 报到单位's contacts get the quarter just ended's 联系卡.

A message per contact, with the card's summary and a week-long link to the XLSX, written to the
四单制's outbox (`community.outbox`) under `card:{unit}:{2026Q4}:{contact}`: the outbox's
sender delivers it, the unique key means a rerun (after a crash, or by a second process) writes
no second row, and `job_run` runs the period once.  Nothing is sent from here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from scheduler.jobs import Fence, no_fence
from server.cache import Cache
from server.clock import Clock
from server.models.community import CommunityMessage, ReportUnit, UnitContact
from server.services.community import card_links
from server.services.community.contact_card import Quarter, quarter_card, summary
from server.services.community.outbox import Letter, enqueue, quiet_hours
from server.settings import Settings

log = logging.getLogger("dangjian.scheduler")
KIND = "unit_card"
GRACE = timedelta(days=7)  # a run missed by longer is let go: no stale card a month late


def quarterly(hour: int, minute: int) -> Callable[[datetime], datetime]:
    """The first day of each quarter (January, April, July, October) at hour:minute."""

    def last_due(now: datetime) -> datetime:
        month = 3 * ((now.month - 1) // 3) + 1
        due = now.replace(month=month, day=1, hour=hour, minute=minute, second=0, microsecond=0)
        if due <= now:
            return due
        if month == 1:
            return due.replace(year=now.year - 1, month=10)
        return due.replace(month=month - 3)

    return last_due


def key_of(unit_id: int, quarter: Quarter, contact_id: int) -> str:
    return f"card:{unit_id}:{quarter.key}:{contact_id}"


def message(text: str, link: card_links.CardLink) -> str:
    return (
        f"【联系卡】{text}\n"
        f"下载联系卡（XLSX，7天内有效）：{link.url}\n"
        "过期后发送 联系卡 上季度 可以重新获取。"
    )


async def send_unit_cards(
    clock: Clock,
    settings: Settings,
    cache: Cache,
    period: str | None = None,
    fence: Fence = no_fence,
) -> int:
    """Write the quarter just ended's card for every contact; the number of rows written.

    `period` is the run's due day (2027-01-01): its quarter's previous one is the card's.
    """
    now = clock.now()
    day = date.fromisoformat(period) if period else clock.today()
    quarter = Quarter(day.year, (day.month - 1) // 3 + 1).previous
    quiet = quiet_hours(settings.quiet_window, settings.zone)
    written = 0
    unit_ids = await UnitContact.all().distinct().values_list("unit_id", flat=True)
    for unit in await ReportUnit.filter(id__in=list(unit_ids)).order_by("id"):
        contacts = await UnitContact.filter(unit_id=unit.id).order_by("id")
        keys = {c.id: key_of(unit.id, quarter, c.id) for c in contacts}
        done = set(await CommunityMessage.filter(key__in=list(keys.values())).values_list(
            "key", flat=True
        ))  # fmt: skip
        waiting = [c for c in contacts if keys[c.id] not in done]
        if not waiting:
            continue
        await fence()  # a paused ex-leader stops here, before its next unit
        text = summary(await quarter_card(unit, quarter, now, settings))
        letters = []
        for contact in waiting:
            link = await card_links.issue(cache, settings.base_url, unit.id, quarter, now)
            letters.append(
                Letter(keys[contact.id], KIND, contact.appid, contact.openid, message(text, link))
            )
        await enqueue(letters, now, quiet)
        written += len(letters)
    log.info("unit cards for %s: %d messages written", quarter.key, written)
    return written
