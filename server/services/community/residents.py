"""Residents: registered once from WeChat with a name, a phone and where they live; they post
needs (点单) and rate the service.  Their phone is shown only to members who claimed their
order and to the community."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.errors import Conflict, NotFound, ValidationFailed
from server.models.community import Community, Need, NeedStatus, Resident
from server.services.community import notify, timeline
from server.services.community.units import check_name, check_phone

NEED_LONGEST = 500
SAME_NEED_WITHIN = timedelta(minutes=30)
PLACE_LONGEST = 100


async def resident_for(appid: str, openid: str) -> Resident | None:
    return await Resident.get_or_none(appid=appid, openid=openid)


async def register(
    appid: str,
    openid: str,
    *,
    name: str,
    phone: str,
    community: Community,
    place: str,
    now: datetime,
) -> Resident:
    """Register, or correct one's own details (the same WeChat user updates the same row)."""
    name = check_name(name)
    phone = check_phone(phone)
    place = place.strip()
    if not place:
        raise ValidationFailed("请写上所在小区或楼栋，方便社区上门。", field="place")
    if len(place) > PLACE_LONGEST:
        raise ValidationFailed(f"住址请写在{PLACE_LONGEST}字以内。", field="place")
    fields = {"name": name, "phone": phone, "community_id": community.id, "place": place}
    try:
        resident, created = await Resident.get_or_create(
            appid=appid, openid=openid, defaults={**fields, "created_at": now}
        )
    except IntegrityError:  # the same user registering twice at once: the other one won
        resident, created = await Resident.get(appid=appid, openid=openid), False
    if not created:
        await Resident.filter(id=resident.id).update(**fields)
        resident = await Resident.get(id=resident.id)
    return resident


async def post_need(
    resident: Resident,
    text: str,
    now: datetime,
    *,
    media_id: str | None = None,
    tidings: notify.Tidings | None = None,
) -> Need:
    """点单; with `tidings`, the community's secretaries are told (in the same transaction)."""
    text = text.strip()
    if len(text) < 4:
        raise ValidationFailed(
            "请把需要帮助的事写清楚一些，例如：楼道灯坏了，三单元五楼。", field="text"
        )
    if len(text) > NEED_LONGEST:
        raise ValidationFailed(f"请写在{NEED_LONGEST}字以内。", field="text")
    # The same words again within minutes are the same need sent twice (a double tap, a
    # resend after no answer): the one already posted, so 居民点单 counts it once.
    again = await Need.filter(
        resident_id=resident.id, text=text, created_at__gte=now - SAME_NEED_WITHIN
    ).first()
    if again is not None:
        return again
    async with in_transaction() as conn:
        need = await Need.create(
            resident_id=resident.id,
            community_id=resident.community_id,
            text=text,
            media_id=media_id,
            created_at=now,
            using_db=conn,
        )
        await timeline.record(
            now, f"居民 {resident.name}", "点单", need_id=need.id, note=text[:100], using_db=conn
        )
        if tidings is not None:
            await notify.need_posted(tidings, need, resident, now, conn)
    if tidings is not None:
        tidings.wake()
    return need


async def attach_photo(resident: Resident, need_id: int, media_id: str) -> Need:
    need = await Need.get_or_none(id=need_id, resident_id=resident.id)
    if need is None:
        raise NotFound("没有找到这条需求。", field="need")
    if need.media_id:
        raise Conflict("这条需求已经有照片了。")
    need.media_id = media_id[:128]
    await need.save(update_fields=["media_id"])
    return need


async def own_needs(resident: Resident, limit: int = 10) -> list[Need]:
    return (
        await Need.filter(resident_id=resident.id)
        .prefetch_related("order")
        .order_by("-created_at", "-id")
        .limit(limit)
    )


async def own_need(resident: Resident, need_id: int) -> Need:
    """One of the resident's own needs; another resident's is 'not found', never shown."""
    need = await Need.get_or_none(id=need_id, resident_id=resident.id)
    if need is None:
        raise NotFound("没有找到这条需求。", field="need")
    return need


__all__ = ["NeedStatus"]
