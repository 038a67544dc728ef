"""The community's side of a need: the list to review, and a refusal the resident is told."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from server.errors import Conflict, ValidationFailed
from server.models.community import Community, Need, NeedStatus
from server.models.people import Member
from server.services.community import notify, timeline
from server.services.community.roles import community_run_by
from server.services.people.access import Hidden


async def needs_of(community: Community, status: NeedStatus | None = NeedStatus.NEW) -> list[Need]:
    query = Need.filter(community=community)
    if status is not None:
        query = query.filter(status=status)
    return await query.prefetch_related("resident").order_by("created_at", "id")


async def need_for_manager(manager: Member, need_id: int) -> Need:
    """A need of a community `manager` runs; any other is 'not found' (Hidden)."""
    need = await Need.get_or_none(id=need_id)
    if need is None:
        raise Hidden()  # as for another community's: an id tells a stranger nothing
    await community_run_by(manager, need.community_id)
    await need.fetch_related("resident")
    return need


async def refuse(
    manager: Member,
    need_id: int,
    reason: str,
    now: datetime,
    *,
    tidings: notify.Tidings | None = None,
) -> Need:
    """不受理; with `tidings`, the resident is told (in the same transaction)."""
    need = await need_for_manager(manager, need_id)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("请写上不受理的原因，会告知居民。", field="reason")
    if len(reason) > 200:
        raise ValidationFailed("原因请写在200字以内。", field="reason")
    async with in_transaction() as conn:
        changed = (
            await Need.filter(id=need.id, status=NeedStatus.NEW)
            .using_db(conn)
            .update(
                status=NeedStatus.REFUSED, reason=reason, decided_at=now, decided_by_id=manager.id
            )
        )
        if not changed:
            raise Conflict("这条需求已经处理过了。", code="NEED_DECIDED")
        await timeline.record(
            now, f"社区 {manager.name}", "不受理", need_id=need.id, note=reason, using_db=conn
        )
        if tidings is not None:
            need.reason = reason
            await notify.need_refused(tidings, need, need.resident, now, conn)
    if tidings is not None:
        tidings.wake()
    return await Need.get(id=need.id).prefetch_related("resident")
