"""What the 社区服务 page's forms share: who may use them, the form token, reading the fields.

Every form carries the same-origin check the other dashboard forms have (`same_origin`) and,
besides, a token derived from the session cookie: a page from elsewhere can neither read the
HttpOnly cookie nor the token, so a form it makes up (or one with no token, from a browser that
sends no Origin) changes nothing.  Nothing is stored for it; signing out retires it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from server.admin import links
from server.admin.signing import same_origin
from server.errors import PermissionDenied, ValidationFailed
from server.models.community import Community
from server.models.people import Member, Role
from server.services.community import roles
from server.services.people.access import Hidden
from server.typedefs import SETTINGS

TOKEN = "form_token"
FURTHEST = timedelta(days=366)  # as the API: an order within a year
NOT_YOURS = "只有社区党组织书记和党工委工作人员可以管理双报到。"
STAFF_ONLY = "报到单位由街道党工委工作人员登记。"
# The form fields in words, for the line that says what to check.
FIELDS = {
    "c": "社区",
    "id": "编号",
    "starts_at": "服务时间",
    "kind": "服务类别",
    "title": "公开的服务内容",
    "place": "地点",
    "hours": "预计时长",
    "capacity": "需要人数",
    "unit_id": "限定报到单位",
    "reason": "原因",
    "grid": "网格",
    "name": "单位名称",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "communities": "结对社区",
    "community_id": "社区",
    "file": "文件",
}


def form_token(request: web.Request) -> str:
    """The token this session's forms carry."""
    session = request.cookies.get(links.COOKIE, "")
    key = request.config_dict[SETTINGS].secret.encode()
    return hmac.new(key, b"admin-form:" + session.encode(), hashlib.sha256).hexdigest()[:32]


def check_form(request: web.Request, form: Any, page: str = "社区服务") -> None:
    """A form from our own page of this session, or a refusal that changes nothing; `page`
    names the page to reload (every dashboard form posts through here)."""
    same_origin(request)
    sent = form.get(TOKEN)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, form_token(request)):
        raise PermissionDenied(f"页面已过期或来源不正确，请刷新{page}页面后重试。")


async def managed(member: Member) -> list[Community]:
    """The communities `member` runs; everyone else is refused before anything is read."""
    mine = await roles.managed_by(member)
    if not mine:
        raise PermissionDenied(NOT_YOURS)
    return mine


def is_staff(member: Member) -> bool:
    return member.role in (Role.STAFF, Role.ADMIN)


def number(text: object, field: str) -> int:
    raw = text.strip() if isinstance(text, str) else ""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise ValidationFailed("请从列表中选择。", field=field)
    return int(raw)


def one_of(mine: list[Community], raw: object) -> Community:
    """The community named by id: another's is refused as an unknown one."""
    wanted = number(raw, "c")
    for community in mine:
        if community.id == wanted:
            return community
    raise Hidden()


def text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def local_time(raw: str, zone: ZoneInfo, now: datetime) -> datetime:
    """A datetime-local value (2026-11-26T09:00), read in DANGJIAN_TZ, within a year."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("请选择服务的日期和时间。", field="starts_at") from None
    if moment.tzinfo is not None or moment.year < 2000:
        raise ValidationFailed("请选择服务的日期和时间。", field="starts_at")
    moment = moment.replace(tzinfo=zone)
    if moment - now > FURTHEST:  # and 9999-12-31 would overflow the end's arithmetic
        raise ValidationFailed("只能安排一年以内的服务。", field="starts_at")
    return moment


def capacity(raw: str) -> int:
    if not raw:
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3:
        raise ValidationFailed("人数应为1到50之间的整数。", field="capacity")
    return int(raw)
