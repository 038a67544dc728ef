"""A member asks for a fact and the reply leads with it: the sentence that holds it, quoted whole.

The questions here are the ones new members asked when trying the bot; each reply must contain
the fact asked for, quote whole sentences of one unit, and never begin with a sentence that leans
on one the member cannot see.
"""

from __future__ import annotations

import re

import pytest

from handlers.questions import reply
from study_content import quoting
from study_content.corpus import SHIPPED, load_corpus
from study_content.quoting import Kind
from study_content.retrieval import CorpusIndex


@pytest.fixture(scope="module")
def index() -> CorpusIndex:
    return CorpusIndex.build(load_corpus(SHIPPED))


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("支委会多久开一次", Kind.FREQUENCY),
        ("党小组会多就开一回", Kind.FREQUENCY),
        ("预备期多长时间", Kind.DURATION),
        ("党纪处分有几种", Kind.COUNT),
        ("三会一课指的是哪几个会", Kind.LIST),
        ("党是哪一年成立的", Kind.YEAR),
        ("南昌起义是哪天", Kind.DATE),
        ("退休了党费交多少", Kind.AMOUNT),
        ("多大岁数能入党", Kind.AGE),
        ("举报电话是多少", Kind.NUMBER),
        ("两个务必是哪次会议提出的", Kind.EVENT),
        ("党课由谁来讲", Kind.WHO),
        ("一大在哪里开的", Kind.WHERE),
        ("党员能信教吗", Kind.YES_NO),
        ("入党誓词是什么", Kind.DEFINITION),
        ("网格党小组", Kind.OTHER),
    ],
)
def test_a_question_says_what_kind_of_fact_it_wants(question: str, kind: Kind) -> None:
    assert quoting.kind_of(question) is kind


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("支委会多久开一次", "每月召开1次"),
        ("党小组会多久开一次", "党小组会一般每月召开1次"),
        ("党员大会多长时间开一次", "每季度召开1次"),
        ("党员多久交一次党费", "按月主动交纳党费"),
        ("党是哪一年成立的", "1921年"),
        ("南昌起义是哪天", "1927年8月1日"),
        ("党纪处分有几种", "党纪处分一共五种"),
        ("预备期多长", "预备期为一年"),
        ("四个意识是哪四个", "政治意识、大局意识、核心意识、看齐意识"),
        ("年满多少岁才能申请入党", "年满十八岁"),
    ],
)
def test_the_reply_holds_the_fact_asked_for(index: CorpusIndex, question: str, fact: str) -> None:
    text = reply(question, index)
    assert "——摘自《" in text
    assert fact in text.split("——摘自")[0], text


def test_a_short_fact_comes_first_as_an_answer_line_taken_from_the_quotation(
    index: CorpusIndex,
) -> None:
    [first, *_] = index.search("支委会多久开一次")
    assert first.answer == "支委会会议一般每月召开1次，根据需要可以随时召开。"
    assert first.answer.rstrip("。") in first.text
    text = reply("支委会多久开一次", index)
    assert text.startswith(
        "关于「支委会多久开一次」：支委会会议一般每月召开1次，根据需要可以随时召开。\n"
        "学习资料原文：\n"
    )


def test_a_question_the_unit_has_no_number_for_is_not_answered_with_another_number(
    index: CorpusIndex,
) -> None:
    # The corpus speaks of 二十大 and of 党员管理信息系统, but holds neither figure.
    for question in ("党的二十一大啥时候开", "全国现在一共有多少党员", "社区党群服务中心电话多少"):
        assert index.search(question) == [], question
        assert "没有找到能回答" in reply(question, index)
    assert index.search("{{7*7}}${7*7}") == [] and index.search("12345678") == []


@pytest.mark.parametrize(
    "question",
    [
        "支委会多久开一次",
        "党纪处分有几种",
        "预备期多长",
        "入党介绍人需要几个",
        "党费怎么交",
        "退休了党费交多少",
        "四个意识是哪四个",
        "党小组会多久开一次",
        "一大代表有多少人",
    ],
)
def test_quotations_are_whole_sentences_that_do_not_lean_on_an_unseen_one(
    index: CorpusIndex, question: str
) -> None:
    for passage in index.search(question):
        first = passage.text.splitlines()[0]
        assert not quoting.leans_back(first), first
        assert re.search(r"[。！？][”’」』）)]*$", passage.text), passage.text
        body = "\n".join(quoting.plain(x) for x in passage.unit.body.splitlines() if x.strip())
        assert all(line in body for line in passage.text.splitlines())


def test_a_list_opened_by_a_colon_is_quoted_with_what_it_introduces() -> None:
    paragraphs = quoting.split("入党誓词是：\n\n我志愿加入中国共产党，拥护党的纲领。\n\n其他。")
    assert quoting.window(paragraphs, 0, 0).startswith(
        "入党誓词是：\n我志愿加入中国共产党，拥护党的纲领。"
    )


def test_a_list_is_quoted_to_its_last_item_the_long_ones_by_their_first_sentence() -> None:
    long = "例如" + "、".join(["超标准筹资筹劳"] * 14) + "。"
    paragraphs = quoting.split(
        f"行为大致有三类：\n\n一是侵害群众利益。{long}\n\n二是办事不公。{long}\n\n"
        f"三是漠视群众。{long}\n\n社区是离群众最近的地方。"
    )
    text = quoting.window(paragraphs, 0, 0)
    assert "二是办事不公。" in text and "三是漠视群众。" in text, text
    assert "社区是离群众最近的地方" not in text  # the list ends where its items do
    assert len(text) <= 380


def test_the_whole_list_of_kinds_answers_which_kinds_there_are(index: CorpusIndex) -> None:
    answer = reply("违反群众纪律的行为大致有哪几类", index)
    assert all(kind in answer for kind in ("直接侵害群众利益", "办事不公", "漠视群众")), answer


def test_a_sentence_that_leans_back_is_quoted_with_the_one_before_it() -> None:
    paragraphs = quoting.split("预备期为一年，从支部大会通过之日算起。它是考察期。")
    assert quoting.window(paragraphs, 0, 1).startswith("预备期为一年")


def test_a_run_on_sentence_is_cut_at_a_clause_end_never_inside_a_clause() -> None:
    sentence = "；".join(["党员应当按月交纳党费"] * 60) + "。"
    pieces = list(quoting.sentences(sentence))
    assert len(pieces) > 1 and "".join(pieces) == sentence
    assert all(p.endswith(("；", "。")) for p in pieces)


@pytest.mark.parametrize(
    ("question", "line"),
    [
        ("党小组会多久开一次", "党小组会一般每月召开1次。"),
        (
            "党纪处分一共几种",
            "党纪处分一共五种：警告、严重警告、撤销党内职务、留党察看、开除党籍。",
        ),
        ("网格一般按多少户划分", "网格一般按六七十户划分。"),
        ("几个党员就可以成立支部", "凡是有正式党员3人以上的，都应当成立党支部。"),
        ("十八大是哪年开的", "2012年11月8日至14日，党的十八大在北京召开。"),
    ],
)
def test_an_answer_line_states_the_fact_by_the_name_of_what_was_asked(
    index: CorpusIndex, question: str, line: str
) -> None:
    assert index.search(question)[0].answer == line


@pytest.mark.parametrize(
    ("question", "wrong"),
    [
        ("主题党日多久搞一次", "一次主题党日里"),  # a bare 一次 is no frequency
        ("几个党员就可以成立支部", "不足3人"),  # the opposite of the rule
        ("十一届三中全会哪年开的", "1978年5月"),  # the debate that began before it
        ("第三个历史决议哪年通过的", "1945年"),  # the first two
        ("党员有几项义务", "后四项"),
        ("党员多久交一次党费", "农民"),  # how much some pay is not how often all pay
        ("党费怎么交", "学生党员"),
    ],
)
def test_never_a_wrong_answer_line(index: CorpusIndex, question: str, wrong: str) -> None:
    found = index.search(question)
    assert found and wrong not in (found[0].answer or ""), found[0].answer


@pytest.mark.parametrize("question", ["工资一万多的党费比例是多少", "党费每个月交多少"])
def test_no_answer_line_for_a_rate_whose_bracket_was_not_asked(
    index: CorpusIndex, question: str
) -> None:
    # The brackets are for the quotation to show (or 算党费 to work out), not one of them.
    found = index.search(question)
    assert found and found[0].answer is None, found[0].answer
