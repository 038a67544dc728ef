"""Question answering by retrieval: Okapi BM25 over passages of the study units.

We never compose an answer: a member's question is matched against passages of a few whole
sentences (and the ways members ask the units' facts); each unit that matches well enough is
quoted — what to quote is `answering.py`'s choice — and when nothing matches well enough the
caller gets [] (and suggests `topics()`).  Words are read by `words.py`.  Pure Python: an
inverted index, so a query touches only its own terms' postings.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from study_content import answering, quoting
from study_content.answering import UnitAnswers
from study_content.corpus import Unit, as_read
from study_content.meaning import Meanings, Vectors, lift
from study_content.words import DOMAIN_TERMS, analyse, covers, in_the_corpus_words, is_filler

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
FILLER = 0.3  # a pronoun, adverb or time word (那会儿, 到底, 那天): its weight counts this much
UNSEEN_CHAR = 0.5  # the weight of a single character no unit uses, as a share of a word's
STRICT_SHARE = 0.8  # of the question's weight, for a unit below the first without a subject term
QUOTED_BOOST = 1.0  # a unit holding the very words a question quotes ranks this much higher
ASKED_BOOST = 1.0  # a unit's rank grows by this share of how closely one of its asks matched
# A unit whose sentence stands out as closest in meaning to the question (`meaning.lift`) ranks
# up to this share higher.
UNIT_MEANING = 0.5
# Of the question's word weight, for the sentence giving a date, a number or a span in a unit
# ranked below one about the subject that has none.
BELOW_DECLINED = 0.5

_HAN = re.compile(r"[\u4e00-\u9fff]")
# A date, name or number of this branch's own calendar (今年评上的, 下个月几号): not study matter.
_OUR_CALENDAR = re.compile(
    r"下个?月|下个?(?:周|星期|礼拜)|上个?月|明天|后天|今天|昨天|今年|明年|去年|本月|这个月|本周|这周|"
    r"最近|近期|近来|眼下"
)
_SENTENCE = re.compile(r"[^。！？；]+[。！？；]*[”’」』）)]*")  # a closing quote stays with it


# A colon ends what the member says of themselves (备课用：…).  Not a space: taken as a comma it
# cut questions into asking parts that answered what was not asked (a blind set's inventions).
_CLAUSE_END = re.compile(r"(?<=[，,。；;！!？?：:])")
_CLAUSE_OR_SPACE_END = re.compile(r"(?<=[，,。；;！!？?：:\s])")
_ASKS = re.compile(r"吗|呢|啥|什么|哪|几|多少|多久|咋|怎|谁|是不是|不[？?]?$|[？?]")


def _asking_part(question: str, *, spaces: bool = False) -> str:
    """The clauses of the question that ask (啥, 哪, 几, 吗…), from the first to the last, without
    what the member says before or after them (我是预备党员，… / …？我家孩子17)."""
    ends = _CLAUSE_OR_SPACE_END if spaces else _CLAUSE_END
    clauses = [c for c in ends.split(question.strip()) if c.strip()]
    asking = [n for n, clause in enumerate(clauses) if _ASKS.search(clause)]
    return "".join(clauses[asking[0] : asking[-1] + 1]) if asking else question


def _sentences(line: str) -> Iterator[str]:
    for sentence in _SENTENCE.findall(quoting.plain(line)):  # Markdown, as the reader sees it
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


class CorpusIndex:
    """Built once by `build`, read-only afterwards: safe to share between requests."""

    def __init__(
        self, corpus: Sequence[Unit], docs: list[tuple[int, str]], meanings: Meanings | None = None
    ) -> None:
        self._units = list(corpus)
        self._meanings = meanings
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
        self._read = [as_read(u.body) for u in self._units]
        # Read sentence by sentence when first asked about: half the build, and most units of
        # a process's life are never quoted.
        self._answers: list[UnitAnswers | None] = [None] * len(self._units)
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
        self._any_named = set().union(*self._named)  # a subject term of some unit

    @classmethod
    def build(cls, corpus: Sequence[Unit], *, meaning: bool = False) -> CorpusIndex:
        """`meaning`: match by meaning too (`meaning.py`), where the model is installed."""
        # The ways members ask a unit's facts are indexed with its passages: they are in the
        # members' words, which the body is not (never quoted: they only find the unit).
        return cls(
            corpus,
            [
                (p, text)
                for p, unit in enumerate(corpus)
                for text in [*passages(unit.body), *(" ".join(f.asks) for f in unit.facts)]
            ],
            Meanings.of(corpus) if meaning else None,
        )

    def _answers_of(self, position: int) -> UnitAnswers:
        answers = self._answers[position]
        if answers is None:  # built twice by two threads at worst: the same either way
            answers = self._answers[position] = UnitAnswers(
                self._units[position], self._subjects[position]
            )
        return answers

    def _weight(self, term: str) -> float:
        if term not in self._idf and len(term) == 1:
            return self._idf_unseen * UNSEEN_CHAR  # 乱, 咱: a stray character, not a subject
        weight = self._idf.get(term, self._idf_unseen)
        if term[0] == "\0":
            return weight * BIGRAM_WEIGHT
        return weight * FILLER if len(term) > 1 and is_filler(term) else weight

    def search(self, question: str, limit: int = 3) -> list[Passage]:
        """Confident matches, best first (at most one passage per unit); [] when nothing matches
        well enough."""
        if limit <= 0 or len(question) > MAX_QUESTION or not _HAN.search(question):
            return []  # a paste; or no Chinese at all ({{7*7}}, 12345): nothing to look up
        # The model reads the whole question, what the member says of themselves included.
        close = self._meanings.closeness(question) if self._meanings else None
        found = self._search(question, limit, close)
        asking = _asking_part(question)
        before = question[: question.find(asking)]
        if (
            not found
            and asking != question
            and (not self._about_else(before) or self._stands_alone(asking))
        ):
            # 我是预备党员，想问下…几个才能建支部: what a member says of themselves first weighs
            # as much as the question; the question is the asking part (and what follows it,
            # 俺老伴天天去庙里烧香, is only why they ask).  Not when what comes first is what no
            # unit speaks of (楼上漏水物业不管，我该找谁): that is the subject — unless the
            # asking part names one of the units' own (刚接手书记的活儿，支委会多久开一回).
            found = self._search(asking, limit, close)
        return found

    def _closeness(self, close: Vectors | None, position: int) -> Vectors | None:
        if close is None or self._meanings is None:
            return None
        rows = self._meanings.rows[position]
        return close[rows.start : rows.stop]

    def _stands_alone(self, asking: str) -> bool:
        """An asking part that names a subject of the units and asks a plain kind of fact (多久,
        几个) is the question whatever the member said before it."""
        kind = quoting.kind_of(unicodedata.normalize("NFKC", asking))
        return (
            kind is not quoting.Kind.OTHER
            and not self._about_else(asking)
            and any(
                w in self._any_named and self._weight(w) >= NAMED_IDF
                for w in analyse(in_the_corpus_words(asking)).words
            )
        )

    def _about_else(self, text: str) -> bool:
        return any(self._unknown(w) for w in analyse(in_the_corpus_words(text)).words)

    def _search(self, question: str, limit: int, close: Vectors | None = None) -> list[Passage]:
        asked = analyse(in_the_corpus_words(question))
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
        if close is not None and len(close) and self._meanings is not None:
            # 能让老伴替我签个到吗 and "不能虚报、代签" share no word; their meaning is close.
            nearest = self._meanings.unit_of(int(close.argmax()))
            if nearest in ranks:
                ranks[nearest] *= 1 + UNIT_MEANING * lift(float(close.max()))
        for phrase in quoting.quoted(question):
            # 义务里头“吃苦在前”后面是啥: a member quoting the text asks about where it stands.
            for position in best:
                if phrase in self._read[position]:
                    ranks[position] *= 1 + QUOTED_BOOST
        words = list(dict.fromkeys(asked.words))
        total = sum(self._weight(w) for w in words)
        kind = quoting.kind_of(unicodedata.normalize("NFKC", question))
        # 入党以后能分房子吗: whether one may do what no unit mentions.  A yes/no question with a
        # word no unit uses is answered only by a unit holding most of the rest of it (记录能不能
        # 回家补写), never by the subject term alone.
        unnamed = kind is quoting.Kind.YES_NO and any(self._unknown(w) for w in words)
        if kind in quoting.LOCAL_KINDS and _OUR_CALENDAR.search(
            _asking_part(question, spaces=True)
        ):
            # Only when the asking clause says it: 我孙子今年十七了，够岁数入党吗 is timeless; a
            # space is a typed comma here (下礼拜出差 党小组会去不了 咋办).
            return []  # 下个月党员大会几号开: the units are timeless; the branch's dates are not
        found: list[Passage] = []
        declined = False
        ranked = sorted(ranks, key=lambda p: (-ranks[p], p))  # ties: corpus order
        wanted = max(limit, 3) + 2  # the same candidates whatever the limit
        for tried, position in enumerate(ranked):
            if ranks[position] < ranks[ranked[0]] * RELATIVE and (found or tried >= FIRST_TRIES):
                break  # nor far down the list when the units about it lack the fact asked for
            if self._confident(
                words, total, best[position], named_only=tried > 0 and not found, unnamed=unnamed
            ):
                quoted = self._answers_of(position).quote(
                    words,
                    kind,
                    question,
                    self._weight,
                    self._closeness(close, position),
                    least=BELOW_DECLINED if declined else answering.CHECKED_SHARE,
                )
                if quoted is None:  # about the subject, but without the fact asked for
                    # 支部委员会几年换一次届: the unit about it gives no span; one below it
                    # answers only with a sentence that is mostly the question's own words,
                    # not some span about something else.
                    declined = declined or (not found and kind in quoting.CHECKED)
                    continue
                text, line, fit = quoted
                # A unit whose authors wrote this very question down answers before the rest.
                score = ranks[position] * (1 + ASKED_BOOST * fit)
                found.append(Passage(self._units[position], text, score, line))
            elif not found and tried + 1 >= FIRST_TRIES:
                break  # none of the best few matches is confident: nothing below them is
            if len(found) == wanted:
                break
        found.sort(key=lambda passage: -passage.score)
        return found[:limit]

    def _unknown(self, word: str) -> bool:
        """A word of two or more characters no unit uses, nor any two characters of it (房子;
        not 乱发言, whose 发言 the units use)."""
        return (
            len(word) > 1
            and not is_filler(word)
            and word not in self._idf
            and not any("\0" + word[i : i + 2] in self._idf for i in range(len(word) - 1))
        )

    def _confident(
        self,
        words: list[str],
        total: float,
        doc: int,
        *,
        named_only: bool = False,
        unnamed: bool = False,
    ) -> bool:
        """Enough of the question is in the unit.  `named_only`: only by a subject term the
        unit is about, or nearly all of the question (a unit ranked below an unconfident first
        one needs that much).  `unnamed`: a subject term alone is not enough."""
        position = self._docs[doc][0]
        have = self._unit_terms[position]
        covered = [w for w in words if covers(w, have)]
        matched = sum(self._weight(w) for w in covered)
        share = matched / total if total else 0.0
        if not unnamed and any(
            w in self._named[position] and self._weight(w) >= NAMED_IDF for w in covered
        ):
            return share >= NAMED_SHARE
        if named_only:  # or nearly every word of the question
            return matched >= MIN_MATCHED and share >= STRICT_SHARE
        if unnamed:  # most of the question, by its other words
            return matched >= MIN_MATCHED and share >= MIN_SHARE
        return (matched >= MIN_MATCHED and share >= MIN_SHARE) or (
            matched >= SHORT_MATCHED and share >= SHORT_SHARE
        )

    def topics(self) -> list[str]:
        """Topics to suggest when nothing matched: the distinct first tags of the units, in
        corpus order."""
        return list(dict.fromkeys(unit.tags[0] for unit in self._units))
