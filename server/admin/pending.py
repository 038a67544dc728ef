"""The 心得 waiting for review: oldest first, with the days each has waited.

Read-only: secretaries review in chat (`审核`).  A work queue, not a list of anyone's activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from server.models.people import Organisation, OrgKind
from server.models.study import Submission, SubmissionStatus
from server.services.people.scope import under

SHOWN = 20


@dataclass(frozen=True)
class Waiting:
    member: str
    branch: str  # the 党支部 (a group's submission: its branch)
    group: str | None
    day: date
    waited: int  # days since it was handed in
    similarity: int | None  # a near-copy: how alike, in per cent


@dataclass(frozen=True)
class Queue:
    total: int
    oldest: list[Waiting]


async def queue(org: Organisation, today: date, shown: int = SHOWN) -> Queue:
    pending = Submission.filter(under(org.path), status=SubmissionStatus.PENDING)
    rows = (
        await pending.order_by("day", "created_at", "id")
        .limit(shown)
        .prefetch_related("member", "organisation", "organisation__parent")
    )
    oldest = []
    for s in rows:
        where: Organisation = s.organisation
        branch = where.parent if where.kind == OrgKind.GROUP else None  # a group's branch
        oldest.append(
            Waiting(
                member=s.member.name,
                branch=branch.name if branch is not None else where.name,
                group=where.name if branch is not None else None,
                day=s.day,
                waited=max(0, (today - s.day).days),
                similarity=round((s.similarity or 0) * 100) if s.resembles else None,
            )
        )
    return Queue(await pending.count(), oldest)
