"""A 报到单位's contact in chat: 单位联络 报到码 手机号 to be known as the unit's contact, then
联系卡 (this quarter so far) or 联系卡 上季度, each with a week-long link to the XLSX.

A contact is no member of the street: they are the WeChat user who proved the unit's contact
phone.  They read their own unit's card and no other — the commands take no unit at all.
"""

from __future__ import annotations

from server.cache import Cache
from server.clock import Clock
from server.dispatch import PrivateReply, Router
from server.dispatch.filters import Command
from server.services.community import card_links, unit_contacts
from server.services.community.contact_card import Quarter, quarter_card, summary
from server.settings import Settings
from server.wechat.replies import MAX_TEXT_BYTES, fit

router = Router("unit_contacts")

BIND = Command("单位联络", "单位联络人", "单位联系人")
CARD = Command("联系卡", "单位联系卡")
THIS_QUARTER = {"", "本季度", "这季度", "本季"}
LAST_QUARTER = {"上季度", "上一季度", "上个季度", "上季"}
CARD_USAGE = "发送 联系卡 查看本季度到目前的情况，联系卡 上季度 查看上一季度。"
NOT_A_CONTACT = "您还不是报到单位的联络人。" + unit_contacts.USAGE
LINK_ROOM = 400  # bytes kept for the link line under the summary


@router.message(BIND)
async def bind(args: str, appid: str, openid: str, cache: Cache, clock: Clock) -> str:
    parsed = unit_contacts.parse(args)
    if parsed is None:
        return unit_contacts.USAGE
    contact, new = await unit_contacts.bind_contact(cache, appid, openid, *parsed, clock.now())
    unit = contact.unit
    if not new:
        return f"您已是「{unit.name}」的联络人。{CARD_USAGE}"
    return (
        f"已登记为「{unit.name}」的联络人。每季度第一天上午，您会收到本单位在职党员上一季度"
        f"到社区报到服务的联系卡（供单位民主评议参考）。{CARD_USAGE}"
    )


@router.message(CARD)
async def card(
    args: str, appid: str, openid: str, cache: Cache, clock: Clock, settings: Settings
) -> str:
    contact = await unit_contacts.contact_of(appid, openid)
    if contact is None:
        return NOT_A_CONTACT
    now = clock.now()
    current = Quarter.of(now, settings.zone)
    if args in THIS_QUARTER:
        quarter = current
    elif args in LAST_QUARTER:
        quarter = current.previous
    else:
        return CARD_USAGE  # never another unit's: the card is always the sender's own unit's
    found = await quarter_card(contact.unit, quarter, now, settings)
    link = await card_links.issue(cache, settings.base_url, contact.unit_id, quarter, now)
    text = fit(summary(found), MAX_TEXT_BYTES - LINK_ROOM)
    # The link opens the unit's record: kept for WeChat's retries only, not with the replies.
    return PrivateReply(f"{text}\n下载联系卡（XLSX，7天内有效）：{link.url}")
