"""今日学习: which unit a member reads next, and recording that they read it."""

from __future__ import annotations

import re
from datetime import date

from tortoise.exceptions import IntegrityError
from tortoise.functions import Max

from server.models.people import Member, counted_in
from server.models.study import PointsReason, UnitReading
from server.services.study.points import PointsRules, award
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


async def record_opened(member: Member, unit: Unit, today: date) -> None:
    """The digest was shown: remembered (今日学习 stays put, the next unit is a new one), but
    no study — a digest skimmed past counts for nothing."""
    try:
        await UnitReading.create(
            member_id=member.id, organisation_id=counted_in(member), unit_id=unit.id, day=today
        )
    except IntegrityError:
        pass  # opened before today: the row is there, read in full or not


async def record_reading(member: Member, unit: Unit, today: date, rules: PointsRules) -> bool:
    """The whole unit was opened: once per unit per day; True when this was the first time.

    The day's 自学 (a day on which the member studied on their own) follows from any unit
    read in full, however many: tapping through units adds nothing to the tallies.
    """
    try:
        await UnitReading.create(
            member_id=member.id,
            organisation_id=counted_in(member),
            unit_id=unit.id,
            day=today,
            read_full=True,
        )
    except IntegrityError:  # the digest was shown first, or this is a repeat
        flipped = await UnitReading.filter(
            member_id=member.id, unit_id=unit.id, day=today, read_full=False
        ).update(read_full=True)
        if not flipped:
            return False
    # Reading pays once a day, however many units: study is not a points race.
    await award(
        member, PointsReason.READING, f"reading:{today.isoformat()}", rules.reading, today, rules
    )
    return True


def digest(unit: Unit, length: int = 110) -> str:
    text = " ".join(unit.body.split())
    return text if len(text) <= length else text[:length] + "……"


# A sentence runs to 。！？ (and any closing quotes after it: “……。”) or to the end of its line;
# a clause to ；or ，, for the rare sentence longer than a page.
_SENTENCE = re.compile(r"[^。！？!?…\n]*(?:[。！？!?…]+[”’」』）)]*\n?|\n|$)")
_CLAUSE = re.compile(r"[^；;，,]*(?:[；;，,]+|$)")


def pages(text: str, size: int = PAGE) -> list[str]:
    """The text cut into pages of at most `size` characters, each ending where a sentence (or
    a paragraph) ends; only a single sentence longer than a page is cut, at a clause end."""
    out: list[str] = []
    current = ""
    for sentence in (m.group(0) for m in _SENTENCE.finditer(text.strip()) if m.group(0)):
        pieces = [sentence] if len(sentence) <= size else _clauses(sentence, size)
        for piece in pieces:
            if current and len(current) + len(piece) > size:
                out.append(current)
                current = ""
            current += piece
    if current.strip():
        out.append(current)
    return [page.strip("\n") for page in out if page.strip()]


def _clauses(sentence: str, size: int) -> list[str]:
    """A sentence longer than a page, in clauses (a clause longer still, in page-size cuts)."""
    found: list[str] = []
    for clause in (m.group(0) for m in _CLAUSE.finditer(sentence) if m.group(0)):
        found.extend(clause[i : i + size] for i in range(0, len(clause), size))
    return found


def page(unit: Unit, number: int) -> tuple[str, bool]:
    """Page `number` (0-based) of the body, and whether more follows."""
    cut = pages(unit.body)
    chunk = cut[number] if 0 <= number < len(cut) else ""
    return chunk, number + 1 < len(cut)
