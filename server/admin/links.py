"""Signing in to the dashboard: a one-time link sent in chat, then a cookie session.

Neither token is stored, only its SHA-256, so a dump cannot be replayed.  A link lives in the
database (`AdminLink`), so one printed by `dangjian admin-link` in another process works with
the embedded cache too; it is used once, even when two processes are handed it at the same
moment: one conditional UPDATE marks it used.  Sessions are opaque tokens in an HttpOnly
cookie, kept in the cache; signing out deletes the entry.
"""

from __future__ import annotations

import logging

from server.cache import Cache
from server.models.people import Member, MemberStatus
from server.services.people.access import DASHBOARD_ROLES
from server.settings import Settings
from server.tokens import TokenStore

log = logging.getLogger("dangjian.admin")

SESSION = "admin:session:"
COOKIE = "dj_admin"


def _sessions(cache: Cache, settings: Settings) -> TokenStore:
    return TokenStore(cache, SESSION, settings.admin_session_ttl)


async def open_session(cache: Cache, settings: Settings, member_id: int) -> str:
    return await _sessions(cache, settings).issue({"member_id": member_id})


async def session_member(cache: Cache, settings: Settings, token: str | None) -> Member | None:
    """The signed-in member behind a session cookie, if it is still allowed the dashboard."""
    found = await _sessions(cache, settings).read(token)
    return None if found is None else await session_member_by_id(int(found[1]["member_id"]))


async def session_member_by_id(member_id: int) -> Member | None:
    """The member, if they may use the dashboard now."""
    member = await Member.get_or_none(id=member_id).prefetch_related("organisation")
    # Checked on every page: a secretary replaced or transferred loses the dashboard at once.
    if member is None or member.status != MemberStatus.ACTIVE or member.role not in DASHBOARD_ROLES:
        return None
    return member


async def close_session(cache: Cache, settings: Settings, token: str | None) -> None:
    found = await _sessions(cache, settings).read(token)
    if found is not None:
        await _sessions(cache, settings).revoke(found[0])
