"""Near-copy detection for 心得: how much of one text's phrasing is found in another.

Texts are compared as sets of overlapping 4-character shingles over their words only (Chinese
characters, letters, digits), so spacing, punctuation and emoji changes do not hide a copy.
The score is containment — the share of the new text's shingles found in the other — because
a copy padded with a sentence of one's own is still a copy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

SHINGLE = 4
# What counts as writing: CJK ideographs, letters and digits (after NFKC).
_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")


def words_only(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def shingles(text: str) -> frozenset[str]:
    w = words_only(text)
    if len(w) < SHINGLE:
        return frozenset({w}) if w else frozenset()
    return frozenset(w[i : i + SHINGLE] for i in range(len(w) - SHINGLE + 1))


@lru_cache(maxsize=4096)
def _cached_shingles(text: str) -> frozenset[str]:
    # Study units are compared against every submission; their shingles are worked out once.
    return shingles(text)


def containment(new: frozenset[str], other: frozenset[str]) -> float:
    if not new:
        return 0.0
    return len(new & other) / len(new)


@dataclass(frozen=True)
class Resemblance:
    label: str  # what it resembles: "submission:12" or "unit:const-dues"
    score: float


def closest(
    text: str, candidates: Iterable[tuple[str, str]], *, cached: bool = False
) -> Resemblance | None:
    """The candidate (label, text) that contains most of `text`, or None when there are none."""
    new = shingles(text)
    best: Resemblance | None = None
    for label, other in candidates:
        score = containment(new, _cached_shingles(other) if cached else shingles(other))
        if best is None or score > best.score:
            best = Resemblance(label, score)
    return best
