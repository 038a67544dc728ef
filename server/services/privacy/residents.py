"""A resident's details taken out of the 四单制's records: their row, and their name, phone and
address wherever the need, its order and the messages about them repeat it.

The need, the order, their timeline and the outbox rows stay — 居民点单, 下单 and 完成 are
counted from them — with the resident's details replaced as the public 晒单 replaces them
(`community.public.scrub`: 居民, （住址略）, （电话略）, and anything shaped like a phone).  The
row is let go of the WeChat user, so a resident who comes back registers again.
"""

from __future__ import annotations

from tortoise.expressions import Q

from server.models.community import (
    CommunityMessage,
    MessageStatus,
    Need,
    OrderClaim,
    Resident,
    ServiceEvent,
    ServiceOrder,
)
from server.services.community.public import NAME_SHOWN, scrub

RESIDENT_GONE = "已删除居民"
GONE_OPENID = "erased:"  # + the row's id: unique, and never a WeChat user's
# Rows whose send is over: their text is no longer needed to send anything.
FINISHED = (MessageStatus.SENT, MessageStatus.UNREACHABLE, MessageStatus.UNCERTAIN)
ERASED_ERROR = "个人信息已删除"


def forgotten(resident: Resident) -> bool:
    return resident.openid.startswith(GONE_OPENID)


async def silence_messages(appid: str, openid: str) -> int:
    """Messages to this WeChat user: the text gone; one still waiting is not sent."""
    mine = CommunityMessage.filter(appid=appid, openid=openid)
    waiting = await mine.filter(status=MessageStatus.PENDING).update(
        status=MessageStatus.UNREACHABLE, error=ERASED_ERROR
    )
    emptied = await CommunityMessage.filter(appid=appid, openid=openid).update(
        text="", title=None, note=None, openid=""
    )
    return max(waiting, emptied)


async def forget_resident(resident: Resident) -> int:
    """Take the resident's details out (call inside a transaction); the rows changed."""
    if forgotten(resident):
        return 0
    changed = 0
    needs = await Need.filter(resident_id=resident.id)
    need_ids = [n.id for n in needs]
    for need in needs:
        await Need.filter(id=need.id).update(
            text=scrub(need.text, resident), reason=scrub(need.reason, resident), media_id=None
        )
        changed += 1
    orders = await ServiceOrder.filter(need_id__in=need_ids)
    order_ids = [o.id for o in orders]
    for order in orders:
        await ServiceOrder.filter(id=order.id).update(
            title=scrub(order.title, resident),
            place=scrub(order.place, resident),
            rating_note=scrub(order.rating_note, resident),
        )
        changed += 1
    for claim in await OrderClaim.filter(order_id__in=order_ids).exclude(note=""):
        await OrderClaim.filter(id=claim.id).update(note=scrub(claim.note, resident))
        changed += 1
    said_by_them = f"居民 {resident.name}"
    for event in await ServiceEvent.filter(Q(need_id__in=need_ids) | Q(order_id__in=order_ids)):
        actor = NAME_SHOWN if event.actor == said_by_them else scrub(event.actor, resident)
        await ServiceEvent.filter(id=event.id).update(actor=actor, note=scrub(event.note, resident))
        changed += 1
    about = [f"need:{n}:" for n in need_ids] + [f"order:{o}:" for o in order_ids]
    for prefix in about:
        for row in await CommunityMessage.filter(key__startswith=prefix).exclude(text=""):
            await CommunityMessage.filter(id=row.id).update(
                text=scrub(row.text, resident),
                note=scrub(row.note, resident) if row.note else row.note,
            )
            changed += 1
    changed += await silence_messages(resident.appid, resident.openid)
    await Resident.filter(id=resident.id).update(
        name=RESIDENT_GONE,
        phone="",
        place="",
        appid="",
        openid=f"{GONE_OPENID}{resident.id}",
    )
    return changed + 1
