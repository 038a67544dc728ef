"""The download link of a unit's 联系卡: one unit, one quarter, for a week.

The link carries an opaque token (`server.tokens`: only its hash is kept, in the shared cache)
whose value names the unit and the quarter; the address names them too, and the two must
agree, so a contact of one unit cannot turn their link into another unit's.  The token is kept
a month past its expiry so a late click is told it expired (410), not that it was forged (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.cache import Cache
from server.services.community.contact_card import Quarter
from server.tokens import TokenStore

LINK_LIFE = timedelta(days=7)
KEPT_AFTER = timedelta(days=30)  # to tell "expired" from "never issued"
_PREFIX = "unit-card:"
PATH = "/unit-card/{unit_id}/{quarter}"


@dataclass(frozen=True)
class CardLink:
    url: str
    expires_at: datetime


class LinkRefused(Exception):
    """Why a link is not honoured: `expired` (410) or not ours (403)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _store(cache: Cache) -> TokenStore:
    return TokenStore(cache, _PREFIX, int((LINK_LIFE + KEPT_AFTER).total_seconds()))


def path_of(unit_id: int, quarter: Quarter) -> str:
    return PATH.format(unit_id=unit_id, quarter=quarter.key)


async def issue(
    cache: Cache, base_url: str, unit_id: int, quarter: Quarter, now: datetime
) -> CardLink:
    expires = now + LINK_LIFE
    token = await _store(cache).issue(
        {"unit": unit_id, "quarter": quarter.key, "expires": expires.timestamp()}
    )
    return CardLink(f"{base_url}{path_of(unit_id, quarter)}?t={token}", expires)


async def check(
    cache: Cache, token: str | None, unit_id: int, quarter: Quarter, now: datetime
) -> None:
    """Raises LinkRefused unless `token` was issued for this unit and quarter and is current."""
    found = await _store(cache).read(token)
    if found is None:
        raise LinkRefused(expired=False)
    _, value = found
    if value.get("unit") != unit_id or value.get("quarter") != quarter.key:
        raise LinkRefused(expired=False)
    if now.timestamp() >= float(value.get("expires", 0)):
        raise LinkRefused(expired=True)
