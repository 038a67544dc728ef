"""The suggestion: a plain rule over the year's evidence, for the branch to accept or change.

Two stars to start with, and one more for each of:

1. 组织生活 — present at no fewer than 80% of the held meetings the member was expected at
   (at least one);
2. 交流心得 — at least one 心得 of the year approved;
3. 服务担当 — at least one 双报到 service completed, or a duty held (党小组长, 支部委员,
   书记, a community's staff, a standing post, a 流出 member's 联系人).

So five stars for all three, three for organisational life alone.  Points, study time, check-ins
and clicks are no part of it.  It is only a suggestion: the branch decides, and says why when it
decides otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.services.member_stars.evidence import Evidence

BASE = 2
ATTENDANCE_SHARE = 0.8


@dataclass(frozen=True)
class Suggestion:
    level: int
    items: tuple[tuple[str, bool], ...]  # each item in words, and whether it is met


def suggest(e: Evidence) -> Suggestion:
    attended = e.expected > 0 and e.present >= ATTENDANCE_SHARE * e.expected
    items = (
        ("组织生活出席八成以上", attended),
        ("心得通过至少一篇", e.approved > 0),
        ("完成双报到服务或担任职务", e.services > 0 or bool(e.duties)),
    )
    return Suggestion(BASE + sum(met for _, met in items), items)
