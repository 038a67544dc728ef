"""How a star and a status are written, the same in chat, on the page and in the log."""

from __future__ import annotations

from typing import Any

from server.models.member_stars import MemberStar, StarStatus

NUMERALS = "一二三四五"


def stars(n: int) -> str:
    """★★★★ (四星): as many stars as the level, never a scale of empty ones beside it."""
    return "★" * n


def star_words(n: int) -> str:
    return f"{stars(n)}（{NUMERALS[n - 1]}星）"


def status_text(row: MemberStar) -> str:
    """已评定 ★★★★, 免评 or 待评定 — what a list and the log show."""
    if row.status == StarStatus.RATED and row.star is not None:
        return f"已评定 {stars(row.star)}"
    if row.status == StarStatus.EXEMPT:
        return "免评"
    return "待评定"


def decided_text(row: MemberStar) -> str:
    """2025年度 ★★★★（四星）, or 2025年度 免评."""
    if row.status == StarStatus.RATED and row.star is not None:
        return f"{row.year}年度 {star_words(row.star)}"
    return f"{row.year}年度 免评"


def star_json(row: MemberStar | None) -> dict[str, Any]:
    """The API's `star`: the decided row, or 尚未评定."""
    if row is None:
        return {"year": None, "status": "none", "star": None, "text": "尚未评定"}
    return {
        "year": row.year,
        "status": row.status.value,
        "star": row.star,
        "text": status_text(row),
    }
