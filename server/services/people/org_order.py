"""Organisations in the tree's own order: under each parent, 第二 before 第十 before 第十一.

A path sorted as text puts 第三 before 第二 (三 U+4E09 < 二 U+4E8C), so lists that say
按组织顺序排列 are ordered here instead: by the parent's place in the tree, then by the number
in the name (第N, Chinese or Arabic numerals, read as a number: every 第N in turn, so
第一社区第二党支部 comes after 第一社区第一党支部), then by id — the order the
roll created them in, which is also how the tallies' breakdown by child lists organisations.
Names without a number (红星村党支部) keep that creation order, after the numbered ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from server.models.people import Organisation

_DIGITS = {c: n for n, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
# 第 then a numeral: 第二, 第十一, 第一百零三, 第12.
_NUMBERED = re.compile(r"第([零〇一二两三四五六七八九十百千\d]+)")
UNNUMBERED = 10**9  # after every numbered sibling


def numeral(text: str) -> int | None:
    """二 → 2, 十 → 10, 十一 → 11, 二十三 → 23, 一百零五 → 105, 12 → 12; None if not a number."""
    if text.isascii():
        return int(text) if text.isdigit() else None
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
            continue
        unit = {"十": 10, "百": 100, "千": 1000}.get(ch)
        if unit is None:
            return None
        total += (1 if digit is None else digit) * unit  # 十一: a ten with no digit before it
        digit = None
    return total + (digit or 0)


def sibling_key(name: str, org_id: int) -> tuple[tuple[int, ...], int]:
    """Where an organisation stands among its parent's children: its numbers, then its id."""
    numbers = tuple(n for n in (numeral(m) for m in _NUMBERED.findall(name)) if n is not None)
    return (numbers or (UNNUMBERED,), org_id)


async def in_tree_order(orgs: Iterable[Organisation]) -> list[Organisation]:
    """`orgs` ordered as the tree is: each by its ancestors' places, then by its own."""
    listed = list(orgs)
    if not listed:
        return []
    # Every ancestor named in the paths, in one query: their ids break ties between names.
    prefixes = {
        "/".join(parts[:n])
        for parts in (o.path.split("/") for o in listed)
        for n in range(1, len(parts))
    }
    ids = dict(await Organisation.filter(path__in=prefixes).values_list("path", "id"))
    ids |= {o.path: o.id for o in listed}

    def key(org: Organisation) -> tuple[tuple[tuple[int, ...], int], ...]:
        parts = org.path.split("/")
        return tuple(
            # An ancestor not stored (never, with paths kept whole) goes last among its kin.
            sibling_key(parts[n - 1], int(ids.get("/".join(parts[:n]), UNNUMBERED)))
            for n in range(1, len(parts) + 1)
        )

    return sorted(listed, key=key)
