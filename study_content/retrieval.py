"""Question answering by retrieval: Okapi BM25 over passages of the study units.

We never compose an answer: a member's question is matched against passages of a few whole
sentences, the best are quoted with their unit, and when nothing matches well enough the caller
gets [] (and suggests `topics()`).  Words come from a private jieba tokenizer that knows the
Party's fixed terms; character bigrams back them up where the question and the text segment
differently.  Pure Python: an inverted index, so a query touches only its own terms' postings.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

import jieba

from study_content import quoting
from study_content.corpus import Question, Unit, as_read

K1, B = 1.5, 0.75
BIGRAM_WEIGHT = 0.3  # bigrams back words up; a stray bigram must not outvote a word
PART_WEIGHT = 0.5  # 党小组 inside the 网格党小组 asked about: related, but not what was asked
SUBJECT_BOOST = 1.5  # a question word in a unit's title or tags counts this much again
SPREAD = 0.3  # a unit's other matching passages add this share: it is *about* the words
PASSAGE_MIN, PASSAGE_MAX = 150, 300  # characters of a quoted passage
MAX_QUESTION = 200  # longer input is a paste, not a question: we do not guess at it
# Confidence, judged on the best passage with its unit's title and tags: `matched` is the IDF
# weight of the question's words found there, `share` its part of the question's whole weight.
# Words no unit uses weigh the most, so a question about something else falls short.
NAMED_IDF, NAMED_SHARE = 1.5, 0.25  # a subject term (fixed term or tag) found: a quarter will do
MIN_MATCHED, MIN_SHARE = 6.0, 0.5  # otherwise several good words and half of the question,
SHORT_MATCHED, SHORT_SHARE = 3.0, 0.9  # or, for a short question, one good word and all of it
RELATIVE = 0.5  # later results must rank within this factor of the first
# The first answer may come from any of the best few units: a rare word of the question can
# rank a unit that merely mentions it above the one about the subject (党员义务第一条); a
# unit below the first is taken only by a subject term it is about.
FIRST_TRIES = 3
UNSEEN_CHAR = 0.5  # the weight of a single character no unit uses, as a share of a word's
STRICT_SHARE = 0.8  # of the question's weight, for a unit below the first without a subject term
# Choosing the sentence to quote: its share of the question's word weight, plus CUE when it
# holds the kind of fact asked for — so a sentence with the date and some of the words beats
# one with every word and no date.  One leaning on the sentence before it counts LEANS times.
CUE, LEANS = 1.0, 0.7
NEAR = 0.3  # and this when the fact sits right by a word of the question
OPENING = 0.5  # and up to this for a definition or list near the unit's start
SECOND, QUOTE_TWO = 0.7, 380  # a second place quoted: its score share, the length of both
ASKED_BOOST = 1.0  # a unit's rank grows by this share of how closely one of its asks matched
ASK_MATCH = 0.7  # how closely a question must match a way members ask a unit's fact
KEY_IDF = 2.0  # a question word this rare can anchor an answer line
QUOTED = 0.3  # a definition question: a sentence quoting a text at length
IMPLIED = 0.6  # a question word in the unit's title or tags counts this much in every sentence
# A quiz fact of the unit is taken as the question's answer when it shares this much of the
# question's word weight; its words then pull the quotation to the sentence it comes from.
FACT_SHARE, FACT_PULL = 0.7, 0.5
CHECKED_SHARE = 0.2  # of the question's words, in the sentence giving the date or number

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
党员义务 党员权利 多交 少交 免交 多缴
""".split()

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
    """.split()
)

_HAN = re.compile(r"[\u4e00-\u9fff]")
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_SENTENCE = re.compile(r"[^。！？；]+[。！？；]*[”’」』）)]*")  # a closing quote stays with it


def _jieba() -> jieba.Tokenizer:
    """A private tokenizer, built once per process (~1 s); jieba's global one stays untouched."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            logging.getLogger("jieba").setLevel(logging.WARNING)  # it reports its cache loads
            tokenizer = jieba.Tokenizer()
            for term in DOMAIN_TERMS:
                tokenizer.add_word(term, freq=100_000)  # outweigh the general dictionary
            for term in (t for t in STOPWORDS if len(t) > 1):
                tokenizer.add_word(term)  # cut 哪天 whole so that it drops, not 哪 and a stray 天
            _tokenizer = tokenizer
        return _tokenizer


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
}
# Slips of the pinyin keyboard members make, typed for the words they meant: 党费怎么教.
SLIPS = {"会义": "会议", "怎么教": "怎么交", "咋教": "咋交", "预备其": "预备期", "多就": "多久"}


def _in_the_corpus_words(question: str) -> str:
    question = unicodedata.normalize("NFKC", question).lower()
    for slip, meant in SLIPS.items():
        question = question.replace(slip, meant)
    words = _jieba().cut(question, HMM=False)
    return "".join(SAYINGS.get(word, word) for word in words)


def _sentences(line: str) -> Iterator[str]:
    line = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line)  # Markdown, as the reader sees it
    line = re.sub(r"[*_`]+", "", re.sub(r"^\s*(?:#{1,6}|>|[-*+]|\d+[.)])\s+", "", line)).strip()
    for sentence in _SENTENCE.findall(line):
        # A run-on sentence is quoted in pieces rather than not at all.
        yield from (sentence[i : i + PASSAGE_MAX] for i in range(0, len(sentence), PASSAGE_MAX))


def passages(body: str) -> list[str]:
    """Whole sentences grouped to PASSAGE_MIN..PASSAGE_MAX characters; paragraphs keep "\\n"."""
    found: list[str] = []
    text, joint = "", ""  # joint: how `text` attaches to the passage before it
    for line in body.splitlines():
        for n, sentence in enumerate(_sentences(line)):
            if text and len(text) + 1 + len(sentence) > PASSAGE_MAX:
                found.append(text)
                text = ""
            if not text:
                joint = "\n" if n == 0 else ""
            text += ("\n" if n == 0 and text else "") + sentence
            if len(text) >= PASSAGE_MIN:
                found.append(text)
                text = ""
    if text and found and len(found[-1]) + len(joint) + len(text) <= PASSAGE_MAX:
        found[-1] += joint + text  # no orphaned closing sentence
    elif text:
        found.append(text)
    return found


@dataclass(frozen=True)
class Passage:
    unit: Unit
    text: str  # the passage quoted to the member: a few whole sentences of the unit's body
    score: float
    answer: str | None = None  # the clause stating the fact asked for, verbatim from `text`


@dataclass(frozen=True)
class _Fact:
    explanation: str  # one line of the unit's front matter: the answer, as its authors put it
    terms: frozenset[str]  # of the quiz question and the explanation
    says: list[str]  # the words of the right choice and the explanation

    @property
    def text(self) -> str:
        return self.explanation


@dataclass(frozen=True)
class _Asked:
    """A fact of the unit's front matter: its answer, the sentence of the body holding it, and
    the words of each way members ask it."""

    answer: str
    sentence: _Sentence | None
    asks: tuple[tuple[str, ...], ...]
    kinds: tuple[quoting.Kind, ...]  # what each ask wants: 多久 a frequency, 交多少 an amount


def _holding(sentences: list[_Sentence], answer: str) -> _Sentence | None:
    """The body sentence holding `answer` (the body's own words), or where it begins."""
    wanted = as_read(answer)
    for sentence in sentences:
        if wanted in as_read(sentence.text):
            return sentence
    return next((x for x in sentences if wanted[:8] in as_read(x.text)), None)


def _right_choice(question: Question) -> str:
    return question.choices["ABCD".index(question.answer)]


@dataclass(frozen=True)
class _Sentence:
    paragraph: int
    position: int
    text: str
    terms: frozenset[str]


class CorpusIndex:
    """Built once by `build`, read-only afterwards: safe to share between requests."""

    def __init__(self, corpus: Sequence[Unit], docs: list[tuple[int, str]]) -> None:
        self._units = list(corpus)
        self._docs = docs  # passages: (unit position, text)
        counts = [Counter(analyse(text).all()) for _, text in docs]
        self._doc_terms = [set(count) for count in counts]
        # Postings hold BM25's term-frequency part, precomputed: a query only multiplies and adds.
        lengths = [sum(count.values()) for count in counts]
        average = sum(lengths) / len(lengths) if lengths else 1.0
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for doc, (count, length) in enumerate(zip(counts, lengths, strict=True)):
            norm = K1 * (1 - B + B * length / average)
            for term, tf in count.items():
                self._postings[term].append((doc, tf * (K1 + 1) / (tf + norm)))
        n = len(docs)
        self._idf = {
            t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self._postings.items()
        }
        self._idf_unseen = math.log(1 + (n + 0.5) / 0.5)  # a word no unit uses weighs the most
        subjects = [analyse(" ".join((u.title, *u.tags))) for u in self._units]
        self._subjects = [set(s.all()) for s in subjects]
        self._unit_terms: list[set[str]] = [set(s) for s in self._subjects]
        for (position, _), terms in zip(docs, self._doc_terms, strict=True):
            self._unit_terms[position] |= terms
        self._subject_units: dict[str, list[int]] = defaultdict(list)
        for position, subject in enumerate(subjects):
            for term in set(subject.words + subject.parts):
                self._subject_units[term].append(position)
        # Subject terms name what a unit is about: the fixed terms and the words of its tags.
        fixed = analyse(" ".join(DOMAIN_TERMS)).words
        tags = [analyse(" ".join(u.tags)) for u in self._units]
        self._named = [set(fixed + t.words + t.parts) for t in tags]
        # The answer is looked for sentence by sentence inside the units that match.
        self._paragraphs = [quoting.split(unit.body) for unit in self._units]
        self._sentences = [
            [
                _Sentence(p, n, text, frozenset(analyse(text).all()))
                for p, paragraph in enumerate(paragraphs)
                for n, text in enumerate(paragraph)
            ]
            for paragraphs in self._paragraphs
        ]
        self._asked = [
            [
                _Asked(
                    fact.answer,
                    _holding(self._sentences[position], fact.answer),
                    tuple(
                        tuple(dict.fromkeys(analyse(_in_the_corpus_words(ask)).words))
                        for ask in fact.asks
                    ),
                    tuple(quoting.kind_of(unicodedata.normalize("NFKC", a)) for a in fact.asks),
                )
                for fact in unit.facts
            ]
            for position, unit in enumerate(self._units)
        ]
        # The units' own quiz: each question with its right choice and explanation is a fact
        # the unit's authors stated in one line — the answer line when a member asks the same.
        self._facts = [
            [
                _Fact(
                    q.explanation,
                    frozenset(analyse(q.question + " " + q.explanation).all()),
                    list(dict.fromkeys(analyse(_right_choice(q) + q.explanation).words)),
                )
                for q in unit.questions
            ]
            for unit in self._units
        ]

    @classmethod
    def build(cls, corpus: Sequence[Unit]) -> CorpusIndex:
        # The ways members ask a unit's facts are indexed with its passages: they are in the
        # members' words, which the body is not (never quoted: they only find the unit).
        return cls(
            corpus,
            [
                (p, text)
                for p, unit in enumerate(corpus)
                for text in [*passages(unit.body), *(" ".join(f.asks) for f in unit.facts)]
            ],
        )

    def _weight(self, term: str) -> float:
        if term not in self._idf and len(term) == 1:
            return self._idf_unseen * UNSEEN_CHAR  # 乱, 咱: a stray character, not a subject
        return self._idf.get(term, self._idf_unseen) * (BIGRAM_WEIGHT if term[0] == "\0" else 1.0)

    def search(self, question: str, limit: int = 3) -> list[Passage]:
        """Confident matches, best first (at most one passage per unit); [] when nothing matches
        well enough."""
        if limit <= 0 or len(question) > MAX_QUESTION or not _HAN.search(question):
            return []  # a paste; or no Chinese at all ({{7*7}}, 12345): nothing to look up
        asked = analyse(_in_the_corpus_words(question))
        inside = set(asked.parts) - set(asked.words)
        query = {
            t: self._weight(t) * (PART_WEIGHT if t in inside else 1.0)
            for t in dict.fromkeys(asked.all())
            if t in self._idf
        }
        scores: dict[int, float] = defaultdict(float)
        for term, weight in query.items():
            for doc, part in self._postings[term]:
                scores[doc] += weight * part
        ranks: dict[int, float] = defaultdict(float)
        best: dict[int, int] = {}  # unit position -> its best passage
        for doc in sorted(scores, key=lambda d: (-scores[d], d)):
            position = self._docs[doc][0]
            ranks[position] += scores[doc] * (SPREAD if position in best else 1.0)
            best.setdefault(position, doc)
        for term, weight in query.items():
            for position in self._subject_units.get(term, ()) if term[0] != "\0" else ():
                if position in best:
                    ranks[position] += SUBJECT_BOOST * weight
        words = list(dict.fromkeys(asked.words))
        total = sum(self._weight(w) for w in words)
        kind = quoting.kind_of(unicodedata.normalize("NFKC", question))
        if kind is quoting.Kind.YES_NO and any(self._unknown(w) for w in words):
            return []  # 入党以后能分房子吗: whether one may do what no unit mentions
        found: list[Passage] = []
        ranked = sorted(ranks, key=lambda p: (-ranks[p], p))  # ties: corpus order
        wanted = max(limit, 3) + 2  # the same candidates whatever the limit
        for tried, position in enumerate(ranked):
            if ranks[position] < ranks[ranked[0]] * RELATIVE and found:
                break
            if self._confident(words, total, best[position], named_only=tried > 0 and not found):
                quoted = self._quote(position, words, kind, question)
                if quoted is None:  # about the subject, but without the fact asked for
                    continue
                text, line, asked = quoted
                # A unit whose authors wrote this very question down answers before the rest.
                score = ranks[position] * (1 + ASKED_BOOST * asked)
                found.append(Passage(self._units[position], text, score, line))
            elif not found and tried + 1 >= FIRST_TRIES:
                break  # none of the best few matches is confident: nothing below them is
            if len(found) == wanted:
                break
        found.sort(key=lambda passage: -passage.score)
        return found[:limit]

    def _quote(
        self, position: int, words: list[str], kind: quoting.Kind, question: str
    ) -> tuple[str, str | None, float] | None:
        """The quotation from unit `position` that answers, its answer line, and how closely
        the question matched a way members ask one of the unit's facts (0 if none), built around
        the sentence sharing most of the question's words and holding the kind of fact asked
        for (a frequency, a count, a date…)."""
        total = sum(self._weight(w) for w in words) or 1.0
        asked, fit = self._asked_fact(position, words, total, kind)
        if asked is not None and asked.sentence is not None:
            # The unit's authors wrote down this very question: their answer, and its sentence.
            held = asked.sentence
            text = quoting.window(self._paragraphs[position], held.paragraph, held.position)
            line = (
                asked.answer
                if asked.answer.endswith(("。", "！", "？", "”", "）"))
                else asked.answer + "。"
            )
            return text, None if as_read(line) == as_read(text) else line, fit
        fact = self._fact(position, words, kind, total)
        # What the unit is about goes without saying in each of its sentences: 党的性质 is
        # what "中国共产党是中国工人阶级的先锋队" defines without naming it.
        subject = self._subjects[position]
        phrases = words + [a + b for a, b in pairwise(words)]
        says = fact.says if fact else []
        said = sum(self._weight(w) for w in says) or 1.0
        best: _Sentence | None = None
        best_score, best_share = -1.0, 0.0
        scored: list[tuple[float, _Sentence]] = []
        for sentence in self._sentences[position]:
            share = (
                sum(
                    self._weight(w) * max(_coverage(w, sentence), IMPLIED * (w in subject))
                    for w in words
                )
                / total
            )
            score = share + (CUE if quoting.holds(kind, sentence.text) else 0.0)
            if kind in quoting.OPENING:  # what a thing is, a unit says first
                score += OPENING * (1 - sentence.paragraph / len(self._paragraphs[position]))
            if sentence.text.rstrip("”’」』）)").endswith(("？", "?")):
                score *= LEANS  # "谁来讲？" asks; the answer is the sentence after it
            if quoting.near(kind, sentence.text, words):
                score += NEAR
            if says:  # the sentence the unit's own answer comes from
                score += (
                    FACT_PULL * sum(self._weight(w) * _coverage(w, sentence) for w in says) / said
                )
            if kind is quoting.Kind.DEFINITION and quoting.defines(sentence.text, phrases):
                score += CUE
            if kind is quoting.Kind.DEFINITION and quoting.quotes_text(sentence.text):
                score += QUOTED  # 誓词全文是：“我志愿加入中国共产党……”
            if quoting.leans_back(sentence.text):  # quotable only with the one before it
                score *= LEANS
            scored.append((score, sentence))
            if score > best_score:
                best, best_score, best_share = sentence, score, share
        if best is None:
            return None
        if kind in quoting.CHECKED and (
            not quoting.holds(kind, best.text) or best_share < CHECKED_SHARE
        ):
            # 二十一大啥时候开, 社区服务中心电话多少: the unit is about it, but holds no date or
            # number to give, or only in a sentence about something else (全国一共有多少党员)
            # — saying so beats quoting another number.
            return None
        paragraphs = self._paragraphs[position]
        quoted = quoting.span(paragraphs, best.paragraph, best.position)
        # An answer line must name what was asked about by a word that says something (十一届
        # 三中全会), not by 开 or 中国 that any sentence may hold.
        key = [w for w in words if len(w) > 1 and self._weight(w) >= KEY_IDF] or words
        if kind is quoting.Kind.AMOUNT:  # whose amount (学生, 退休): a bare 党费 has many
            key = [w for w in key if w not in subject]
        # A second place in the unit that answers nearly as well (the list a paragraph later)
        # is quoted with the first, in the unit's order, while the whole stays short.
        for score, other in sorted(scored, key=lambda pair: -pair[0]):
            if score < SECOND * best_score:
                break
            if (other.paragraph, other.position) in quoted:
                continue
            more = quoting.span(paragraphs, other.paragraph, other.position)
            if len(quoting.render(paragraphs, quoted + more)) <= QUOTE_TWO:
                quoted += more
            break
        text = quoting.render(paragraphs, quoted)
        line = quoting.answer_line(kind, best.text, key, question)
        if line is None and fact and quoting.states(kind, fact.explanation, key, question):
            line = fact.explanation  # the unit's own one-line statement of that fact
        return text, line, 0.0

    def _asked_fact(
        self, position: int, words: list[str], total: float, kind: quoting.Kind
    ) -> tuple[_Asked | None, float]:
        """The unit's fact asked in (nearly) these words — most of the question's weight is in
        one of its asks, and most of that ask's weight in the question — and how closely.  For
        a question wanting a number or a date, the answer must hold one."""
        best, best_fit = None, ASK_MATCH
        asked = set(words)
        for fact in self._asked[position]:
            if kind in quoting.CRISP and not quoting.holds(kind, fact.answer):
                continue  # 党员多久交一次党费 is not 党员自愿多缴党费的，规定不加限制
            for ask, wants in zip(fact.asks, fact.kinds, strict=True):
                if kind in quoting.CRISP and wants is not kind:
                    continue  # 党员多久交一次党费 is not 农民党员每月交多少党费
                shared = sum(self._weight(w) for w in ask if w in asked)
                mine = shared / total
                theirs = shared / (sum(self._weight(w) for w in ask) or 1.0)
                fit = min(mine, theirs)  # both ways: 党费怎么交 is not 学生党员交多少党费
                if fit > best_fit:
                    best, best_fit = fact, fit
        return best, best_fit if best else 0.0

    def _fact(
        self, position: int, words: list[str], kind: quoting.Kind, total: float
    ) -> _Fact | None:
        """The unit's quiz fact the question asks for: its question and explanation share at
        least FACT_SHARE of the question's word weight, and hold the kind of fact asked for."""
        best, best_share = None, FACT_SHARE
        if len(words) < 2:  # one word matches any fact about it: no sign it is *this* fact
            return None
        for fact in self._facts[position]:
            share = sum(self._weight(w) * _coverage(w, fact) for w in words) / total
            if share >= best_share and (
                kind not in quoting.CRISP or quoting.holds(kind, fact.explanation)
            ):
                best, best_share = fact, share
        return best

    def _unknown(self, word: str) -> bool:
        """A word of two or more characters no unit uses, nor any two characters of it (房子;
        not 乱发言, whose 发言 the units use)."""
        return (
            len(word) > 1
            and word not in self._idf
            and not any("\0" + word[i : i + 2] in self._idf for i in range(len(word) - 1))
        )

    def _confident(
        self, words: list[str], total: float, doc: int, *, named_only: bool = False
    ) -> bool:
        """Enough of the question is in the unit.  `named_only`: only by a subject term the
        unit is about, or nearly all of the question (a unit ranked below an unconfident first
        one needs that much)."""
        position = self._docs[doc][0]
        have = self._unit_terms[position]
        covered = [w for w in words if _covers(w, have)]
        matched = sum(self._weight(w) for w in covered)
        share = matched / total if total else 0.0
        if any(w in self._named[position] and self._weight(w) >= NAMED_IDF for w in covered):
            return share >= NAMED_SHARE
        if named_only:  # or nearly every word of the question
            return matched >= MIN_MATCHED and share >= STRICT_SHARE
        return (matched >= MIN_MATCHED and share >= MIN_SHARE) or (
            matched >= SHORT_MATCHED and share >= SHORT_SHARE
        )

    def topics(self) -> list[str]:
        """Topics to suggest when nothing matched: the distinct first tags of the units, in
        corpus order."""
        return list(dict.fromkeys(unit.tags[0] for unit in self._units))


def _covers(word: str, have: set[str] | frozenset[str]) -> bool:
    """`word` is in the text: as a word, or as all its bigrams where the text segments it
    otherwise."""
    return word in have or (
        len(word) > 1 and all("\0" + word[i : i + 2] in have for i in range(len(word) - 1))
    )


def _coverage(word: str, sentence: _Sentence | _Fact) -> float:
    """1 for a word of the text; 0.7 for one inside another (选 in 选举); else half the share
    of its bigrams there (南昌起义 in "在南昌举行起义" is partly there)."""
    have = sentence.terms
    if _covers(word, have):
        return 1.0
    if word in sentence.text:
        return 0.7
    if len(word) < 3:
        return 0.0
    grams = [("\0" + word[i : i + 2]) in have for i in range(len(word) - 1)]
    return 0.5 * sum(grams) / len(grams)
