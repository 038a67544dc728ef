"""Every step of a need and an order, written in the same transaction as the step itself."""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from server.models.community import ServiceEvent


async def record(
    at: datetime,
    actor: str,
    action: str,
    *,
    need_id: int | None = None,
    order_id: int | None = None,
    note: str = "",
    using_db: BaseDBAsyncClient | None = None,
) -> None:
    await ServiceEvent.create(
        at=at,
        actor=actor[:60],
        action=action,
        need_id=need_id,
        order_id=order_id,
        note=note[:300],
        using_db=using_db,
    )


async def timeline(need_id: int | None, order_id: int | None) -> list[ServiceEvent]:
    """The need's steps, then its order's, oldest first."""
    events: dict[int, ServiceEvent] = {}
    if need_id is not None:
        events |= {e.id: e for e in await ServiceEvent.filter(need_id=need_id)}
    if order_id is not None:
        events |= {e.id: e for e in await ServiceEvent.filter(order_id=order_id)}
    return sorted(events.values(), key=lambda e: (e.at, e.id))
