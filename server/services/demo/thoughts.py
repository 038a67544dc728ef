"""The demo's 心得体会 handed in through `submissions.submit`, then reviewed by the branch.

Who writes follows their habits (demo_people); each text (demo_writing) is kept apart from
what their branch handed in before, so two members never happen to write alike, while a few
members genuinely copy a colleague's text.  Every text goes through `submit` itself, so the
near-copy flags are the product's own.  Then the branch reviews: most approved within a few
days (the author earns the points on the day of approval), the newest pending, a few pending
for weeks in a slow branch, a few returned with a reason and handed in again revised, the
copies returned or still waiting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.models.people import Member, Role
from server.models.study import PointsReason, Submission, SubmissionStatus
from server.services.demo.people import Person, Street
from server.services.demo.points import Deed
from server.services.demo.rows import at
from server.services.demo.thought_bank import COPY_RETURN, RETURN_REASONS
from server.services.demo.writing import compose, near_copy, revised, too_alike
from server.services.study.points import PointsRules
from server.services.study.submissions import submit
from study_content.corpus import Unit

COPIES = 4
SLOW = 3  # pending for weeks: a slow branch's backlog, oldest first on the dashboard


@dataclass
class Thought:
    author: Person
    day: date
    text: str = ""
    copy_of: Thought | None = None
    revises: Thought | None = None
    fate: str = "approve"  # approve, pending, return
    reviewed_at: datetime | None = None
    reason: str | None = None
    submission: Submission | None = None


def plan_writing(
    street: Street,
    first: date,
    now: datetime,
    zone: ZoneInfo,
    units: list[Unit],
    rng: random.Random,
    showcase_branch: int | None,
) -> list[Thought]:
    """Who hands in what on which day, and what the branch did with it, in time order."""
    today = now.astimezone(zone).date()
    span = (today - first).days
    plans: list[Thought] = []
    for p in street.people:
        for _ in range(3):
            if p.writer and rng.random() < p.writer / 3:
                plan = Thought(p, first + timedelta(days=rng.randint(0, span)))
                if plan_moment(plan, zone) <= now and not (plan.day == today and p.quiet_today):
                    plans.append(plan)
    if showcase_branch is not None:  # the newcomer's secretary has something to review
        writers = [
            p
            for p in street.members_of.get(showcase_branch, [])
            if p.role is Role.MEMBER and not p.quiet_today
        ]
        if writers:
            plans.append(Thought(rng.choice(writers), today - timedelta(days=2), fate="pending"))
    plans.sort(key=lambda s: (s.day, s.author.phone))
    old = [s for s in plans if (today - s.day).days >= 14 and s.fate == "approve"]
    for plan in rng.sample(old, min(SLOW, len(old))):  # a slow branch's backlog
        plan.fate = "pending"
    for plan in old:
        if plan.fate == "approve" and rng.random() < 0.06:
            plan.fate, plan.reason = "return", rng.choice(RETURN_REASONS)
    plans += _copies(plans, today, rng)
    plans.sort(key=lambda s: (s.day, s.author.phone))
    texts: dict[int | None, list[str]] = {}  # by branch; None: above the branches
    for plan in plans:
        branch = plan.author.branch_id
        if plan.copy_of is not None:
            plan.text = near_copy(plan.copy_of.text, rng)
        else:
            earlier = texts.get(branch, []) if branch else [t for ts in texts.values() for t in ts]
            for _ in range(12):
                plan.text = compose(plan.author, plan.day, rng)
                if not too_alike(plan.text, earlier, units):
                    break
        texts.setdefault(branch, []).append(plan.text)
        _review(plan, now, zone, rng)
    revisions = []
    for plan in plans:
        if plan.fate == "return" and plan.reviewed_at is not None:
            day = plan.reviewed_at.astimezone(zone).date() + timedelta(days=rng.randint(1, 4))
            again = Thought(plan.author, day, revises=plan)
            if plan_moment(again, zone) <= now and not (day == today and plan.author.quiet_today):
                again.text = revised(plan.text, plan.author, rng)
                if plan.copy_of is not None:  # a copy is rewritten, not patched
                    again.text = compose(plan.author, day, rng)
                _review(again, now, zone, rng)
                revisions.append(again)
    return sorted(plans + revisions, key=lambda s: (s.day, s.author.phone))


def _review(plan: Thought, now: datetime, zone: ZoneInfo, rng: random.Random) -> None:
    """When the branch decided: within three days; what came in lately may still be waiting."""
    today = now.astimezone(zone).date()
    if plan.fate == "approve" and (today - plan.day).days <= 3 and rng.random() < 0.7:
        plan.fate = "pending"
    if plan.fate == "pending":
        return
    day = plan.day + timedelta(days=rng.randint(0, 3) if plan.fate == "approve" else 1)
    moment = at(day, time(rng.randint(9, 20), rng.randint(0, 59)), zone)
    if moment <= plan_moment(plan, zone) or moment > now:
        plan.fate, plan.reason = "pending", None
        return
    plan.reviewed_at = moment


def plan_moment(plan: Thought, zone: ZoneInfo) -> datetime:
    """When the author handed it in: at their usual hour."""
    return at(plan.day, plan.author.habit, zone, 10)


def _copies(plans: list[Thought], today: date, rng: random.Random) -> list[Thought]:
    made: list[Thought] = []
    sources = [s for s in plans if s.author.branch_id is not None and (today - s.day).days >= 6]
    for source in rng.sample(sources, len(sources)):
        if len(made) >= COPIES:
            break
        branch = source.author.branch_id
        writers = {s.author.id: s.author for s in plans if s.author.branch_id == branch}
        mates = sorted(
            (p for p in writers.values() if p.id != source.author.id and not p.officer),
            key=lambda p: p.phone,
        )
        if not mates:
            continue
        day = source.day + timedelta(days=rng.randint(1, 4))
        fate = "pending" if len(made) < 2 else "return"
        made.append(
            Thought(
                rng.choice(mates),
                day,
                copy_of=source,
                fate=fate,
                reason=COPY_RETURN if fate == "return" else None,
            )
        )
    return made


def reviewer_for(author: Person, street: Street) -> Person | None:
    """The branch's secretary; for the secretary's own, the deputy or the 总支书记 above;
    for the committee's staff and the 总支书记, a member of the committee's staff."""
    staff = [p for p in street.people if p.role is Role.STAFF and p.id != author.id]
    if author.branch_id is None:
        return staff[0] if staff else None
    mates = street.members_of.get(author.branch_id, [])
    for role in (Role.SECRETARY, Role.DEPUTY_SECRETARY):
        found = next((p for p in mates if p.role is role and p.id != author.id), None)
        if found:
            return found
    parent = street.branches[author.branch_id].parent_id
    above = [p for p in street.people if p.role is Role.GENERAL_SECRETARY]
    return next((p for p in above if p.organisation_id == parent), staff[0] if staff else None)


async def hand_in(
    plans: list[Thought],
    street: Street,
    units: list[Unit],
    zone: ZoneInfo,
    rules: PointsRules,
    copy_threshold: float,
) -> tuple[int, list[Deed]]:
    """Each 心得 through `submit` on its day, in time order; a return takes effect at once (a
    revision is compared with its own original only once that was returned, as in chat), the
    rest of the review is written in one go at the end."""
    members = {m.id: m for m in await Member.filter(id__in=[p.author.id for p in plans])}
    events: list[tuple[datetime, int, Thought]] = []
    for plan in plans:
        events.append((plan_moment(plan, zone), 0, plan))
        if plan.reviewed_at is not None:
            events.append((plan.reviewed_at, 1, plan))
    deeds: list[Deed] = []
    for moment, step, plan in sorted(events, key=lambda e: (e[0], e[1], e[2].author.phone)):
        if step == 0:
            plan.submission = await submit(
                members[plan.author.id],
                plan.text,
                plan.day,
                units,
                copy_threshold=copy_threshold,
            )
            plan.submission.created_at = moment.astimezone(UTC)  # stored as the server does
            continue
        done = plan.submission
        assert done is not None
        reviewer = reviewer_for(plan.author, street)
        approved = plan.fate == "approve"
        done.status = SubmissionStatus.APPROVED if approved else SubmissionStatus.RETURNED
        done.reviewer_id = reviewer.id if reviewer else None
        done.reviewed_at = done.notified_at = moment.astimezone(UTC)
        if done.status is SubmissionStatus.RETURNED:
            done.return_reason = plan.reason
            await Submission.filter(id=done.id).update(status=done.status)
        else:
            deeds.append(
                Deed(
                    plan.author.id,
                    plan.author.counted_in,
                    moment,
                    PointsReason.SUBMISSION,
                    f"submission:{done.id}",
                    rules.submission,
                )
            )
    handed = [p.submission for p in plans if p.submission is not None]
    await Submission.bulk_update(
        handed,
        fields=[
            "status",
            "reviewer_id",
            "reviewed_at",
            "notified_at",
            "return_reason",
            "created_at",
        ],
        batch_size=500,
    )
    return len(plans), deeds
