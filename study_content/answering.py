"""What to quote from a unit that answers: the sentence holding the fact asked for, the
passage around it, and the short answer line — or nothing, when the unit lacks that fact.

`retrieval.py` finds the units; for each, `UnitAnswers.quote` scores its sentences by the share
of the question's word weight they hold and by the kind of fact they hold (`quoting.kind_of`:
多久 a frequency, 几项 a count, 哪一年 a year…).  A question asked nearly as one of the unit's
`[[facts]]` foresees gets the authors' answer — the body's own words — and its passage.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from study_content import quoting
from study_content.corpus import Question, Unit, as_read
from study_content.meaning import Vectors, lift
from study_content.words import analyse, covers, in_the_corpus_words

Weight = Callable[[str], float]  # a word's IDF weight in the whole corpus

# Choosing the sentence to quote: its share of the question's word weight, plus CUE when it
# holds the kind of fact asked for — so a sentence with the date and some of the words beats
# one with every word and no date.  One leaning on the sentence before it counts LEANS times.
CUE, LEANS = 1.0, 0.7
NEAR = 0.3  # and this when the fact sits right by a word of the question
OPENING = 0.5  # and up to this for a definition or list near the unit's start
SECOND, QUOTE_TWO = 0.7, 380  # a second place quoted: its score share, the length of both
ASK_MATCH = 0.7  # how closely a question must match a way members ask a unit's fact
KEY_IDF = 2.0  # a question word this rare can anchor an answer line
DEFINES = 0.5  # a definition found counts as this close a match of the question to an ask
HEADED = 0.5  # a paragraph headed by a word of the question ("基本任务：") is about it
QUOTED = 0.3  # a definition question: a sentence quoting a text at length
IMPLIED = 0.6  # a question word in the unit's title or tags counts this much in every sentence
# A quiz fact of the unit is taken as the question's answer when it shares this much of the
# question's word weight; its words then pull the quotation to the sentence it comes from.
FACT_SHARE, FACT_PULL = 0.7, 0.5
MEANING = 0.5  # a sentence standing out as closest in meaning to the question (`meaning.py`)
CHECKED_SHARE = 0.2  # of the question's words, in the sentence giving the date or number
HOLDING = 0.6  # of the best sentence's score, for one that gives the fact the best one lacks


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


class UnitAnswers:
    """One unit read sentence by sentence, with its quiz and its [[facts]]; built once."""

    def __init__(self, unit: Unit, subject: set[str]) -> None:
        self.unit = unit
        self.subject = subject  # the words of its title and tags
        self.paragraphs = quoting.split(unit.body)
        self.sentences = [
            _Sentence(p, n, text, frozenset(analyse(text).all()))
            for p, paragraph in enumerate(self.paragraphs)
            for n, text in enumerate(paragraph)
        ]
        self.asked = [
            _Asked(
                fact.answer,
                _holding(self.sentences, fact.answer),
                tuple(
                    tuple(dict.fromkeys(analyse(in_the_corpus_words(ask)).words))
                    for ask in fact.asks
                ),
                tuple(quoting.kind_of(unicodedata.normalize("NFKC", a)) for a in fact.asks),
            )
            for fact in unit.facts
        ]
        # The units' own quiz: each question with its right choice and explanation is a fact
        # the unit's authors stated in one line — the answer line when a member asks the same.
        self.quiz = [
            _Fact(
                q.explanation,
                frozenset(analyse(q.question + " " + q.explanation).all()),
                list(dict.fromkeys(analyse(_right_choice(q) + q.explanation).words)),
            )
            for q in unit.questions
        ]

    def quote(
        self,
        words: list[str],
        kind: quoting.Kind,
        question: str,
        weight: Weight,
        close: Vectors | None = None,
        least: float = CHECKED_SHARE,
    ) -> tuple[str, str | None, float] | None:
        """The quotation from this unit that answers, its answer line, and how closely
        the question matched a way members ask one of the unit's facts (0 if none), built around
        the sentence sharing most of the question's words and holding the kind of fact asked
        for (a frequency, a count, a date…)."""
        total = sum(weight(w) for w in words) or 1.0
        asked, fit = self._asked_fact(words, total, kind, weight)
        if asked is not None and asked.sentence is not None:
            # The unit's authors wrote down this very question: their answer, and its sentence.
            held = asked.sentence
            text = quoting.window(self.paragraphs, held.paragraph, held.position)
            theirs = (
                asked.answer
                if asked.answer.endswith(("。", "！", "？", "”", "）"))
                else asked.answer + "。"
            )
            return text, None if as_read(theirs) == as_read(text) else theirs, fit
        fact = self._fact(words, kind, total, weight)
        # What the unit is about goes without saying in each of its sentences: 党的性质 is
        # what "中国共产党是中国工人阶级的先锋队" defines without naming it.
        subject = self.subject
        phrases = words + [a + b for a, b in pairwise(words)]
        says = fact.says if fact else []
        cited = quoting.quoted(question)
        said = sum(weight(w) for w in says) or 1.0
        best: _Sentence | None = None
        best_score, best_share = -1.0, 0.0
        scored: list[tuple[float, _Sentence]] = []
        shares: dict[int, float] = {}
        for n, sentence in enumerate(self.sentences):
            share = (
                sum(
                    weight(w) * max(_coverage(w, sentence), IMPLIED * (w in subject)) for w in words
                )
                / total
            )
            cue = CUE if quoting.holds_asked(kind, sentence.text, question) else 0.0
            if kind is quoting.Kind.YES_NO:
                # 可以, 必须 are in many sentences: they answer whether only beside the words
                cue *= min(1.0, share / CHECKED_SHARE)
            score = share + cue
            if kind in quoting.OPENING:  # what a thing is, a unit says first
                score += OPENING * (1 - sentence.paragraph / len(self.paragraphs))
            if sentence.text.rstrip("”’」』）)").endswith(("？", "?")):
                score *= LEANS  # "谁来讲？" asks; the answer is the sentence after it
            if any(phrase in sentence.text for phrase in cited):
                score += CUE  # the sentence holding the words the member quotes
            if quoting.near(kind, sentence.text, words):
                score += NEAR
            if says:  # the sentence the unit's own answer comes from
                score += FACT_PULL * sum(weight(w) * _coverage(w, sentence) for w in says) / said
            if kind is quoting.Kind.DEFINITION and quoting.defines(sentence.text, phrases):
                score += CUE
            if kind is quoting.Kind.DEFINITION and quoting.quotes_text(sentence.text):
                score += QUOTED  # 誓词全文是：“我志愿加入中国共产党……”
            if any(len(w) > 1 and sentence.text.startswith(w + "：") for w in phrases):
                score += HEADED  # 基本任务：… is the paragraph about 基本任务
            if close is not None:  # closest in meaning: the unit's words for the member's
                score += MEANING * lift(close[n])
            if quoting.leans_back(sentence.text):  # quotable only with the one before it
                score *= LEANS
            scored.append((score, sentence))
            shares[id(sentence)] = share
            if score > best_score:
                best, best_score, best_share = sentence, score, share
        if best is None:
            return None
        # An answer line must name what was asked about by a word that says something (十一届
        # 三中全会), not by 开 or 中国 that any sentence may hold.
        key = [w for w in words if len(w) > 1 and weight(w) >= KEY_IDF] or words
        if kind is quoting.Kind.AMOUNT:  # whose amount (学生, 退休): a bare 党费 has many
            key = [w for w in key if w not in subject]
        # The unit's own one-line statement of the fact asked for, if its quiz has one.
        stated = fact is not None and quoting.states(kind, fact.explanation, key, question)
        if kind in quoting.CHECKED and not self._holds_fact(
            kind, best, best_share, question, least
        ):
            # 申请书交上去多久找我谈: the sentence naming the step may come before the one with
            # the span (一个月内派人谈话); one nearly as good that gives it is quoted instead.
            holding = [
                (score, sentence)
                for score, sentence in scored
                if score >= HOLDING * best_score
                and self._holds_fact(kind, sentence, shares[id(sentence)], question, least)
            ]
            if holding:
                best_score, best = max(holding, key=lambda pair: pair[0])
            elif not stated:
                # 二十一大啥时候开, 社区服务中心电话多少: the unit is about it, but holds no date
                # or number to give, or only in a sentence about something else (全国一共有多少
                # 党员) — saying so beats quoting another number.
                return None
        paragraphs = self.paragraphs
        quoted = quoting.span(paragraphs, best.paragraph, best.position)
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
        if line is None and stated and fact is not None:
            line = fact.explanation
        # A unit saying what the asked-about thing is (党支部是党的基础组织) answers 是个啥
        # before one that merely mentions it — unless one item is asked for (义务第一条是啥).
        said_what = (
            kind is quoting.Kind.DEFINITION
            and not any(w.startswith("第") for w in words)
            and quoting.defines(best.text, [w for w in words if len(w) > 1])
        )
        return text, line, DEFINES * said_what

    @staticmethod
    def _holds_fact(
        kind: quoting.Kind, sentence: _Sentence, share: float, question: str, least: float
    ) -> bool:
        return share >= least and quoting.holds_asked(kind, sentence.text, question)

    def _asked_fact(
        self, words: list[str], total: float, kind: quoting.Kind, weight: Weight
    ) -> tuple[_Asked | None, float]:
        """The unit's fact asked in (nearly) these words — most of the question's weight is in
        one of its asks, and most of that ask's weight in the question — and how closely.  A
        question wanting a number, a date or a frequency takes only an ask wanting the same."""
        best, best_fit = None, ASK_MATCH
        asked = set(words)
        for fact in self.asked:
            for ask, wants in zip(fact.asks, fact.kinds, strict=True):
                if kind in quoting.MATCHED and not quoting.alike(kind, wants):
                    # 党员多久交一次党费 is not 农民党员每月交多少党费, nor 能多交党费吗
                    continue
                shared = sum(weight(w) for w in ask if w in asked)
                mine = shared / total
                theirs = shared / (sum(weight(w) for w in ask) or 1.0)
                fit = min(mine, theirs)  # both ways: 党费怎么交 is not 学生党员交多少党费
                if fit > best_fit:
                    best, best_fit = fact, fit
        return best, best_fit if best else 0.0

    def _fact(
        self, words: list[str], kind: quoting.Kind, total: float, weight: Weight
    ) -> _Fact | None:
        """The unit's quiz fact the question asks for: its question and explanation share at
        least FACT_SHARE of the question's word weight, and hold the kind of fact asked for."""
        best, best_share = None, FACT_SHARE
        if len(words) < 2:  # one word matches any fact about it: no sign it is *this* fact
            return None
        for fact in self.quiz:
            share = sum(weight(w) * _coverage(w, fact) for w in words) / total
            if share >= best_share and (
                kind not in quoting.CRISP or quoting.holds(kind, fact.explanation)
            ):
                best, best_share = fact, share
        return best


def _coverage(word: str, sentence: _Sentence | _Fact) -> float:
    """1 for a word of the text; 0.7 for one inside another (选 in 选举); else half the share
    of its bigrams there (南昌起义 in "在南昌举行起义" is partly there)."""
    have = sentence.terms
    if covers(word, have):
        return 1.0
    if word in sentence.text:
        return 0.7
    if len(word) < 3:
        return 0.0
    grams = [("\0" + word[i : i + 2]) in have for i in range(len(word) - 1)]
    return 0.5 * sum(grams) / len(grams)
