"""A unit's authors write down the facts members ask and how they ask them; the bot answers such
a question with the body's own words that state the fact, and quotes the passage around them."""

from __future__ import annotations

from pathlib import Path

import pytest

from study_content.corpus import SHIPPED, CorpusInvalid, Fact, Unit, load_corpus
from study_content.retrieval import CorpusIndex
from tests.test_corpus import unit_file

BODY = (
    "党员活动室是社区党组织开展组织生活的场所。党员活动室每周二、周四下午向党员开放，"
    "其他时间可以向网格党小组组长预约。活动室的钥匙由党支部组织委员保管。\n\n"
    "活动室里的书刊由党员捐赠，借阅登记后可以带回家读，两周内归还。活动室不得出租，"
    "也不得用于与党组织活动无关的经营。"
) * 3
FACTS = (
    Fact(
        ("活动室几点开门", "活动室啥时候能去", "活动室哪天开"),
        "党员活动室每周二、周四下午向党员开放",
    ),
    Fact(("活动室的书能借回家吗", "书刊可以拿走看不"), "借阅登记后可以带回家读，两周内归还"),
)


def unit(facts: tuple[Fact, ...] = FACTS) -> Unit:
    return Unit(
        "activity-room",
        "党员活动室",
        ("社区党建", "党员活动室"),
        "基层实践",
        BODY,
        (),
        Path("a"),
        facts,
    )


@pytest.fixture(scope="module")
def shipped() -> list[Unit]:
    return load_corpus(SHIPPED)


def test_a_question_asked_as_the_authors_foresaw_gets_their_answer_and_its_passage(
    shipped: list[Unit],
) -> None:
    index = CorpusIndex.build([*shipped, unit()])
    [found, *_] = index.search("咱那个活动室啥时候能去啊")
    assert found.unit.id == "activity-room"
    assert found.answer == "党员活动室每周二、周四下午向党员开放。"
    # The passage around it: its paragraph, short enough to be read whole.
    assert found.text.startswith(
        "党员活动室是社区党组织开展组织生活的场所。党员活动室每周二、周四下午向党员开放，"
    )
    [borrow, *_] = index.search("活动室的书能借回家吗？")
    assert borrow.answer == "借阅登记后可以带回家读，两周内归还。"


def test_without_the_facts_the_same_question_finds_less(shipped: list[Unit]) -> None:
    with_facts = CorpusIndex.build([*shipped, unit()]).search("活动室哪天开")
    without = CorpusIndex.build([*shipped, unit(())]).search("活动室哪天开")
    assert with_facts[0].answer == "党员活动室每周二、周四下午向党员开放。"
    assert not without or without[0].answer != with_facts[0].answer


def test_a_fact_must_be_the_bodys_own_words(tmp_path: Path) -> None:
    good = '[[facts]]\nasks = ["学什么"]\nanswer = "党章学习"\n'
    unit_file(tmp_path, "good-facts", extra=good)
    [loaded] = load_corpus(tmp_path)
    assert loaded.facts == (Fact(("学什么",), "党章学习"),)
    (tmp_path / "good-facts.md").unlink()
    invented = '[[facts]]\nasks = ["多久交党费"]\nanswer = "党费每季度交一次"\n'
    unit_file(tmp_path, "invented-fact", extra=invented)
    with pytest.raises(CorpusInvalid, match="not the body's own words"):
        load_corpus(tmp_path)


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ('[[facts]]\nasks = []\nanswer = "党章学习"\n', "asks must be"),
        ('[[facts]]\nasks = ["' + "问" * 41 + '"]\nanswer = "党章学习"\n', "asks must be"),
        ('[[facts]]\nasks = ["学什么"]\n', "answer is missing"),
        ("facts = 3\n", "facts must be a list"),
    ],
)
def test_a_malformed_fact_is_named(tmp_path: Path, facts: str, message: str) -> None:
    unit_file(tmp_path, "bad-facts", extra=facts)
    with pytest.raises(CorpusInvalid, match=message):
        load_corpus(tmp_path)
