"""The study corpus: units in plain files, loaded and checked once.

A unit is a Markdown file with TOML front matter between `+++` lines:

    +++
    id = "constitution-nature"
    title = "党的性质和宗旨"
    tags = ["党章", "党的性质"]
    source = "《中国共产党章程》总纲"

    [[questions]]
    question = "……"
    choices = ["……", "……", "……", "……"]
    answer = "B"
    explanation = "……"
    +++
    正文 (300–800 characters)

TOML because Python reads it without a dependency (tomllib) and secretaries can edit it in any
editor.  The shipped units live in `study_content/units/`; a branch adds its own by dropping
files into the folder named by DANGJIAN_CONTENT_DIR.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from server.errors import ConfigError

SHIPPED = Path(__file__).parent / "units"
BODY_MIN, BODY_MAX = 300, 800
LETTERS = "ABCD"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


@dataclass(frozen=True)
class Question:
    question: str
    choices: tuple[str, ...]
    answer: str  # "A".."D"
    explanation: str


@dataclass(frozen=True)
class Fact:
    """A fact members ask about, as they ask it, and the words of the body that state it."""

    asks: tuple[str, ...]  # the question in members' words: 支委会多久开一次
    answer: str  # verbatim from the body: 支委会会议一般每月召开1次


@dataclass(frozen=True)
class Unit:
    id: str
    title: str
    tags: tuple[str, ...]
    source: str
    body: str
    questions: tuple[Question, ...]
    path: Path = field(compare=False)
    facts: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class CorpusInvalid(ConfigError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the study corpus has {len(problems)} problem(s):\n{listed}")


def body_length(body: str) -> int:
    """Characters a reader reads: whitespace and Markdown markup do not count."""
    return len(re.sub(r"[\s#>*`_\-]", "", body))


def _split(text: str) -> tuple[str, str] | None:
    if not text.startswith("+++"):
        return None
    end = text.find("\n+++", 3)
    if end < 0:
        return None
    return text[3:end], text[end + 4 :].strip()


def _questions(raw: object, problems: list[str]) -> tuple[Question, ...]:
    if not isinstance(raw, list) or not 2 <= len(raw) <= 3:
        problems.append("needs 2 or 3 [[questions]]")
        return ()
    found = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(f"question {n} is not a table")
            continue
        text, choices = item.get("question"), item.get("choices")
        answer, why = item.get("answer"), item.get("explanation")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"question {n}: no question text")
        if (
            not isinstance(choices, list)
            or not 3 <= len(choices) <= 4
            or not all(isinstance(c, str) and c.strip() for c in choices)
        ):
            problems.append(f"question {n}: choices must be 3 or 4 non-empty strings")
            continue
        if len(set(choices)) != len(choices):
            problems.append(f"question {n}: two choices are the same")
        if not isinstance(answer, str) or answer not in LETTERS[: len(choices)]:
            problems.append(f"question {n}: answer must be one of {LETTERS[: len(choices)]}")
        if not isinstance(why, str) or not why.strip() or "\n" in why.strip():
            problems.append(f"question {n}: explanation must be one line")
        if isinstance(text, str) and isinstance(answer, str) and isinstance(why, str):
            found.append(
                Question(text.strip(), tuple(c.strip() for c in choices), answer, why.strip())
            )
    return tuple(found)


FACTS_MAX, ASKS_MAX, ASK_LENGTH = 10, 6, 40


def as_read(body: str) -> str:
    """The body as a reader sees it, for matching: no Markdown marks, no whitespace."""
    return re.sub(r"[\s#>*`_]", "", re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", body))


def _facts(raw: object, body: str, problems: list[str]) -> tuple[Fact, ...]:
    """[[facts]]: `asks` (1-6 ways members ask, ≤ 40 characters each) and `answer`, which must
    be the body's own words — an answer line is quoted, never written."""
    if not isinstance(raw, list) or len(raw) > FACTS_MAX:
        problems.append(f"facts must be a list of at most {FACTS_MAX} [[facts]]")
        return ()
    found = []
    text = as_read(body)
    for n, item in enumerate(raw, 1):
        asks = item.get("asks") if isinstance(item, dict) else None
        answer = item.get("answer") if isinstance(item, dict) else None
        if (
            not isinstance(asks, list)
            or not 1 <= len(asks) <= ASKS_MAX
            or not all(isinstance(a, str) and 0 < len(a.strip()) <= ASK_LENGTH for a in asks)
        ):
            problems.append(
                f"fact {n}: asks must be 1-{ASKS_MAX} questions of 1-{ASK_LENGTH} characters"
            )
            continue
        if not isinstance(answer, str) or not answer.strip():
            problems.append(f"fact {n}: answer is missing")
            continue
        if as_read(answer) not in text:
            problems.append(f"fact {n}: answer is not the body's own words: {answer[:30]}")
            continue
        found.append(Fact(tuple(a.strip() for a in asks), answer.strip()))
    return tuple(found)


# The General Secretary is named as the Party's own texts name him: 习近平同志, 习近平总书记
# (or 主席 where the state office is meant), or within the name of the Thought.
_BARE_NAME = re.compile(r"习近平(?!同志|总书记|主席|新时代)")

# Standard formulas are printed whole (study_content/STYLE.md): the 核心 is 习近平总书记（同志）
# 党中央的核心、全党的核心地位, never 党中央的核心地位 alone nor 习近平总书记的核心地位; 两个确立
# is not 确立核心地位和确立指导地位.
_SHORT_CORE = re.compile(
    r"(?<!同志)(?<!总书记)党中央的核心地位|习近平(?:同志|总书记)的核心地位|确立(?:核心|指导)地位"
)
# Since the 20th Congress the 总纲 lists six basic requirements of Party building.
_OLD_COUNT = re.compile(r"[三四五345]项基本要求")
_PARTY_BUILDING = re.compile(r"党的建设|党建|总纲")
# The Thought's three questions, in the 2022 总纲's words.
_OLD_THOUGHT = re.compile(r"系统回答了新时代")
# What only the 2018 纪律处分条例 said, credited to the 条例 as it stands: its 第三条 no longer
# carries 四个意识/四个自信/两个维护, and its 工作纪律 chapter does not list 只表态不落实.
_ARTICLE_3 = re.compile(r"纪律处分条例[^。！？]*第三条")
_ARTICLE_3_WORDS = re.compile(r"四个意识|四种意识|四个自信|两个维护|核心意识|初心使命")
_NOT_LISTED = re.compile(r"只表态不落实")
_WORK_DISCIPLINE = re.compile(r"纪律处分条例|工作纪律|第十章")
# The chat quotes whole sentences; a paragraph that opens with a pronoun needs the one before.
_DANGLING = re.compile(r"^[ \t>*#-]*(?:它|这|那|此|该|其(?![实他它]))", re.MULTILINE)
# 指尖上的形式主义: members are not ranked, and daily check-ins are not made compulsory.
_RANKING = re.compile(
    r"积分排名|排行榜|(?:打卡|学习时长)排名|(?:必须|强制)(?:每天|每日)(?:打卡|签到|登录)"
)
_REFUSED = re.compile(r"(?:不|禁止|不得|反对|杜绝)\w{0,3}$")  # 不搞积分排名 says the rule


def _around(text: str, start: int, end: int) -> str:
    return text[max(0, start - 8) : end + 8].replace("\n", " ")


def _sentence_problems(sentence: str) -> list[str]:
    found = []
    if (count := _OLD_COUNT.search(sentence)) and _PARTY_BUILDING.search(sentence):
        found.append(f"{count.group()}: the 2022 党章 总纲 lists six basic requirements")
    if _ARTICLE_3.search(sentence) and _ARTICLE_3_WORDS.search(sentence):
        found.append(
            "credits 纪律处分条例第三条 with its 2018 wording (in the 2023 条例 it is 第二条; "
            f"cite the 条例 without an article where unsure): …{sentence[:30]}…"
        )
    if _NOT_LISTED.search(sentence) and _WORK_DISCIPLINE.search(sentence):
        found.append(f"只表态不落实 is not in the 2023 条例's 工作纪律 list: …{sentence[:30]}…")
    return found


def wording_problems(text: str) -> list[str]:
    """Standard political wording a Party organisation would print (study_content/STYLE.md)."""
    found: list[str] = []
    if name := _BARE_NAME.search(text):
        around = _around(text, name.start(), name.end())
        found.append(f"names the General Secretary without 同志 or his title: …{around}…")
    if short := _SHORT_CORE.search(text):
        around = _around(text, short.start(), short.end())
        found.append(f"shortens a formula (两个维护, 两个确立; see STYLE.md): …{around}…")
    if _OLD_THOUGHT.search(text):
        found.append("系统回答了: the 2022 党章 says the Thought 科学回答了 three questions")
    for sentence in re.findall(r"[^。！？\n]+", text):
        found.extend(_sentence_problems(sentence))
    # Quiz choices may name a wrong practice; the body is what a member reads and is quoted.
    parts = _split(text)
    body = parts[1] if parts is not None else text
    for opening in _DANGLING.finditer(body):
        line = body[opening.start() :].split("\n", 1)[0]
        found.append(f"a paragraph opens with a word that needs the one before: {line[:20]}…")
    for rank in _RANKING.finditer(body):
        if not _REFUSED.search(body[max(0, rank.start() - 6) : rank.start()]):
            around = _around(body, rank.start(), rank.end())
            found.append(f"ranks members or makes daily check-ins compulsory: …{around}…")
    return found


def parse_unit(path: Path) -> tuple[Unit | None, list[str]]:
    """One file: the unit, or None and what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"cannot read the file ({exc})"]
    parts = _split(text)
    if parts is None:
        return None, ["no front matter: the file must start with +++ and close it with +++"]
    try:
        meta = tomllib.loads(parts[0])
    except tomllib.TOMLDecodeError as exc:
        return None, [f"front matter is not valid TOML ({exc})"]
    problems: list[str] = []
    uid, title, source = meta.get("id"), meta.get("title"), meta.get("source")
    tags = meta.get("tags")
    if not isinstance(uid, str) or not _ID.match(uid):
        problems.append("id must be lowercase letters, digits and '-' (2-64 characters)")
    if not isinstance(title, str) or not title.strip():
        problems.append("title is missing")
    if not isinstance(source, str) or not source.strip():
        problems.append("source is missing (document title, and article where there is one)")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t for t in tags):
        problems.append("tags must be a non-empty list of strings")
    length = body_length(parts[1])
    if not BODY_MIN <= length <= BODY_MAX:
        problems.append(f"body has {length} characters; it must have {BODY_MIN}-{BODY_MAX}")
    questions = _questions(meta.get("questions"), problems)
    facts = _facts(meta.get("facts", []), parts[1], problems)
    problems.extend(wording_problems(text))
    if problems or not (
        isinstance(uid, str)
        and isinstance(title, str)
        and isinstance(source, str)
        and isinstance(tags, list)
    ):  # the second half only tells the type checker what the problems above ruled out
        return None, problems
    unit = Unit(uid, title.strip(), tuple(tags), source.strip(), parts[1], questions, path, facts)
    return unit, []


def load_corpus(*folders: Path) -> list[Unit]:
    """Every unit under the folders, or CorpusInvalid listing every problem in every file."""
    units: list[Unit] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            problems.append(Problem(folder, "is not a folder"))
            continue
        for path in sorted(folder.rglob("*.md")):
            if path.name.lower() == "readme.md":
                continue
            unit, wrong = parse_unit(path)
            problems.extend(Problem(path, message) for message in wrong)
            if unit is None:
                continue
            if unit.id in seen:
                problems.append(
                    Problem(path, f"duplicate id {unit.id!r} (also in {seen[unit.id]})")
                )
                continue
            seen[unit.id] = path
            units.append(unit)
    if problems:
        raise CorpusInvalid(problems)
    return units
