"""今日学习: which unit a member reads next, and recording that they read it."""

from __future__ import annotations

from datetime import date

from tortoise.exceptions import IntegrityError
from tortoise.functions import Max

from server.activity import PointsReason, UnitReading
from server.models import Member
from server.services.points import PointsRules, award
from study_content.corpus import Unit

PAGE = 500  # characters per 全文 page: a passive reply must stay under WeChat's 2,048 bytes


async def pick_unit(member: Member, corpus: list[Unit], *, skip: str | None = None) -> Unit:
    """Units this member has never read come first (in corpus order), then the least recent."""
    last_read = {
        row["unit_id"]: row["last"]
        for row in await UnitReading.filter(member_id=member.id)
        .annotate(last=Max("day"))
        .group_by("unit_id")
        .values("unit_id", "last")
    }
    candidates = [u for u in corpus if u.id != skip] or corpus
    unseen = [u for u in candidates if u.id not in last_read]
    if unseen:
        return unseen[0]
    return min(candidates, key=lambda u: (last_read[u.id], u.id))


async def todays_unit(member: Member, corpus: list[Unit], today: date) -> Unit:
    """The unit this member last opened today (今日学习 stays put within a day), else a new one."""
    latest = (
        await UnitReading.filter(member_id=member.id, day=today)
        .order_by("-created_at", "-id")
        .first()
    )
    if latest is not None:
        for unit in corpus:
            if unit.id == latest.unit_id:
                return unit
    return await pick_unit(member, corpus)


async def record_reading(member: Member, unit: Unit, today: date, rules: PointsRules) -> bool:
    """Once per unit per day; True when this was the first time today."""
    try:
        await UnitReading.create(
            member_id=member.id,
            organisation_id=member.organisation_id,  # type: ignore[attr-defined]
            unit_id=unit.id,
            day=today,
        )
    except IntegrityError:
        return False
    # Reading pays once a day, however many units: study is not a points race.
    await award(
        member, PointsReason.READING, f"reading:{today.isoformat()}", rules.reading, today, rules
    )
    return True


def digest(unit: Unit, length: int = 110) -> str:
    text = " ".join(unit.body.split())
    return text if len(text) <= length else text[:length] + "……"


def page(unit: Unit, number: int) -> tuple[str, bool]:
    """Page `number` (0-based) of the body, and whether more follows."""
    text = unit.body.strip()
    chunk = text[number * PAGE : (number + 1) * PAGE]
    return chunk, (number + 1) * PAGE < len(text)
