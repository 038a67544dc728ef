"""One-time bind codes: a secretary (or staff) issues one to a named member of their scope.

Nothing the product shows anyone is enough to bind as someone else; a code is handed over in
person or by the secretary's own message, works once, for DANGJIAN_BIND_CODE_TTL seconds
(a day), and only its SHA-256 is stored.  Issuing a new code retires the member's older ones.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta

from tortoise.queryset import QuerySet

from server.errors import ValidationFailed
from server.models.people import BindCode, Member, MemberStatus
from server.services.people.access import NotAllowed, is_leader, scope_of

log = logging.getLogger("dangjian.binding")

# No 0/O, 1/I/L: read aloud or copied from a phone screen without doubt.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ"
# Always ends in a letter, so `绑定 <code>` is never mistaken for 绑定 姓名 1234 (which ends
# in a digit), even for a Latin name.
_SHAPE = re.compile(r"^[2-9A-Z]{7}[A-Z]$")


def new_code() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(7)) + secrets.choice(_LETTERS)
    return f"{body[:4]}-{body[4:]}"


def normalise(text: str) -> str | None:
    """'k7m4-q9xp', 'K7M4 Q9XP' → 'K7M4Q9XP'; None when it is not shaped like a code."""
    compact = re.sub(r"[\s\-_]", "", text).upper()
    return compact if _SHAPE.match(compact) else None


def _hash(compact: str) -> str:
    return hashlib.sha256(compact.encode()).hexdigest()


def _utc(now: datetime) -> datetime:
    return now.astimezone(UTC)  # stored and compared in UTC (SQLite compares the text)


async def issue_code(member: Member, now: datetime, ttl: int, issuer: Member | None) -> str:
    """A new code for `member`; `issuer` None is the command line (the server's operator)."""
    if member.status != MemberStatus.ACTIVE:
        raise ValidationFailed("只能为在册党员生成绑定码。", field="member")
    if issuer is not None:
        if not is_leader(issuer):
            raise NotAllowed("只有支部书记、副书记或上级组织可以生成绑定码。")
        await member.fetch_related("organisation", "group")
        if not (await scope_of(issuer)).covers_member(member):
            raise NotAllowed("只能为本组织的党员生成绑定码。")
    code = new_code()
    # The older codes stop working: the last one handed over is the only one in circulation.
    await BindCode.filter(member_id=member.id, used_at__isnull=True).update(used_at=_utc(now))
    await BindCode.create(
        code_hash=_hash(normalise(code) or ""),
        member=member,
        issued_by_id=issuer.id if issuer else None,
        expires_at=_utc(now) + timedelta(seconds=ttl),
    )
    log.info(
        "bind code issued",
        extra={"member_id": member.id, "issuer_id": issuer.id if issuer else None},
    )
    return code


def _live(compact: str, now: datetime) -> QuerySet[BindCode]:
    return BindCode.filter(code_hash=_hash(compact), used_at__isnull=True, expires_at__gt=_utc(now))


async def code_holder(compact: str, now: datetime) -> Member | None:
    """The active member a live code was issued to (not yet used up)."""
    found = await _live(compact, now).first()
    if found is None:
        return None
    return await Member.get_or_none(id=found.member_id, status=MemberStatus.ACTIVE)


async def use_code(compact: str, now: datetime) -> bool:
    """Mark the code used; of two processes using it at once, exactly one gets True."""
    return bool(await _live(compact, now).update(used_at=_utc(now)))
