"""A 报到单位's contact proving who they are: the unit's 报到码 and the contact phone the
committee registered for it.

The 报到码 is public (printed on the unit's notice to its members), so the phone is the secret.
Guessing is limited the way binding is (`people.binding`): every try is counted in the shared
cache before anything is looked up, per WeChat user an hour and per unit a day; past either,
nobody is told anything more until the window ends.  A refusal never says which part was wrong.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from tortoise.exceptions import IntegrityError

from server.cache import Cache
from server.errors import Conflict, RateLimited, ValidationFailed
from server.models.community import ReportUnit, UnitContact
from server.models.people import mask_openid
from server.services.community.units import normalise_code

log = logging.getLogger("dangjian.community")

TRIES_PER_USER = 5  # an hour
TRIES_PER_UNIT = 10  # failed, a day, from any number of WeChat users
USER_WINDOW = 3600
UNIT_WINDOW = 86400
_ARGS = re.compile(
    r"(?P<code>[A-Za-z0-9][A-Za-z0-9\s-]{3,12}?)\s*(?P<phone>(?:\+?86)?1[\d\s-]{10,14})"
)

USAGE = (
    "报到单位的联络人请发送：单位联络 报到码 手机号，例如：单位联络 K7M4Q9 13900000000"
    "（手机号是单位登记时留给街道党工委的联系人手机号）。"
)
REFUSED = (
    "报到码或手机号与登记的不一致，未能登记为单位联络人。"
    "请核对后再试，或请街道党工委核对单位登记的联系人手机号。"
)
TOO_MANY = "尝试次数过多，请一小时后再试，或联系街道党工委。"
LOCKED = "这个单位的联络人登记暂时停止，请明天再试，或联系街道党工委。"


def parse(args: str) -> tuple[str, str] | None:
    """`K7M4Q9 13900000000` → (K7M4Q9, 13900000000); None when it is not that shape."""
    found = _ARGS.fullmatch(args.strip())
    if found is None:
        return None
    code = normalise_code(found.group("code"))
    phone = re.sub(r"[\s-]", "", found.group("phone")).removeprefix("+86").removeprefix("86")
    if code is None or not re.fullmatch(r"1\d{10}", phone):
        return None
    return code, phone


async def contact_of(appid: str, openid: str) -> UnitContact | None:
    return await UnitContact.get_or_none(appid=appid, openid=openid).prefetch_related("unit")


async def bind_contact(
    cache: Cache, appid: str, openid: str, code: str, phone: str, now: datetime
) -> tuple[UnitContact, bool]:
    """This WeChat user as the contact of the unit `code` names, if `phone` is its contact
    phone; True when newly bound.  Refused (ValidationFailed, nothing written) otherwise."""
    tries = await cache.incr(f"unit-contact-tries:{appid}:{openid}", USER_WINDOW)
    if tries > TRIES_PER_USER:
        raise RateLimited(TOO_MANY, retry_after=USER_WINDOW)
    unit = await ReportUnit.get_or_none(code=code)
    if unit is not None:
        failed = await cache.get(f"unit-contact-failures:{unit.id}")
        if failed is not None and int(failed) >= TRIES_PER_UNIT:
            raise RateLimited(LOCKED, retry_after=UNIT_WINDOW)
    if unit is None or not unit.contact_phone or unit.contact_phone != phone:
        if unit is not None:
            await cache.incr(f"unit-contact-failures:{unit.id}", UNIT_WINDOW)
        log.info("unit contact refused", extra={"openid": mask_openid(openid)})
        raise ValidationFailed(REFUSED, field="phone")
    current = await contact_of(appid, openid)
    if current is not None:
        if current.unit_id == unit.id:
            await cache.delete(f"unit-contact-tries:{appid}:{openid}")
            return current, False
        raise Conflict(
            f"您的微信已是「{current.unit.name}」的联络人，一个微信只能作一个单位的联络人。"
            "如需更换，请联系街道党工委。"
        )
    try:
        contact = await UnitContact.create(
            unit=unit, name=unit.contact_name, appid=appid, openid=openid, bound_at=now
        )
    except IntegrityError:  # the same user's message twice at once
        found = await contact_of(appid, openid)
        if found is None:
            raise
        contact = found
    await cache.delete(f"unit-contact-tries:{appid}:{openid}")
    contact.unit = unit
    return contact, True
