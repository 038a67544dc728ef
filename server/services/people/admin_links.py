"""One-time links that open the dashboard (后台) or a meeting's sign-in screen: issued in chat or
by `dangjian admin-link`, used once.

Only the token's SHA-256 is stored, so a dump cannot be replayed.  A link lives in the database
(`AdminLink`), so one printed in another process works with the embedded cache too; it is used
once, even when two processes are handed it at the same moment: one conditional UPDATE marks it
used.  The cookie session that follows is the dashboard's (`server/admin/links.py`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tortoise.queryset import QuerySet

from server.errors import ValidationFailed
from server.models.people import AdminLink, Member, MemberStatus
from server.services.people.access import DASHBOARD_ROLES
from server.settings import Settings
from server.tokens import new_token, token_hash, well_formed

log = logging.getLogger("dangjian.admin")


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
    return link.member_id


async def issue_screen_link(
    settings: Settings, member: Member, meeting_id: int, now: datetime
) -> str:
    """A link that opens the screen once, for `签到码 N` in chat (WeChat's browser has no
    dashboard cookie).  An AdminLink like 后台's, used up by `consume_link`."""
    token = new_token()
    await AdminLink.create(
        token_hash=token_hash(token),
        member=member,
        expires_at=now.astimezone(UTC) + timedelta(seconds=settings.admin_link_ttl),
    )
    return f"{settings.base_url}/admin/meetings/{meeting_id}/screen/open?t={token}"


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
