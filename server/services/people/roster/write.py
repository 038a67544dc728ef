"""Writing a plan: new organisations, then new members, then the members whose fields changed
(and the bindings of an ended 流入 the roll took over).

`bulk_create` / `bulk_update` in batches, touching only members whose fields really changed, so a
re-import leaves `updated_at` alone.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from server.models.people import Member, Organisation
from server.services.people.orgs import ensure_group, ensure_path
from server.services.people.roster.batches import BATCH, PHONE_CHUNK, chunks
from server.services.people.roster.guards import unbind_taken_over
from server.services.people.roster.plan import UpsertPlan
from server.services.people.roster.progress import progress_bar
from server.services.people.roster.records import MemberRecord


async def apply_upsert(
    plan: UpsertPlan, *, using_db: BaseDBAsyncClient | None = None, progress: bool = False
) -> None:
    """Write a plan without errors: new organisations, then new members, then changed ones."""
    if plan.errors:
        raise ValueError("refusing to apply a plan with errors")
    ids: dict[tuple[str, str | None], tuple[int, int | None]] = {}

    async def resolve(record: MemberRecord) -> tuple[int, int | None]:
        key = (record.org_path, record.group)
        if key not in ids:
            org = await ensure_path(record.org_path, using_db=using_db, cache=plan.cache)
            group: Organisation | None = None
            if record.group:
                group = await ensure_group(org, record.group, using_db=using_db, cache=plan.cache)
            ids[key] = (org.id, group.id if group else None)
        return ids[key]

    total = len(plan.creates) + len(plan.updates)
    with progress_bar(total, "写入 writing", enabled=progress) as bar:
        new: list[Member] = []
        for record in plan.creates:
            org_id, group_id = await resolve(record)
            new.append(
                Member(
                    name=record.name,
                    phone=record.phone,
                    organisation_id=org_id,
                    group_id=group_id,
                    gender=record.gender,
                    birth_date=record.birth_date,
                    education=record.education,
                    joined_on=record.joined_on,
                    role=record.role,
                    status=record.status,
                    is_mobile=record.is_mobile,
                    probationary=record.probationary,
                )
            )
        for batch in chunks(new, BATCH):
            await Member.bulk_create(batch, using_db=using_db)
            bar.update(len(batch))

        fields: set[str] = set()
        changed_members: list[Member] = []
        # Full instances only for the members that change (bulk_update needs them).
        by_id: dict[int, Member] = {}
        for chunk in chunks([member_id for member_id, _, _ in plan.updates], PHONE_CHUNK):
            by_id.update({m.id: m for m in await Member.filter(id__in=chunk).using_db(using_db)})
        for member_id, record, changed in plan.updates:
            member = by_id[member_id]
            org_id, group_id = await resolve(record)
            for name in changed:
                if name == "organisation":
                    member.organisation_id = org_id
                    fields.add("organisation_id")
                elif name == "group":
                    member.group_id = group_id
                    fields.add("group_id")
                else:
                    setattr(member, name, getattr(record, name))
                    fields.add(name)
            changed_members.append(member)
        if changed_members:
            # bulk_update bypasses save(); naming updated_at makes its auto_now stamp apply.
            fields.add("updated_at")
            for batch in chunks(changed_members, BATCH):
                await Member.bulk_update(batch, fields=sorted(fields), using_db=using_db)
                bar.update(len(batch))
    # An ended 流入 taken over: the WeChat that reported is not the roll's member (guards.py).
    await unbind_taken_over([member_id for member_id, _ in plan.incoming_taken], using_db)
