"""Declaring an API endpoint once: its route, its input models, who may call it, its docs.

Each feature module has a `Routes` and decorates plain async functions that take a `Call`.
The same declarations register the aiohttp routes and write the OpenAPI document, so the
document cannot drift from the routes.  Input is parsed by pydantic models; the first problem
becomes a 400 naming the field (`ValidationFailed`), translated by the one error middleware.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tortoise.queryset import QuerySet

from server.days import FIRST_DAY, LAST_DAY
from server.deps import Deps
from server.errors import NotFound, ValidationFailed
from server.inputs import refuse_nul
from server.models.people import Member
from server.services.people.access import Scope
from server.sessions import Session
from server.typedefs import DEPS

PREFIX = "/api/v1"
M = TypeVar("M", bound=BaseModel)


class Auth(StrEnum):
    PUBLIC = "public"  # no token
    SESSION = "session"  # a valid token, bound or not (bind, me)
    MEMBER = "member"  # a token of a bound, active member


# A database id in a query or body: positive and within a 32-bit integer column.
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]
# A date in a query or body: within the days anyone may ask about (see server/days.py).
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]


class Input(BaseModel):
    """Request bodies and query strings: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PageQuery(Input):
    page: int = Field(1, ge=1, le=10_000, description="从 1 开始的页码")
    per_page: int = Field(20, ge=1, le=100, description="每页条数，最多 100")


@dataclass
class Call(Generic[M]):
    """What an endpoint function receives."""

    request: web.Request
    session: Session | None
    body: Any = None
    query: Any = None
    scope: Scope | None = None

    @property
    def app(self) -> web.Application:
        return self.request.app

    @property
    def member(self) -> Member:
        assert self.session is not None and self.session.member is not None
        return self.session.member

    @property
    def deps(self) -> Deps:
        """What the services are called with: the same object chat's handlers are given."""
        return self.app[DEPS]

    @property
    def zone(self) -> tzinfo:
        """The deployment's time zone: every time the API gives is in it (+08:00)."""
        return self.deps.settings.zone

    def number(self, name: str = "id") -> int:
        """A path parameter that must be a positive id."""
        raw = self.request.match_info.get(name, "")
        if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= 2_147_483_647:
            raise ValidationFailed(f"{name} 应为正整数", field=name)
        return int(raw)


Handler = Callable[[Call[Any]], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str  # under PREFIX, with {name} parameters
    handler: Handler
    summary: str
    tag: str
    auth: Auth
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    description: str = ""
    produces: str = "application/json"
    response: type[BaseModel] | None = None  # what a 200 answers (server/api/replies.py)
    # Path parameters that are names, not ids (every other one is a positive integer).
    text_params: tuple[str, ...] = field(default=())


class Routes:
    """One feature's endpoints."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def _add(self, method: str, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=path,
                    handler=fn,
                    summary=kw.pop("summary"),
                    tag=kw.pop("tag", self.tag),
                    auth=kw.pop("auth", Auth.MEMBER),
                    description=(fn.__doc__ or "").strip(),
                    **kw,
                )
            )
            return fn

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("DELETE", path, **kw)


# pydantic's error types, as a page may show them: Chinese, without the field's name (the answer
# names the field apart, in `field`).
_MESSAGES: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不支持这个字段",
    "string_too_short": "至少 {min_length} 个字",
    "string_too_long": "最多 {max_length} 个字",
    "string_pattern_mismatch": "格式不对",
    "string_type": "应为文字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "应小于 {lt}",
    "date_parsing": "应为日期，如 2026-12-07",
    "date_from_datetime_parsing": "应为日期，如 2026-12-07",
    "date_from_datetime_inexact": "应为日期，如 2026-12-07",
    "date_type": "应为日期，如 2026-12-07",
    "datetime_parsing": "应为时间，如 2026-12-07T15:00:00+08:00",
    "datetime_from_date_parsing": "应为时间，如 2026-12-07T15:00:00+08:00",
    "datetime_type": "应为时间，如 2026-12-07T15:00:00+08:00",
    "literal_error": "只能是 {expected}",
    "enum": "只能是 {expected}",
    "list_type": "应为数组",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
}


def _field_of(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    template = _MESSAGES.get(first["type"])
    if template is None:
        return where, "格式不对"
    ctx = dict(first.get("ctx") or {})
    if "expected" in ctx:  # "'present' or 'leave'" -> present、leave
        ctx["expected"] = re.sub(
            r"'|\s+or\s+|,\s*", lambda m: "、" if m.group(0) != "'" else "", str(ctx["expected"])
        )
    try:
        return where, template.format(**ctx)
    except (KeyError, IndexError):
        return where, template.split("{")[0].strip() or "格式不对"


def parse(model: type[M], data: Any) -> M:
    refuse_nul(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        name, message = _field_of(exc)
        raise ValidationFailed(message, field=name) from None


async def read_body(request: web.Request, model: type[M]) -> M:
    if request.content_type != "application/json":
        raise ValidationFailed("请求体应为 JSON（Content-Type: application/json）", field="body")
    try:
        data = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("请求体不是合法的 JSON", field="body") from None
    except RecursionError:
        # JSON nested deeper than the parser's recursion limit (~1,000): no form of ours is.
        raise ValidationFailed("请求体嵌套过深", field="body") from None
    if not isinstance(data, dict):
        raise ValidationFailed("请求体应为 JSON 对象", field="body")
    return parse(model, data)


def read_query(request: web.Request, model: type[M]) -> M:
    repeated = [key for key in request.query if len(request.query.getall(key)) > 1]
    if repeated:
        raise ValidationFailed(f"{repeated[0]}: 只能出现一次", field=repeated[0])
    return parse(model, dict(request.query))


async def page_of(
    query: QuerySet[Any], paging: PageQuery, render: Callable[[Any], Any]
) -> dict[str, Any]:
    """One page of a list, with the total: {"items", "page", "per_page", "total"}."""
    total = await query.count()
    rows = await query.offset((paging.page - 1) * paging.per_page).limit(paging.per_page)
    return {
        "items": [render(row) for row in rows],
        "page": paging.page,
        "per_page": paging.per_page,
        "total": total,
    }


def iso(moment: datetime | None, zone: tzinfo) -> str | None:
    """A moment as the API gives it: ISO 8601 in the deployment's zone, with its offset."""
    return moment.astimezone(zone).isoformat() if moment else None


def not_found(what: str = "对象") -> NotFound:
    return NotFound(f"{what}不存在")
