"""Do answers answer?  Every question of the evaluation set asked as a member asks it.

    python bench/qa_eval.py [--set bench/qa_eval_set.toml] [--multiplier 10] [--show wrong]

The set (`qa_eval_set.toml`) holds everyday questions written the way members type them, each
with the phrases a right answer must contain, and questions the corpus cannot answer.  Each is
sent through the same reply the chat sends (`handlers.questions.reply`, no language model):

  right     an answerable question whose reply contains every `must` phrase (one of its
            "|"-separated alternatives); the 相关内容 line naming other units does not count;
  refused   the reply says honestly that the corpus has no answer (没有找到);
  wrong     an answerable question answered, but without the fact asked for;
  invented  an unanswerable question answered, or a reply whose answer line or quotation is
            not the unit's own text: the one figure that must be 0.

Latency: each question is asked again on a corpus MULTIPLIER times the shipped one (as
`bench/qa.py` builds it), p95 of `search()` in ms.  Exit status 0 whatever the figures; this is
a measurement.  `evaluate()` returns them for the test that keeps them from slipping.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from handlers.questions import reply
from study_content.corpus import SHIPPED, load_corpus
from study_content.quoting import plain
from study_content.retrieval import CorpusIndex

HERE = Path(__file__).parent
SET = HERE / "qa_eval_set.toml"
TARGET_RIGHT, TARGET_P95_MS = 0.95, 20.0
REFUSAL = "没有找到能回答"


@dataclass(frozen=True)
class Case:
    q: str
    must: tuple[str, ...] = ()
    topic: str = ""


@dataclass
class Result:
    answerable: int = 0
    unanswerable: int = 0
    right: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # answerable, but "not found"
    wrong: list[tuple[str, str]] = field(default_factory=list)  # (question, what was missing)
    declined: list[str] = field(default_factory=list)  # unanswerable, honestly refused
    invented: list[tuple[str, str]] = field(default_factory=list)  # (question, why)

    @property
    def right_share(self) -> float:
        return len(self.right) / self.answerable if self.answerable else 0.0


def load(path: Path = SET) -> tuple[list[Case], list[Case]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    answerable = [
        Case(c["q"], tuple(c["must"]), c.get("topic", ""))
        for key in ("answerable", "pending")
        for c in data.get(key, [])
    ]
    return answerable, [Case(c["q"]) for c in data.get("unanswerable", [])]


def part(cases: list[Case], which: str) -> list[Case]:
    """Every 4th case is held out: wording rules (stopwords, sayings) are tuned on the rest,
    and the held-out share shows whether they generalise."""
    return [c for n, c in enumerate(cases) if (n % 4 == 3) == (which == "held-out")]


def _judged(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("相关内容："))


def _missing(text: str, must: Sequence[str]) -> list[str]:
    judged = _judged(text)
    return [m for m in must if not any(alt in judged for alt in m.split("|"))]


def _not_the_units_own(index: CorpusIndex, question: str) -> str | None:
    """Why the answer for `question` is not verbatim corpus text, or None when it is."""
    for passage in index.search(question):
        body = "\n".join(plain(line) for line in passage.unit.body.splitlines() if line.strip())
        for line in passage.text.splitlines():
            if line not in body:
                return f"quotation line not in 《{passage.unit.title}》: {line[:30]}…"
        own = [passage.text, *(q.explanation for q in passage.unit.questions)]
        if passage.answer and not any(passage.answer.rstrip("。") in text for text in own):
            return f"answer line neither in its quotation nor in the unit: {passage.answer}"
    return None


def evaluate(index: CorpusIndex, answerable: list[Case], unanswerable: list[Case]) -> Result:
    result = Result(len(answerable), len(unanswerable))
    for case in answerable:
        text = reply(case.q, index)
        not_own = _not_the_units_own(index, case.q)
        if not_own:
            result.invented.append((case.q, not_own))
        if REFUSAL in text:
            result.refused.append(case.q)
        elif missing := _missing(text, case.must):
            result.wrong.append((case.q, "、".join(missing)))
        else:
            result.right.append(case.q)
    for case in unanswerable:
        text = reply(case.q, index)
        if REFUSAL in text:
            result.declined.append(case.q)
        else:
            first = text.splitlines()[1] if "\n" in text else text
            result.invented.append((case.q, f"answered: {first[:40]}…"))
    return result


def latency_p95(index: CorpusIndex, questions: Sequence[str], rounds: int = 3) -> float:
    for q in questions:  # warm-up
        index.search(q)
    times = []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            index.search(q)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[max(0, -(-len(times) * 95 // 100) - 1)]


def report(r: Result, name: str, show: str) -> None:
    print(f"qa evaluation: {r.answerable} answerable and {r.unanswerable} unanswerable ({name})")
    print(
        f"right     {len(r.right):4d} / {r.answerable}  {r.right_share:.1%}"
        f"  (target ≥ {TARGET_RIGHT:.0%}: {'PASS' if r.right_share >= TARGET_RIGHT else 'FAIL'})"
    )
    print(f"wrong     {len(r.wrong):4d}  answered without the fact asked for")
    print(f"refused   {len(r.refused):4d}  answerable, but said 没有找到")
    declined = len(r.declined) / r.unanswerable if r.unanswerable else 0.0
    print(f"declined  {len(r.declined):4d} / {r.unanswerable}  {declined:.1%} honestly refused")
    print(f"invented  {len(r.invented):4d}  (target 0: {'PASS' if not r.invented else 'FAIL'})")
    if show != "none":
        for q, missing in r.wrong:
            print(f"  wrong    {q}  — missing {missing}")
        for q in r.refused:
            print(f"  refused  {q}")
        for q, why in r.invented:
            print(f"  invented {q}  — {why}")
    if show == "all":
        for q in r.right:
            print(f"  right    {q}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/qa_eval.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", type=Path, action="append", help="evaluation set (TOML); may be repeated"
    )
    parser.add_argument(
        "--blind", action="store_true", help="the main set and every qa_eval_blind*.toml"
    )
    parser.add_argument(
        "--meaning", action="store_true", help="match by meaning too (DANGJIAN_QA_MEANING)"
    )
    parser.add_argument("--multiplier", type=int, default=10, help="corpus × shipped for latency")
    parser.add_argument(
        "--show", choices=("wrong", "all", "none"), default="wrong", help="cases to list"
    )
    parser.add_argument(
        "--part",
        choices=("all", "tuning", "held-out"),
        default="all",
        help="every case, or the tuning part (3 in 4) or the held-out part (every 4th)",
    )
    args = parser.parse_args(argv)
    sets = args.set or ([SET, *sorted(HERE.glob("qa_eval_blind*.toml"))] if args.blind else [SET])
    index = CorpusIndex.build(load_corpus(SHIPPED), meaning=args.meaning)
    asked: list[Case] = []
    for path in sets:
        answerable, unanswerable = load(path)
        if args.part != "all":
            answerable, unanswerable = (part(c, args.part) for c in (answerable, unanswerable))
        asked += answerable + unanswerable
        report(evaluate(index, answerable, unanswerable), f"{path.name}, {args.part}", args.show)
    if args.multiplier >= 1:
        sys.path.insert(0, str(HERE))
        from qa import corpus_of  # bench/qa.py: the same enlarged corpus

        start = time.perf_counter()
        big = CorpusIndex.build(corpus_of(args.multiplier), meaning=args.meaning)
        build = time.perf_counter() - start
        p95 = latency_p95(big, [c.q for c in asked])
        print(
            f"latency   p95 {p95:.2f} ms on {args.multiplier} × the corpus (index built in"
            f" {build:.1f} s)  (target < {TARGET_P95_MS:.0f} ms:"
            f" {'PASS' if p95 < TARGET_P95_MS else 'FAIL'})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
