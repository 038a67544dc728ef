"""Comparing records with the database: what an upsert would create, change or refuse.

Organisations are preloaded into a cache and existing members fetched by phone in a few chunked
queries, so the cost does not grow with one query per row.  Only the columns present in the file
are compared: a roll without 职务 does not demote every secretary to 党员, and one without 状态
does not re-activate transferred members.  A 流入 member's phone is refused and a stopped 党籍
kept (guards.py).  Which rows get a 流出 record, which keep one the roll says 否 to, and whose
record a 转出 ends, is planned here too (`mobile.plan_mobile`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from tortoise.backends.base.client import BaseDBAsyncClient

from server.errors import ValidationFailed
from server.models.people import Member, MemberStatus, OrgKind, Role
from server.services.people.orgs import (
    SEPARATOR,
    OrgCache,
    group_path,
    load_org_cache,
    missing_levels,
)
from server.services.people.roster.batches import PHONE_CHUNK, chunks
from server.services.people.roster.columns import LABELS
from server.services.people.roster.guards import incoming_refusal, keep_stopped, takes_over
from server.services.people.roster.mobile import plan_mobile
from server.services.people.roster.records import MemberRecord
from server.services.people.roster.report import RowError


@dataclass
class UpsertPlan:
    cache: OrgCache  # every organisation by path; `apply_upsert` adds the new ones
    new_org_paths: list[str] = field(default_factory=list)  # parents first, groups included
    creates: list[MemberRecord] = field(default_factory=list)
    # member id, record, changed fields
    updates: list[tuple[int, MemberRecord, frozenset[str]]] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    # 流动党员 (roster/mobile.py): rows that get a 流出 record, and rows saying 否 to one open;
    # members 转出 whose open record ends (member id, record).
    mobile_out: list[MemberRecord] = field(default_factory=list)
    mobile_kept: list[MemberRecord] = field(default_factory=list)
    mobile_ended: list[tuple[int, MemberRecord]] = field(default_factory=list)
    # guards.py: rows saying 在册 for a stopped 党籍 (kept stopped); ended 流入 taken over.
    stopped_kept: list[MemberRecord] = field(default_factory=list)
    incoming_taken: list[tuple[int, MemberRecord]] = field(default_factory=list)


async def plan_upsert(
    records: Sequence[MemberRecord],
    *,
    columns: Collection[str],
    labels: Mapping[str, str] | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> UpsertPlan:
    """What writing `records` would do.  Reads only; call inside the writing transaction."""
    labels = labels or LABELS
    cache = await load_org_cache(using_db=using_db)
    path_by_id = {org.id: path for path, org in cache.items()}
    committees = _main_committee(records, cache)
    existing = await _members_by_phone([r.phone for r in records], using_db)
    new_orgs: dict[str, None] = {}  # an ordered set: parents are always met before children
    checked: dict[tuple[str, str | None], tuple[str, str] | None] = {}
    plan = UpsertPlan(cache)
    for record in records:
        key = (record.org_path, record.group)
        if key not in checked:
            checked[key] = _check_orgs(record, cache, committees, new_orgs)
        problem = checked[key]
        if problem is not None:
            plan.errors.append(RowError(record.line, labels[problem[0]], problem[1]))
            continue
        member = existing.get(record.phone)
        if member is None:
            plan.creates.append(record)
            continue
        refusal = incoming_refusal(member, cache[path_by_id[member.organisation_id]].name)
        if refusal is not None:
            plan.errors.append(RowError(record.line, labels["phone"], refusal))
            continue
        if "status" not in columns:
            record.status = member.status  # the roll says nothing of it: as stored
        if keep_stopped(member, record):
            plan.stopped_kept.append(record)
        changed = _changes(member, record, columns, path_by_id)
        if takes_over(member):
            changed |= {"incoming"}
            plan.incoming_taken.append((member.id, record))
        if changed:
            plan.updates.append((member.id, record, changed))
        else:
            plan.unchanged += 1
    plan.new_org_paths = list(new_orgs)
    await plan_mobile(plan, records, existing, labels, using_db)
    return plan


class _Stored(NamedTuple):
    """The compared fields of a stored member: building 10,000 full model instances (with their
    timestamps parsed) would cost more than the whole comparison."""

    id: int
    phone: str
    name: str
    organisation_id: int
    group_id: int | None
    gender: str | None
    birth_date: date | None
    education: str | None
    joined_on: date | None
    role: Role
    status: MemberStatus
    is_mobile: bool
    probationary: bool
    incoming: bool


async def _members_by_phone(
    phones: Sequence[str], using_db: BaseDBAsyncClient | None
) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    for chunk in chunks(phones, PHONE_CHUNK):
        query = Member.filter(phone__in=chunk).using_db(using_db)
        for values in await query.values_list(*_Stored._fields):
            stored = _Stored(*values)
            found[stored.phone] = stored
    return found


def _main_committee(records: Sequence[MemberRecord], cache: OrgCache) -> set[str]:
    """The committees rows may name: those in the database, or on an empty one the file's own.

    A street has one committee; a typo in the first segment must not start a second tree.  On an
    empty database the committee most rows name wins, so one mistyped row is the one reported.
    """
    existing = {path for path, org in cache.items() if org.kind is OrgKind.COMMITTEE}
    if existing or not records:
        return existing
    counts: dict[str, int] = {}
    for record in records:
        committee = record.org_path.split(SEPARATOR, 1)[0]
        counts[committee] = counts.get(committee, 0) + 1
    return {max(counts, key=lambda name: counts[name])}


def _check_orgs(
    record: MemberRecord, cache: OrgCache, committees: set[str], new_orgs: dict[str, None]
) -> tuple[str, str] | None:
    """(column key, reason) when the row's organisations clash with the tree; else None."""
    committee = record.org_path.split(SEPARATOR, 1)[0]
    if committee not in committees:
        known = "、".join(sorted(committees))
        return (
            "organisation",
            f"党工委“{committee}”不存在（现有：{known}） / unknown committee, the tree has {known}",
        )
    try:
        for path, _kind in missing_levels(record.org_path, cache):
            new_orgs.setdefault(path)
    except ValidationFailed as exc:
        return "organisation", exc.user_message
    if record.group:
        path = group_path(record.org_path, record.group)
        org = cache.get(path)
        if org is None:
            new_orgs.setdefault(path)
        elif org.kind is not OrgKind.GROUP:
            return "group", f"“{path}”已存在且不是党小组 / “{path}” exists and is not a group"
    return None


_PLAIN_FIELDS = (
    "gender", "birth_date", "education", "joined_on", "role", "status", "is_mobile", "probationary"
)  # fmt: skip


def _changes(
    member: _Stored, record: MemberRecord, columns: Collection[str], path_by_id: dict[int, str]
) -> frozenset[str]:
    changed: set[str] = set()
    if member.name != record.name:
        changed.add("name")
    if path_by_id.get(member.organisation_id) != record.org_path:
        changed.add("organisation")
    current_group = path_by_id.get(member.group_id) if member.group_id else None
    if "group" not in columns:
        # No 党小组 column: keep the stored group while it still belongs to the member's branch
        # (recorded on the record so that `apply_upsert` writes the same thing).
        prefix = record.org_path + SEPARATOR
        kept = current_group is not None and current_group.startswith(prefix)
        record.group = current_group.removeprefix(prefix) if kept and current_group else None
    wanted_group = group_path(record.org_path, record.group) if record.group else None
    if current_group != wanted_group:
        changed.add("group")
    for name in _PLAIN_FIELDS:
        if name in columns and getattr(member, name) != getattr(record, name):
            changed.add(name)
    return frozenset(changed)
