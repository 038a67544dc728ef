"""Check bench/qa_eval_set.toml against the shipped study corpus.

    PYTHONPATH=. python bench/check_qa_eval_set.py [path/to/qa_eval_set.toml]

Prints a summary (counts, question kinds, how often each unit is the expected topic) and then
every problem found; exits 1 if there is any problem.  It reads only the TOML file and the
corpus (`study_content.corpus`), never the answering code.

What is checked:
  * at least 150 [[answerable]] and 30 [[unanswerable]] cases (50 and 10 in a blind set,
    qa_eval_blind*.toml); no question appears twice
    (across all three arrays, compared after trimming whitespace);
  * each answerable case has a non-empty `q`, 1-3 `must` entries (4 for kind = "list"), and
    a `topic` that is the id of a shipped unit;
  * each `must` entry is "a|b|c" alternatives of 2-12 characters, and at least one alternative
    occurs verbatim in that unit's body once Markdown markers (* _ > #) are removed;
  * no `must` entry is merely words of the question (every alternative inside `q`);
  * every shipped unit is the topic of at least one answerable case;
  * each unanswerable case has a `why` of off-topic | not in corpus | nonsense | hostile;
  * [[pending]] cases (units not shipped yet, e.g. dues-rates) get the same shape checks but
    their phrases are not looked up; if their unit has since been shipped, the phrases that
    are not found are listed as notes (not problems) so the cases can be moved to answerable.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

from study_content.corpus import SHIPPED, load_corpus

DEFAULT = Path(__file__).with_name("qa_eval_set.toml")
MIN_ANSWERABLE, MIN_UNANSWERABLE = 150, 30  # the main set; a blind set (qa_eval_blind*):
MIN_BLIND = 50, 10
WHY = {"off-topic", "not in corpus", "nonsense", "hostile"}
KINDS = {
    "frequency",
    "count",
    "date",
    "who-where",
    "definition",
    "list",
    "fulltext",
    "yesno",
    "howto",
}
_MARKERS = re.compile(r"[*_>#]")


def plain(body: str) -> str:
    return _MARKERS.sub("", body)


def alternatives(entry: str) -> list[str]:
    return [a.strip() for a in entry.split("|")]


def shape(label: str, case: dict, problems: list[str]) -> list[str]:
    """Problems with one answerable/pending case's fields; returns its must entries."""
    q = case.get("q")
    if not isinstance(q, str) or not q.strip():
        problems.append(f"{label}: no q")
        q = ""
    must = case.get("must")
    most = 4 if case.get("kind") == "list" else 3
    if not isinstance(must, list) or not 1 <= len(must) <= most:
        problems.append(f"{label} {q!r}: must needs 1-3 entries (up to 4 for a list question)")
    if not isinstance(must, list) or not all(isinstance(m, str) for m in must):
        problems.append(f"{label} {q!r}: must must be a list of strings")
        return []
    for entry in must:
        alts = alternatives(entry)
        for alt in alts:
            if not 2 <= len(alt) <= 12:
                problems.append(f"{label} {q!r}: must phrase {alt!r} is not 2-12 characters")
        if alts and all(alt in q for alt in alts):
            problems.append(f"{label} {q!r}: must entry {entry!r} is just words of the question")
    kind = case.get("kind")
    if kind is not None and kind not in KINDS:
        problems.append(f"{label} {q!r}: kind {kind!r} is not one of {sorted(KINDS)}")
    return must


def check(path: Path) -> tuple[list[str], list[str], list[str]]:
    """(summary lines, problems, notes)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    units = {u.id: plain(u.body) for u in load_corpus(SHIPPED)}
    answerable = data.get("answerable", [])
    unanswerable = data.get("unanswerable", [])
    pending = data.get("pending", [])
    problems: list[str] = []
    notes: list[str] = []

    least = (
        MIN_BLIND if path.name.startswith("qa_eval_blind") else (MIN_ANSWERABLE, MIN_UNANSWERABLE)
    )
    if len(answerable) < least[0]:
        problems.append(f"only {len(answerable)} answerable cases; need {least[0]}")
    if len(unanswerable) < least[1]:
        problems.append(f"only {len(unanswerable)} unanswerable cases; need {least[1]}")

    seen: Counter[str] = Counter(
        c.get("q", "").strip() for c in [*answerable, *unanswerable, *pending]
    )
    problems += [f"duplicate q {q!r} ({n} times)" for q, n in seen.items() if n > 1 and q]

    topics: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for n, case in enumerate(answerable, 1):
        label = f"answerable #{n}"
        must = shape(label, case, problems)
        kinds[case.get("kind", "(none)")] += 1
        topic = case.get("topic")
        if topic is None:
            continue
        if topic not in units:
            problems.append(f"{label} {case.get('q')!r}: topic {topic!r} is not a unit id")
            continue
        topics[topic] += 1
        body = units[topic]
        for entry in must:
            if not any(alt in body for alt in alternatives(entry)):
                problems.append(
                    f"{label} {case.get('q')!r}: {entry!r} does not occur in unit {topic}"
                )

    for n, case in enumerate(pending, 1):
        label = f"pending #{n}"
        must = shape(label, case, problems)
        topic = case.get("topic")
        if not isinstance(topic, str) or not topic:
            problems.append(f"{label} {case.get('q')!r}: no topic")
        elif topic in units:
            missing = [e for e in must if not any(a in units[topic] for a in alternatives(e))]
            found = f"not found: {missing}" if missing else "all phrases found"
            notes.append(f"{label} {case.get('q')!r}: unit {topic} now exists; {found}")

    for n, case in enumerate(unanswerable, 1):
        q = case.get("q")
        if not isinstance(q, str) or not q.strip():
            problems.append(f"unanswerable #{n}: no q")
        if case.get("why") not in WHY:
            problems.append(f"unanswerable #{n} {q!r}: why must be one of {sorted(WHY)}")

    uncovered = sorted(set(units) - set(topics))
    problems += [f"unit {uid} is not the topic of any answerable case" for uid in uncovered]

    why = Counter(c.get("why") for c in unanswerable)
    summary = [
        f"answerable {len(answerable)}, unanswerable {len(unanswerable)}, pending {len(pending)}",
        "kinds: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()),
        "unanswerable: " + ", ".join(f"{k} {v}" for k, v in why.most_common()),
        f"units covered {len(topics)}/{len(units)}; cases per unit: "
        + ", ".join(f"{u} {topics[u]}" for u in sorted(units)),
    ]
    return summary, problems, notes


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    summary, problems, notes = check(path)
    print("\n".join(summary))
    for note in notes:
        print(f"note: {note}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
