"""Words of questions and of units: a private jieba tokenizer taught the Party's fixed terms,
the filler members type, the ways they say things, and how a word is found in a text.

Retrieval (`retrieval.py`, which unit) and the choice of sentences (`answering.py`, what to
quote) read every text through `analyse`.  Character bigrams back words up where a question and
a text segment differently.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from typing import NamedTuple

import jieba

# Fixed terms that jieba's general dictionary splits (三会 / 一课) or does not know.
DOMAIN_TERMS = """
三会一课 两个维护 两个确立 四个意识 四个自信 四个服从 四种形态 四风 四单制
四议两公开 民主集中制 党小组 党小组会 党小组长 网格党小组 老党员 双报到
组织生活 组织生活会 民主生活会 民主评议 民主评议党员 谈心谈话 主题党日
预备党员 预备期 入党誓词 入党申请 入党积极分子 发展对象 入党介绍人 党费
五星支部 星级党员 支委会 支部委员会 党员大会 支部大会 党课 微党课 党支部
党总支 党章 总纲 八项规定 八项义务 八项权利 初心使命 先锋队 先锋岗 承诺践诺
三务公开 党务公开 党群服务中心 流动党员 组织关系 在职党员 结对帮扶 自行脱党
留党察看 开除党籍 纪律处分 廉洁纪律 群众纪律 组织纪律 政治纪律 工作纪律
生活纪律 党内监督 批评和自我批评 群众路线 根本宗旨 行动指南 指导思想
共产主义 党龄 转正 表决权 南湖红船 南昌起义 古田会议 遵义会议 长征精神
抗日战争 七届二中全会 两个务必 三个务必 十一届三中全会 改革开放 南方谈话
中国式现代化 社会主要矛盾 新时代 全面从严治党 会议记录 工作台账 三个代表
两学一做 一大 七大 十四大 十八大 十九大 二十大 志愿服务 基层治理 历史决议
十五大 十六大 十七大 二十一大 二十二大
党员义务 党员权利 多交 少交 免交 多缴 因事 宣誓 优亲厚友 党纪处分 购物卡 红包 不当言行
""".split()

# Phrases the units use that jieba would cut (办不了 into 办 and a dropped 不了), kept whole.
WHOLE = ["办不了"]

# Question words and filler: they say nothing about which unit answers.
STOPWORDS = frozenset(
    """
    的 了 是 吗 呢 吧 啊 呀 嘛 么 哦 呗 嗯 和 与 及 或 跟 在 对 把 被 给 从 向
    到 由 来 去 上 里 这 那 这个 那个 这些 那些 这样 那样 之 其 而 就 都 也 还
    又 再 才 只 很 太 最 更 不 没 没有 就是 还是 不是 是不是 有没有 是从 是啥
    什么 什么样 什么时候 怎么 怎样 怎么样 怎么办 怎么个 如何 哪 哪些 哪个 哪几
    哪几个 哪几种 哪里 哪儿 哪天 哪年 哪一年 为什么 为何 谁 由谁 由谁来 啥 咋
    几 几个 几次 几种 多 多少 多久 多大 多长 多长时间 请问 问 问问 一下 下 我
    我们 咱 咱们 你 你们 您 他 她 它 他们 自己 大家 有 要 想 应该 应当 可以 能
    能不能 不能 才能 会不会 得 地 着 过 个 一个 说 说说 讲讲 告诉 知道 请 帮
    帮我 一点 点 些 一些 到底 究竟 具体 指 指的是 意思 内容 包括 一般 平时 主要
    干 干些 干什么 搞 做 算 算是 当 尽 走 时候 出来 好 行 作为 身为 一名
    啥时候 啥样 为啥 咋 咋办 咋弄 咋整 咋样 咋个 咋回事 这么 那么 俺 俺们 呀 哈 啦 呐 哇
    一回 几回 几项 几种 几条 几类 几名 几位 一共 最多 最少 多少人 多少名 多少条
    多少项 多少种 一次 几年 多长 时间 发 发一下 原文 原话 那句 全文 哪天 哪次 哪一次
    不了 咋弄 咋说 咋定 咋搞 该 该咋 好久 好久没 去过 一声 下来 有人 看到 处在 这时候
    完 完了 再 俩 岁数 哪去 哪儿去 到底是 能不 行不 不行 图个 图啥 是个 个啥 些啥 人家 不能自己
    算不算 可不可以 行不行 要不要 需不需要 能否 是否 哩 嘞 咧 喽 一趟 一圈 一下子
    """.split()
)

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _jieba() -> jieba.Tokenizer:
    """A private tokenizer, built once per process (~1 s); jieba's global one stays untouched."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            logging.getLogger("jieba").setLevel(logging.WARNING)  # it reports its cache loads
            tokenizer = jieba.Tokenizer()
            for term in DOMAIN_TERMS:
                tokenizer.add_word(term, freq=100_000)  # outweigh the general dictionary
            for term in WHOLE:
                tokenizer.add_word(term)
            for term in (t for t in STOPWORDS if len(t) > 1):
                tokenizer.add_word(term)  # cut 哪天 whole so that it drops, not 哪 and a stray 天
            global _fillers
            with tokenizer.get_dict_file() as lines:
                tagged = (line.decode("utf-8").split() for line in lines)
                found = {w[0] for w in tagged if len(w) == 3 and w[2] in _FILLER_TAGS}
            _fillers = frozenset((found | _PEOPLE) - set(DOMAIN_TERMS))
            _tokenizer = tokenizer
        return _tokenizer


# jieba's dictionary tags each word: pronouns (那会儿, 别的), prepositions (除了), adverbs (先,
# 到底), localisers (最后, 之前), time words (那天), numerals and particles.  Such a word says
# little of what is asked however rare it is in the units; nouns and verbs carry the subject.
_FILLER_TAGS = frozenset("r p c d f t u y e o ad tg k".split())
# The people a member speaks of (俺外孙今年十七, 我爸九十多了) are why they ask, not what.
_PEOPLE = frozenset(
    "孙子 孙女 外孙 外孙女 儿子 女儿 闺女 老伴 老伴儿 爸 妈 老爸 老妈 父亲 母亲 爷爷 奶奶 "
    "姥姥 姥爷 外公 外婆 媳妇 老婆 丈夫 老公 孩子 小孩 娃 同事 朋友 邻居 "
    "小李 小王 小张 老李 老王 老张".split()
)
_fillers: frozenset[str] | None = None


def is_filler(word: str) -> bool:
    _jieba()  # the filler list is read with the tokenizer, once, at start-up
    return word in (_fillers or frozenset())


def _keep(token: str) -> bool:
    return token not in STOPWORDS and any(ch.isalnum() for ch in token)


class Terms(NamedTuple):
    words: list[str]  # jieba's precise cut, minus stopwords
    parts: list[str]  # dictionary words inside longer ones (jieba's search mode): 党小组
    grams: list[str]  # "\0" + character bigrams of each run of kept words

    def all(self) -> list[str]:
        return self.words + self.parts + self.grams


# The units write a thing out in full where members use its short name; a text with the long
# form holds the short one too (第一次全国代表大会 is the 一大 asked about).
ALIASES = {
    **{f"第{n}次全国代表大会": f"{n}大" for n in "一 二 三 四 五 六 七 八 九 十".split()},
    **{f"第十{n}次全国代表大会": f"十{n}大" for n in "一 二 三 四 五 六 七 八 九".split()},
    "第二十次全国代表大会": "二十大",
    "支部委员会": "支委会",
    "支部党员大会": "党员大会",
    "支部大会": "党员大会",
    "全心全意为人民服务": "宗旨",
    "多缴": "多交",
}


def analyse(text: str) -> Terms:
    tokenizer = _jieba()
    found = Terms([], [], [])
    run = ""
    text = unicodedata.normalize("NFKC", text).lower()
    found.words.extend(short for long, short in ALIASES.items() if long in text)
    # No HMM: it glues unknown characters into one-off "words" (哪三务, 卡算) that match nothing.
    for word in [*tokenizer.cut(text, HMM=False), "。"]:
        if not _keep(word):
            found.grams.extend("\0" + run[i : i + 2] for i in range(len(run) - 1))
            run = ""
            continue
        for n in (2, 3):
            subs = (word[i : i + n] for i in range(len(word) - n + 1) if len(word) > n)
            found.parts.extend(s for s in subs if tokenizer.FREQ.get(s) and _keep(s))
        found.words.append(word)
        run += word
    return found


# How members say it -> how the units say it.  A bare 党 is always the Communist Party here, and
# the units never abbreviate it; 信教 is 信仰宗教 in the discipline rules.
SAYINGS = {
    "党": "中国共产党",
    "信教": "信仰宗教",
    "入党宣誓": "入党誓词",
    "宣誓词": "誓词",
    "开会": "会议",
    "支委": "支委会",
    "有事": "因事",
    "失联": "失去联系",
    "评星": "星级",
    "腿脚": "行动不便",  # 腿脚不好的老党员
    "生病": "重病",
    "病": "重病",
    "拿走": "剥夺",
    "谣言": "传谣",
    "信佛": "信仰宗教",
    "拜佛": "信仰宗教",
    "说理": "申辩",  # 处分时能为自己说理不
    "出去玩": "游玩",
    "低保": "社会救助",
    "亲戚": "优亲厚友",  # 评低保照顾亲戚
    "办不成": "办不了",
    "认领": "接单",  # 四单制: a member claims a resident's order
    "自个儿": "自己",
    "年纪": "年龄",
    "岁数": "年龄",
    "党的纪律": "纪律",
    "普通党员": "党员",
    "指派": "指定",
    "游山玩水": "游玩",
    "大伙": "大家",
    "大伙儿": "大家",
    "名次": "座次",
    "排名": "排座次",
    "收下": "收",
    "烧香拜佛": "信仰宗教",
    "角色": "作用",
    "看法": "意见",
    "老百姓": "群众",
    "农家乐": "游玩",
    "表示感谢": "人情",  # 塞张卡表示感谢: the units' 看似人情
    "感谢": "人情",
    "旅游": "游玩",
    "交上去": "递交",
    "递上去": "递交",
    "投票": "表决",
    **{kin: "亲属" for kin in "表舅 舅舅 姑姑 姨妈 叔叔 侄子 外甥 表哥 表姐 表弟 堂哥".split()},
}
# Phrases members say for what the units word otherwise: 后面那四项 is the units' 后四项, 去不了
# is 不能参加, 转过来 is 转, 之前 is 前.
PHRASINGS = [
    (re.compile(r"(前|后)面?(?:那|的)?([一二三四五六七八九两]项)"), r"\1\2"),
    # 去不了 asks what one does then: 请假, as the units say
    (re.compile(r"(?:去|来|参加)(?:不了|不成)"), "因事不能参加请假"),
    (
        re.compile(r"(?:腿脚|身子骨|身体)(?:不利索|不中用?了?|不好使|不行了?|不灵便|不方便)"),
        "行动不便",
    ),
    (re.compile(r"([转接])(?:过来|过去|回来|回去)"), r"\1"),
    (re.compile(r"之前"), "前"),
    (re.compile(r"硬要求"), "硬性要求"),
    (re.compile(r"回家再?(补)"), r"会后\1"),
    (re.compile(r"散会(?:以?后)?"), "会后"),
    (re.compile(r"照着?办"), "执行"),
    # 八十多了, 俺78了: an age past sixty is the units' 年老
    (
        re.compile(r"[六七八九]十(?:多|好几|[一二三四五六七八九])岁?|(?<!\d)[6-9]\d(?=岁|了)岁?"),
        "年老",
    ),
    # 孙子今年十七了, 17岁的孩子: a young person's age asks about the units' 年龄 (not 十八大)
    (
        re.compile(
            r"(?<![\d一二三四五六七八九十百])(?:1\d|十[一二三四五六七八九]?)(?:岁|(?=了|，|,|的|才|还|\s|$))"
        ),
        "年龄",
    ),
    (re.compile(r"(?<!邓)小平"), "邓小平"),
    (re.compile(r"志愿活儿?"), "志愿服务"),
    (re.compile(r"(?:替|帮)(?:我|他|她|人)签(?:个|一下)?到?"), "代签"),
    (re.compile(r"接了(?:个|一个|一)?单子?"), "接单"),
    # 外省来打工的党员: the units' 流动党员
    (
        re.compile(r"外(?:省|地|市|县)来[^，,。？?\s]{0,4}?的?党员|来[^，,。？?\s]{0,2}打工的党员"),
        "流动党员",
    ),
    (re.compile(r"(?:超市|商场|购物|消费|礼品|加油|充值)+(?:卡|券)"), "购物卡"),
    # 老听人说…: hearsay, not the question (听讲 stays)
    (
        re.compile(
            r"(?:老|常|总|也)?听(?:(?:人|别人|人家|大家|他们)?说|(?:人|别人|人家|大家)讲)过?"
        ),
        "",
    ),
    (re.compile(r"联系不上|找不着|找不到人"), "失去联系"),
    (re.compile(r"乱(?:说话|发言|讲话|说)|说脏话|骂人|对骂|骂街"), "不当言行"),
    (re.compile(r"(?<!包)包(?:了|下来|揽)"), "包办"),
]
# Slips of the pinyin keyboard members make, typed for the words they meant: 党费怎么教.
SLIPS = {
    "会义": "会议",
    "怎么教": "怎么交",
    "咋教": "咋交",
    "预备其": "预备期",
    "多就": "多久",
    "党废": "党费",
    "双报道": "双报到",
    "组只": "组织",
    "组制": "组织",
    "举包": "举报",
}


def in_the_corpus_words(question: str) -> str:
    question = unicodedata.normalize("NFKC", question).lower()
    for slip, meant in SLIPS.items():
        question = question.replace(slip, meant)
    for pattern, meant in PHRASINGS:
        question = pattern.sub(meant, question)
    words = _jieba().cut(question, HMM=False)
    return "".join(SAYINGS.get(word, word) for word in words)


def covers(word: str, have: set[str] | frozenset[str]) -> bool:
    """`word` is in the text: as a word, or as all its bigrams where the text segments it
    otherwise."""
    return word in have or (
        len(word) > 1 and all("\0" + word[i : i + 2] in have for i in range(len(word) - 1))
    )
