"""The evaluation set, asked as members ask it: nothing invented, and answers no worse than now.

`bench/qa_eval.py` prints the figures; this keeps them from slipping.  The floors sit a little
under the shares measured (see README, "How well 问 answers"); the target of issue 12 (95 % on
questions nobody tuned to) is reported by the bench script, not asserted here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from handlers.questions import reply
from study_content.corpus import SHIPPED, load_corpus
from study_content.retrieval import CorpusIndex

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import qa_eval  # bench/ holds scripts, not a package: imported by path

RIGHT_FLOOR = 0.95
# The blind sets (bench/qa_eval_blind*.toml), as measured once tuned on: the share right, and the
# questions off the corpus that still get an answer (README, "How well 问 answers", lists them).
BLIND_FLOORS = {
    "qa_eval_blind1.toml": (0.94, 0),
    "qa_eval_blind2.toml": (0.9, 1),
    "qa_eval_blind3.toml": (0.88, 1),
    "qa_eval_blind4.toml": (0.81, 0),
    "qa_eval_blind5.toml": (0.83, 1),
    "qa_eval_blind6.toml": (0.84, 1),
    "qa_eval_blind7.toml": (0.81, 1),
}


@pytest.fixture(scope="module")
def index() -> CorpusIndex:
    return CorpusIndex.build(load_corpus(SHIPPED))


@pytest.fixture(scope="module")
def result(index: CorpusIndex) -> qa_eval.Result:
    return qa_eval.evaluate(index, *qa_eval.load())


def test_the_set_is_as_large_as_issue_12_asks() -> None:
    answerable, unanswerable = qa_eval.load()
    assert len(answerable) >= 150 and len(unanswerable) >= 30
    assert len({c.q for c in answerable + unanswerable}) == len(answerable) + len(unanswerable)


def test_nothing_is_invented_and_every_question_off_the_corpus_is_declined(
    result: qa_eval.Result,
) -> None:
    assert result.invented == []
    assert len(result.declined) == result.unanswerable


def test_answers_hold_the_fact_asked_for_at_least_as_often_as_when_measured(
    result: qa_eval.Result,
) -> None:
    assert result.right_share >= RIGHT_FLOOR, result.wrong[:10]


@pytest.mark.parametrize("name", sorted(BLIND_FLOORS))
def test_the_blind_sets_answer_no_worse_and_invent_no_more_than_when_measured(
    index: CorpusIndex, name: str
) -> None:
    floor, known_inventions = BLIND_FLOORS[name]
    r = qa_eval.evaluate(index, *qa_eval.load(qa_eval.HERE / name))
    assert r.right_share >= floor, r.wrong[:10]
    assert len(r.invented) <= known_inventions, r.invented


def test_every_reply_fits_a_passive_wechat_reply(index: CorpusIndex) -> None:
    answerable, unanswerable = qa_eval.load()
    for case in answerable + unanswerable:
        assert len(reply(case.q, index).encode()) < 2048, case.q


def test_the_judge_counts_a_missing_fact_as_wrong_and_an_answer_off_the_corpus_as_invented(
    index: CorpusIndex,
) -> None:
    right = qa_eval.Case("支委会多久开一次", ("每月",))
    missing = qa_eval.Case("支委会多久开一次", ("每季度",))
    off = qa_eval.Case(
        "党员大会多长时间开一次"
    )  # answerable, so as an "unanswerable" it is invented
    r = qa_eval.evaluate(index, [right, missing], [off])
    assert r.right == ["支委会多久开一次"] and [q for q, _ in r.wrong] == ["支委会多久开一次"]
    assert [q for q, _ in r.invented] == ["党员大会多长时间开一次"]
    assert qa_eval._missing("……每月召开1次……", ["每季度|每月"]) == []
