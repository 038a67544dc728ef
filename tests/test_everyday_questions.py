"""Members ask the way people talk: with what they say of themselves, filler, their own words
for things, a quoted phrase — and sometimes about what no study unit holds.

Each story asks through the same reply the chat sends; the answer must hold the fact asked for,
or the reply must honestly say the units have no answer.  The wording rules behind them are in
`study_content/words.py` (SAYINGS, PHRASINGS, fillers) and `quoting.py` (kinds of question).
"""

from __future__ import annotations

import pytest

from handlers.questions import reply
from study_content import quoting, words
from study_content.corpus import SHIPPED, load_corpus
from study_content.retrieval import CorpusIndex

NOT_FOUND = "没有找到能回答"


@pytest.fixture(scope="module")
def index() -> CorpusIndex:
    return CorpusIndex.build(load_corpus(SHIPPED))


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        # What a member says of themselves before or after the question is not the question.
        ("我是预备党员，想问下单位里正式党员得有几个才能建支部？", "3人以上"),
        ("多大岁数才能申请入党？我家孩子17", "十八岁"),
        ("党员能不能信教哩？俺老伴天天去庙里烧香", "不得信仰宗教"),
        # 今年, 下周 said of themselves are not the branch's calendar asked about; a space is a
        # typed comma.
        ("孙女今年十六了 啥时候能入党", "十八岁"),
        ("我今年17岁，够岁数入党吗", "十八岁"),
        ("下礼拜单位派我出差 党小组会去不了 咋办", "请假"),
        # Their words for the units' words: a gift card, a trip, words said in anger, a typo.
        ("给居民办好了事，人家硬要给我张商场购物卡，我能收不", "不收红包、购物卡"),
        ("支部想组织大家去旅游一趟当主题党日，行不行", "游玩"),
        ("在微信群里跟人对骂，违反纪律不", "不当言行"),
        ("我在外地组只关系要不要转", "应当转移组织关系"),
        ("入党申请书递上去了 多久有人找我谈话", "一个月内"),
        ("从外地来这打工的党员，能上咱党群服务中心参加活动不", "向流动党员开放"),
        ("我认领的服务办不了了咋整", "交回另行安排"),
        # 是不是每个月都 asks how often.
        ("支委会是不是每个月都要开", "每月"),
        # What comes before a colon is what the member is doing, not the question.
        ("小组学习要讲：四个服从是哪四个", "少数服从多数"),
        # Their own affairs said first in words no unit uses; the question stands alone.
        ("刚从外单位调过来当书记，支委会多长时间开一次？", "每月"),
        ("老听人说反“四风”，四风是哪四个？", "享乐主义"),
        # Filler weighs little however rare it is in the units: 那会儿, 那天, 到底.
        ("宣誓那会儿要对着啥", "面向党旗"),
        ("民主评议那天先干啥后干啥", "党员互评"),
        # Their words for the units' words.
        ("俺八十多了腿脚不好，支部活动还非得去吗", "不作硬性要求"),
        ("要给俺处分的时候俺能为自己说理不", "申辩"),
        ("党员义务后面那四项是啥", "树新风"),
        ("小平同志说的三个有利于是哪三个", "综合国力"),
        # A yes/no question with a word no unit uses, answered by the unit holding the rest.
        ("开会的记录能不能等散会回家再慢慢补上", "当场记"),
        # The words a member quotes lead to the unit and the sentence holding them.
        ("党员义务里头“吃苦在前”，后面跟的是啥？", "享受在后"),
        # 是个啥 asks what a thing is: the unit that says it, not one that mentions it.
        ("党支部是个啥组织啊", "基础组织"),
        # A paragraph headed by the asked-about word is the one about it.
        ("五星支部里基本任务说的啥", "凝聚人心"),
        # A count of people is answered by a count of people.
        ("支委开会得来多少人才能开", "半数以上"),
        # A span asked for is quoted from the sentence giving it, though another names the step.
        ("入党申请交上去了，多久会有人找我谈话？", "一个月内"),
        ("支委会多久开一回", "每月"),
        # 哪几点 asks for the points of a list, not the time of day.
        ("党章说党员要密切联系群众，具体要做到哪几点", "遇事同群众商量"),
        ("党纪处分一共有几种，分别叫啥？", "严重警告"),
    ],
)
def test_a_member_asking_in_everyday_words_gets_the_fact(
    index: CorpusIndex, question: str, fact: str
) -> None:
    answer = reply(question, index)
    assert NOT_FOUND not in answer
    assert fact in answer.split("相关内容")[0], answer


@pytest.mark.parametrize(
    "question",
    [
        # The branch's own calendar and the news are not in timeless study units.
        "下个月支部党员大会是几号开",
        "我们支部 下周的党课是谁讲",
        "咱们街道今年评上五星支部的有哪几个",
        "最近有什么新闻",
        # What comes first is the subject, and no unit speaks of it.
        "楼上漏水物业不管，我该找谁",
        # Whether one may do what no unit mentions.
        "入党以后能分房子吗",
        # A count of people the units do not give (they do count 四个方面, 五位一体).
        "长征路上红军一共牺牲了多少人",
        "十八大一共选出了多少名中央委员？",
        # A span, a frequency, a place, a time of day or people's names the units do not give:
        # a passage about the subject would pass for the answer (not 1978年 for 几年, not 定期
        # for 几天一次, not a unit's opening for 在哪办).
        "党小组长的任期是几年",
        "公开栏上的三务公开内容几天换一次",
        "积极分子集中培训要上够多少个学时",
        "党群服务中心晚上几点关门",
        "一大的代表都有谁，叫啥名字",
    ],
)
def test_a_question_the_units_cannot_answer_is_honestly_declined(
    index: CorpusIndex, question: str
) -> None:
    assert NOT_FOUND in reply(question, index)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("政审看不看党龄", quoting.Kind.YES_NO),
        ("入党誓词全文是咋说的", quoting.Kind.DEFINITION),  # the text itself  # 看不看: either way
        ("在业主群里乱说话违纪不", quoting.Kind.YES_NO),
        ("去社区报到了，组织关系要转过来吗？", quoting.Kind.YES_NO),
        ("党内监督是不是对谁都管？", quoting.Kind.YES_NO),
        ("党支部是个啥组织啊", quoting.Kind.DEFINITION),
        ("月工资八千，党费按几个点交？", quoting.Kind.AMOUNT),
        ("俺们交的党费都花哪去了", quoting.Kind.PURPOSE),
        ("公开栏几天更新一次", quoting.Kind.FREQUENCY),
        ("十八大以来搞过哪几次集中教育", quoting.Kind.LIST),  # 哪几次: which, not how often
        ("活动室几点开门", quoting.Kind.CLOCK),
        ("义务具体要做到哪几点", quoting.Kind.LIST),
        ("一大的代表都有谁", quoting.Kind.NAMES),
        ("党叫啥名字", quoting.Kind.OTHER),  # a name, not people's
    ],
)
def test_the_kind_of_fact_a_question_asks_for(question: str, kind: quoting.Kind) -> None:
    assert quoting.kind_of(question) is kind


def test_filler_is_told_from_the_words_that_carry_the_subject() -> None:
    assert all(words.is_filler(w) for w in ("那会儿", "到底", "那天", "除了", "最后"))
    assert not any(words.is_filler(w) for w in ("党课", "宣誓", "三会一课", "食堂", "房子"))


def test_phrasings_become_the_units_words() -> None:
    said = words.in_the_corpus_words
    assert "后四项" in said("党员义务后面那四项是啥")
    assert "不能参加" in said("支部开会我去不了咋办")
    assert "行动不便" in said("俺身子骨不中了")
    assert "年老" in said("俺78了")
    assert "听讲" in said("党课除了坐着听讲还有啥")  # not hearsay
    assert "听" not in said("老听人说三会一课")
    assert "群众" in said("支部对老百姓要做哪几件事")
    assert "表决" in said("预备党员换届能投票不")
    assert "代签" in said("能让老伴替我签个到吗")
    assert "接单" in said("在社区清单上接了个单")
