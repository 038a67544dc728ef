"""A member asks a question in their own words: the unit that answers it is quoted, or nothing is.

The questions are written the way members type them in the chat, not copied from the units; each
names the unit(s) whose text answers it.  Off-topic and hostile input gets [] and never raises:
the bot suggests topics instead of inventing an answer.
"""

from __future__ import annotations

import re

import jieba
import pytest

from study_content import words
from study_content.answering import QUOTE_TWO
from study_content.corpus import SHIPPED, Unit, load_corpus
from study_content.retrieval import PASSAGE_MAX, CorpusIndex, Passage, passages

QUESTIONS: list[tuple[str, set[str]]] = [
    # Said the way members say it, not the way the units do (words.SAYINGS).
    ("党员能信教吗", {"disc-political"}),
    ("党是哪一年在哪里成立的", {"hist-founding"}),
    # 党章: nature, purpose, ideals, guiding ideology
    ("咱们党到底是个什么性质的党", {"party-nature"}),
    ("两个先锋队指的是什么", {"party-nature"}),
    ("党的根本宗旨是啥", {"const-purpose"}),
    ("为人民服务的宗旨", {"const-purpose"}),
    ("党的最高理想是什么", {"const-ideals"}),
    ("共产主义什么时候能实现", {"const-ideals"}),
    ("党的指导思想有哪些", {"const-guiding-ideology"}),
    ("三个代表是什么时候提出的", {"const-guiding-ideology"}),
    # 党章: duties and rights
    ("当了党员要尽哪些义务", {"const-duties-1", "const-duties-2"}),
    ("党员的第七项义务", {"const-duties-2"}),
    ("作为一名党员我有哪些权利", {"const-rights-1", "const-rights-2"}),
    ("党员可以保留自己的意见吗", {"const-rights-2"}),
    # 党章: admission, oath, probation, dues, democratic centralism
    ("我想入党，要走哪些流程", {"const-admission"}),
    ("入党介绍人需要几个", {"const-admission"}),
    ("入党申请书交给谁", {"const-membership", "const-admission"}),
    ("年满多少岁才能申请入党", {"const-membership"}),
    ("入党宣誓的誓词原文是什么", {"const-oath"}),
    ("入党誓言怎么说", {"const-oath"}),
    ("预备党员要考察多长时间才能转正", {"const-probation"}),
    ("延长预备期最长多久", {"const-probation"}),
    ("党龄从哪天开始算", {"const-probation"}),
    ("预备党员有没有表决权", {"const-probation", "branch-member-meeting", "const-rights-2"}),
    ("党费怎么交，每个月交多少", {"const-dues", "dues-rates"}),
    ("交党费按工资的百分之几", {"const-dues", "dues-rates"}),
    ("党费的用途是什么", {"const-dues"}),
    ("党员连续半年不交党费会怎么样", {"const-dues", "branch-member-review", "disc-organizational"}),
    ("民主集中制的四个服从是啥", {"const-democratic-centralism", "disc-organizational"}),
    ("党的最高领导机关是什么", {"const-democratic-centralism"}),
    # 三会一课 and the branch work regulation
    ("三会一课指的是哪几个会", {"branch-sanhui-yike"}),
    ("支委会多久开一次", {"branch-committee-meeting", "branch-sanhui-yike"}),
    ("支委会议一般谁来主持", {"branch-committee-meeting"}),
    ("党员大会表决要多少人同意才算通过", {"branch-member-meeting"}),
    ("党员大会多长时间开一次", {"branch-member-meeting", "branch-sanhui-yike"}),
    ("党小组会每月都要开吗", {"branch-party-group", "branch-sanhui-yike"}),
    ("党小组长是怎么产生的", {"branch-party-group", "comm-grid-party-group"}),
    ("党课应该由谁来讲", {"branch-party-lecture"}),
    ("党支部的基本任务有哪些", {"branch-basic-tasks"}),
    ("正式党员不到三个人能不能成立支部", {"branch-setup"}),
    ("支部委员会由几个人组成", {"branch-setup", "branch-committee-meeting"}),
    ("支部会议记录要写哪些内容", {"branch-meeting-records"}),
    ("会议记录可以事后补吗", {"branch-meeting-records"}),
    ("出去打工半年以上组织关系怎么办", {"branch-mobile-members"}),
    ("流动党员在外地怎么过组织生活", {"branch-mobile-members"}),
    # 主题党日, 组织生活会, 民主评议, 谈心谈话
    ("主题党日一般每个月搞几次，都干些啥", {"branch-theme-day"}),
    ("主题党日当天有事可以请假吗", {"branch-theme-day"}),
    ("组织生活会一年开几次，要准备什么", {"branch-org-life-meeting"}),
    ("组织生活会和民主生活会有什么区别", {"branch-org-life-meeting"}),
    ("民主评议党员是怎么个评法", {"branch-member-review", "comm-star-member"}),
    ("民主评议的结果分几个等次", {"branch-member-review"}),
    ("支部书记每年要和党员谈心吗", {"branch-heart-to-heart"}),
    ("谈心谈话一年至少几次", {"branch-heart-to-heart"}),
    # Party history
    ("党的一大是在哪里开的", {"hist-founding"}),
    ("一大代表有多少人", {"hist-founding"}),
    ("南昌起义是哪天", {"hist-nanchang-uprising"}),
    ("建军节是怎么来的", {"hist-nanchang-uprising"}),
    ("古田会议定下了什么原则", {"hist-gutian-meeting"}),
    ("遵义会议为什么说是转折点", {"hist-zunyi-meeting"}),
    ("长征精神有哪些内涵", {"hist-long-march"}),
    ("抗战胜利纪念日是哪天", {"hist-resistance-war"}),
    ("七大确立了什么指导思想", {"hist-seventh-congress"}),
    ("两个务必是哪次会议提出来的", {"hist-prc-founding"}),
    ("改革开放是从哪次会议开始的", {"hist-third-plenum-1978"}),
    ("南方谈话的主要内容", {"hist-southern-tour"}),
    ("两学一做是什么时候的事", {"hist-18th-congress"}),
    ("十九大说的社会主要矛盾是什么", {"hist-19th-congress"}),
    ("中国式现代化有哪些特色", {"hist-20th-congress"}),
    ("二十大提出的中心任务", {"hist-20th-congress"}),
    # 四个意识, 四个自信, 两个维护, 两个确立, 初心使命
    ("四个意识具体指哪四个", {"disc-four-consciousness"}),
    ("政治意识大局意识核心意识看齐意识", {"disc-four-consciousness"}),
    ("四个自信包括什么", {"disc-four-confidences"}),
    ("文化自信指的是什么", {"disc-four-confidences"}),
    ("两个维护的内容是什么", {"disc-two-upholds"}),
    ("两个确立是什么意思", {"disc-two-establishes"}),
    ("第三个历史决议是哪年通过的", {"disc-two-establishes", "disc-founding-mission"}),
    ("初心使命怎么理解", {"disc-founding-mission"}),
    # Discipline
    ("党纪处分有几种", {"disc-four-forms"}),
    ("监督执纪的四种形态是什么", {"disc-four-forms"}),
    ("红红脸出出汗是什么意思", {"disc-four-forms"}),
    ("收了居民送的购物卡算违纪吗", {"disc-integrity", "disc-eight-rules"}),
    ("党员婚礼大操大办违反什么纪律", {"disc-integrity", "disc-eight-rules"}),
    ("八项规定是哪八项", {"disc-eight-rules"}),
    ("四风指的是哪四风", {"disc-eight-rules"}),
    ("党员可以信仰宗教吗", {"disc-political"}),
    ("在业主群里乱发言算违纪吗", {"disc-work-life", "disc-political"}),
    ("发现有党员违纪，我可以向哪里举报", {"disc-supervision-reporting"}),
    ("举报电话是多少", {"disc-supervision-reporting"}),
    # Community Party building
    ("网格党小组平时主要干什么", {"comm-grid-party-group"}),
    ("网格化党小组", {"comm-grid-party-group"}),
    ("网格长和网格党小组什么关系", {"comm-grid-party-group"}),
    ("在职党员去社区双报到要转组织关系吗", {"comm-dual-reporting"}),
    ("四单制是怎么运作的", {"comm-four-orders"}),
    ("居民点单党员接单是怎么回事", {"comm-four-orders"}),
    ("五星支部评的是哪五个方面", {"comm-five-star-branch"}),
    ("星级党员是怎么评出来的", {"comm-star-member"}),
    ("老党员行动不便，支部怎么关心", {"comm-care-members"}),
    ("结对帮扶困难党员怎么做", {"comm-care-members"}),
    ("三务公开公开哪三务", {"comm-open-affairs"}),
    ("四议两公开是什么", {"comm-open-affairs"}),
    ("党群服务中心能办哪些事", {"comm-service-center"}),
    ("党员先锋岗怎么设", {"comm-vanguard-post"}),
    ("志愿服务时长怎么记录", {"comm-volunteer-service"}),
    ("搬迁社区的党员组织关系怎么转", {"comm-relocation-community", "branch-mobile-members"}),
    ("基层治理为什么要党建引领", {"comm-governance"}),
]

OFF_TOPIC = [
    "今天天气怎么样",
    "红烧肉怎么做",
    "股票推荐",
    "帮我写一首诗",
    "随便说点什么",
    "你好",
    "讲个笑话",
    "附近有什么好吃的",
    "最近有什么新闻",
    "手机没电了怎么办",
    "孩子发烧了怎么办",
    "高考志愿怎么填",
    "世界杯谁夺冠了",
    "1+1等于几",
    "学习",  # one common word says too little to pick a unit
    "党员",
]

HOSTILE = [
    "",
    "   \n\t ",
    "😀😀🎉",
    "？？？。。。！！！",
    "\x00\x01\x02",
    "\ud800",
    "哈" * 5000,
    "党费" * 2500,  # a paste, however on topic: not a question
    "<script>alert(1)</script>",
    "'; DROP TABLE member; --",
    "ＳＥＬＥＣＴ * ＦＲＯＭ member",
]


@pytest.fixture(scope="module")
def corpus() -> list[Unit]:
    return load_corpus(SHIPPED)


@pytest.fixture(scope="module")
def index(corpus: list[Unit]) -> CorpusIndex:
    return CorpusIndex.build(corpus)


def test_every_expected_unit_exists(corpus: list[Unit]) -> None:
    ids = {unit.id for unit in corpus}
    assert not {uid for _, expected in QUESTIONS for uid in expected} - ids
    assert len(QUESTIONS) >= 25


@pytest.mark.parametrize(("question", "expected"), QUESTIONS, ids=[q for q, _ in QUESTIONS])
def test_a_member_asking_in_their_own_words_is_pointed_to_the_unit_that_answers(
    index: CorpusIndex, question: str, expected: set[str]
) -> None:
    found = index.search(question)
    assert found, f"no confident match for {question!r}"
    assert found[0].unit.id in expected, [p.unit.id for p in found]


def test_a_member_asking_about_dues_is_pointed_to_the_dues_unit(index: CorpusIndex) -> None:
    [first, *_] = index.search("党费每个月交多少？")
    assert isinstance(first, Passage) and first.unit.id == "const-dues"
    assert "党费" in first.text


HOW_MUCH_DUES = ["党费交多少", "退休了党费交多少", "学生党员交多少党费", "农民党员交多少党费"]


@pytest.mark.parametrize("question", [*HOW_MUCH_DUES, "我工资5000交多少党费"])
def test_a_member_asking_how_much_dues_is_quoted_a_rate(index: CorpusIndex, question: str) -> None:
    [first, *_] = index.search(question)
    assert first.unit.id in {"const-dues", "dues-rates"}
    assert re.search(r"\d(?:\.\d)?(?:%|元)", first.text), first.text


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_a_question_about_something_else_gets_nothing_rather_than_an_invented_answer(
    index: CorpusIndex, question: str
) -> None:
    assert index.search(question) == []


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:12]))
def test_empty_hostile_or_pasted_input_gets_nothing_and_never_raises(
    index: CorpusIndex, text: str
) -> None:
    assert index.search(text) == []


def test_quoted_passages_are_whole_sentences_of_the_unit(index: CorpusIndex) -> None:
    for question, _ in QUESTIONS:
        for passage in index.search(question):
            assert len(passage.text) <= QUOTE_TWO
            # Verbatim: each line a run of whole sentences of one paragraph of the unit.
            paragraphs = re.sub(r"\n\s*\n", "\n", passage.unit.body)
            assert all(line in paragraphs for line in passage.text.splitlines())
            assert re.search(r"[。！？；][”’」』）)]*$", passage.text), passage.text


def test_results_are_one_per_unit_best_first_and_within_the_limit(index: CorpusIndex) -> None:
    for question, _ in QUESTIONS:
        found = index.search(question)
        assert len(found) <= 3
        assert len({p.unit.id for p in found}) == len(found)
        assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
        assert index.search(question, limit=1) == found[:1]
    assert index.search("三会一课指的是哪几个会", limit=0) == []


def test_the_same_question_gets_the_same_answer(corpus: list[Unit], index: CorpusIndex) -> None:
    again = CorpusIndex.build(corpus)
    for question, _ in QUESTIONS[:20]:
        assert again.search(question) == index.search(question)


def test_topics_to_suggest_are_the_corpus_topics_in_order(
    corpus: list[Unit], index: CorpusIndex
) -> None:
    assert index.topics() == ["组织生活", "社区党建", "党章", "纪律与理论", "党史"]
    assert index.topics() == list(dict.fromkeys(unit.tags[0] for unit in corpus))


def test_an_empty_corpus_answers_nothing(index: CorpusIndex) -> None:
    empty = CorpusIndex.build([])
    assert empty.search("党费怎么交") == [] and empty.topics() == []


def test_markdown_is_stripped_and_long_bodies_are_cut_at_sentence_ends() -> None:
    body = "## 标题\n\n" + "**党费**按月交纳，不能等人催。" * 30 + "\n\n- 最后一句。"
    found = passages(body)
    assert all(len(p) <= PASSAGE_MAX for p in found)
    assert not any(mark in p for p in found for mark in "#*")
    assert all(p.endswith("。") for p in found[1:])
    assert "".join(found).replace("\n", "").startswith("标题党费按月交纳")


def test_the_domain_terms_are_kept_whole_without_touching_jiebas_global_tokenizer() -> None:
    for term in ("三会一课", "网格党小组", "四单制", "两个维护", "星级党员"):
        assert term in words.analyse(f"请问{term}是什么").words
    assert words._jieba() is not jieba.dt
