"""Points for the demo's deeds, as `services.points.award` would have paid them at the time.

Each deed the activity writes (a check-in, the day's first full reading, a finished quiz, an
approved 心得, a meeting signed in to) is listed with the moment it happened; paying them in
that order, once per deed, within the daily cap on the member's local day, gives the same
rows the chat would have written.  Nothing at all when DANGJIAN_POINTS is off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.models.study import PointsEntry, PointsReason
from server.services.study.points import PointsRules


@dataclass(frozen=True)
class Deed:
    member_id: int
    organisation_id: int  # counted_in(member) when it happened
    at: datetime  # aware
    reason: PointsReason
    deed: str  # the key that pays once: "check_in:2026-11-26", "meeting:12"
    points: int  # asked for; the cap may grant less


def pay(deeds: Iterable[Deed], rules: PointsRules, zone: ZoneInfo) -> list[PointsEntry]:
    """The PointsEntry rows `award` would have written for these deeds, in time order."""
    if not rules.enabled:
        return []
    earned: dict[tuple[int, date], int] = defaultdict(int)
    paid: set[tuple[int, str]] = set()
    rows: list[PointsEntry] = []
    for deed in sorted(deeds, key=lambda d: (d.at, d.member_id, d.deed)):
        day = deed.at.astimezone(zone).date()
        room = rules.daily_cap - earned[(deed.member_id, day)]
        granted = max(0, min(deed.points, room))
        if granted == 0 or (deed.member_id, deed.deed) in paid:
            continue
        paid.add((deed.member_id, deed.deed))
        earned[(deed.member_id, day)] += granted
        rows.append(
            PointsEntry(
                member_id=deed.member_id,
                organisation_id=deed.organisation_id,
                day=day,
                reason=deed.reason,
                deed=deed.deed,
                points=granted,
                created_at=deed.at,
            )
        )
    return rows
