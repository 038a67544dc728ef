"""Signing in to the dashboard: a one-time link sent in chat, then a cookie session.

Neither token is stored, only its SHA-256, so a dump cannot be replayed.  A link lives in the
database (`AdminLink`), so one printed by `dangjian admin-link` in another process works with
the embedded cache too; it is used once, even when two processes are handed it at the same
moment: one conditional UPDATE marks it used.  Sessions are opaque tokens in an HttpOnly
cookie, kept in the cache; signing out deletes the entry.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tortoise.queryset import QuerySet

from server.cache import Cache
from server.errors import ValidationFailed
from server.models.people import AdminLink, Member, MemberStatus
from server.services.people.access import DASHBOARD_ROLES
from server.settings import Settings
from server.tokens import TokenStore, new_token, token_hash, well_formed

log = logging.getLogger("dangjian.admin")

SESSION = "admin:session:"
COOKIE = "dj_admin"


async def issue_link(settings: Settings, member: Member, now: datetime) -> str:
    """A sign-in link for `member`, usable once within DANGJIAN_ADMIN_LINK_TTL seconds."""
    token = new_token()
    await AdminLink.create(
        token_hash=token_hash(token),
        member=member,
        expires_at=_utc(now) + timedelta(seconds=settings.admin_link_ttl),
    )
    log.info("dashboard link issued", extra={"member_id": member.id})
    return f"{settings.base_url}/admin/login?t={token}"


def _utc(now: datetime) -> datetime:
    return now.astimezone(UTC)  # stored and compared in UTC (SQLite compares the text)


def _live(token: str | None, now: datetime) -> QuerySet[AdminLink]:
    return AdminLink.filter(
        token_hash=token_hash(token or ""), used_at__isnull=True, expires_at__gt=_utc(now)
    )


async def link_is_live(token: str | None, now: datetime) -> bool:
    """Whether the link still works (the page with the button says so before it is pressed)."""
    return well_formed(token) and await _live(token, now).exists()


async def consume_link(token: str | None, now: datetime) -> int | None:
    """The member id the link was issued to, once; None if expired, used or forged."""
    if not well_formed(token):
        return None
    link = await _live(token, now).first()
    if link is None:
        return None
    # One conditional UPDATE: of two processes pressing at once, exactly one changes the row.
    if not await _live(token, now).filter(id=link.id).update(used_at=_utc(now)):
        return None
    return link.member_id  # type: ignore[attr-defined]


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


async def admin_link_for_phone(phone: str, settings: Settings, now: datetime) -> str:
    """`dangjian admin-link <phone>`: a sign-in link for a member the dashboard is open to.

    It never changes a role: it once promoted anyone else to 系统管理员 without a word, so a
    typo in the phone number made a stranger an administrator.  `dangjian make-admin` does
    that now, on purpose, and records it.
    """
    member = await Member.get_or_none(phone=phone.strip())
    if member is None or member.status != MemberStatus.ACTIVE:
        raise ValidationFailed("没有这个手机号的在册党员。", field="phone")
    if member.role not in DASHBOARD_ROLES:
        raise ValidationFailed(
            f"{member.name}是{member.role.value}，后台不对这个职务开放；"
            f"如确需任命为系统管理员，请运行：dangjian make-admin {phone.strip()}",
            field="phone",
        )
    return await issue_link(settings, member, now)
