"""How a star and a status are written, the same in chat, on the page and in the log."""

from __future__ import annotations

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
