"""Composing the demo's 心得体会, in the wording a Party organisation prints.

A text is put together for its author (see demo_thought_bank): what they studied and where,
what they understood, what it means for their own work as who they are, perhaps a
shortcoming found on reflection, and a resolution.  A near-copy is a colleague's text with a
word or two changed; a revision after a return adds what the branch asked for.
"""

from __future__ import annotations

import random
from datetime import date

from server.models.people import Role
from server.services.demo.people import Person
from server.services.demo.thought_bank import (
    LINKS,
    OPENINGS,
    RESOLUTIONS,
    REVISION_OPENERS,
    ROLES,
    SHORTCOMINGS,
    THOUGHT_TOPICS,
    VETERAN_OPENINGS,
)
from server.services.study import similarity
from study_content.corpus import Unit

TOO_ALIKE = 0.45  # an unintended resemblance this close is drawn again (flags start at 0.6)
_EDITS = (
    ("我体会到", "我认识到"),
    ("这段时间", "最近一段时间"),
    ("认真", "仔细"),
    ("今后", "以后"),
    ("深刻认识到", "深深认识到"),
    ("有了更深的理解", "有了更深刻的理解"),
)


def role_word(p: Person, rng: random.Random) -> str:
    if p.role in (Role.SECRETARY,):
        return "支部书记"
    if p.role in (Role.DEPUTY_SECRETARY, Role.COMMITTEE_MEMBER):
        return "支部委员"
    if p.role in (Role.STAFF, Role.GENERAL_SECRETARY) or p.place == "offices":
        return "机关干部"
    if p.is_mobile:
        return "流动党员"
    if p.place == "company":
        return "企业职工"
    if p.place == "relocation" and rng.random() < 0.5:
        return "搬迁群众"
    if p.age >= 62:
        return rng.choice(("退休党员", "退休党员", "楼栋长"))
    if p.place == "village":
        return rng.choice(("村民小组长", "网格员"))
    return rng.choice(("网格员", "社区工作者", "在职党员", "楼栋长"))


def compose(p: Person, day: date, rng: random.Random) -> str:
    topics = [
        t
        for t in THOUGHT_TOPICS
        if t.since <= day
        and (t.months is None or day.month in t.months)
        and (t.places is None or p.place in t.places)
    ]
    topic = rng.choice(topics)
    if p.party_years >= 20 and rng.random() < 0.3:
        opening = rng.choice(VETERAN_OPENINGS).format(title=topic.title, years=p.party_years)
    else:
        opening = rng.choice(OPENINGS).format(title=topic.title)
    two = len(topic.understood) > 1 and rng.random() < 0.3
    understood = sorted(rng.sample(topic.understood, 2 if two else 1), key=topic.understood.index)
    practice = rng.choice(LINKS) + rng.choice(ROLES[role_word(p, rng)])
    shortcoming = rng.choice(SHORTCOMINGS) if rng.random() < 0.45 else ""
    return opening + "".join(understood) + practice + shortcoming + rng.choice(RESOLUTIONS)


def near_copy(source: str, rng: random.Random) -> str:
    """Someone else's text with a word or two changed and a line of one's own at the end."""
    text = source
    for old, new in rng.sample(_EDITS, len(_EDITS)):
        if old in text:
            text = text.replace(old, new, 1)
            if rng.random() < 0.5:
                break
    return text + rng.choice(("以上是我的学习体会。", "请支部审阅。"))


def revised(original: str, p: Person, rng: random.Random) -> str:
    return original + rng.choice(REVISION_OPENERS) + rng.choice(ROLES[role_word(p, rng)])


def too_alike(text: str, earlier: list[str], units: list[Unit]) -> bool:
    """Close to what `submit` will compare it with: the branch's earlier texts, the units."""
    candidates = [(str(i), t) for i, t in enumerate(earlier)]
    candidates += [(u.id, u.body) for u in units]
    found = similarity.closest(text, candidates, cached=True)
    return found is not None and found.score >= TOO_ALIKE
