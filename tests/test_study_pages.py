"""全文 comes in pages a member can read: each ends where a sentence or paragraph ends."""

from __future__ import annotations

import pytest

from server.services.study.reading import PAGE, pages
from study_content.corpus import SHIPPED, Unit, load_corpus

ENDS = ("。", "！", "？", "”", "）", ")")


@pytest.mark.parametrize("unit", load_corpus(SHIPPED), ids=lambda u: u.id)
def test_every_shipped_unit_pages_at_sentence_ends_and_loses_nothing(unit: Unit) -> None:
    cut = pages(unit.body)
    assert all(len(page) <= PAGE for page in cut)
    assert all(page.rstrip().endswith(ENDS) for page in cut[:-1]), [p[-12:] for p in cut]
    assert "".join(cut).replace("\n", "") == unit.body.strip().replace("\n", "")


def test_a_small_page_still_ends_at_a_sentence_not_a_semicolon() -> None:
    text = "党员大会一般每季度召开1次；支委会一般每月召开1次。党小组会一般每月召开1次。"
    assert pages(text, size=30) == [
        "党员大会一般每季度召开1次；支委会一般每月召开1次。",
        "党小组会一般每月召开1次。",
    ]


def test_only_a_sentence_longer_than_a_page_is_cut_and_then_at_a_clause_end() -> None:
    long = "甲" * 30 + "；" + "乙" * 30 + "。"
    assert pages(long, size=40) == ["甲" * 30 + "；", "乙" * 30 + "。"]
    assert pages("丙" * 90, size=40) == ["丙" * 40, "丙" * 40, "丙" * 10]  # no clause at all
