"""The mini-program's REST API under /api/v1: one wrapper authenticates and parses every call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from server.api import (
    attending,
    auth,
    branch,
    community,
    docs,
    dues,
    member,
    membership,
    mobility,
    mobility_incoming,
    mobility_lost,
    mobility_own,
    residents,
    review,
    roster,
    roster_file,
    staff,
    study,
    unit_card,
    volunteering,
    writing,
)
from server.api.spec import PREFIX, Auth, Call, Endpoint, read_body, read_query
from server.errors import PermissionDenied, Unauthorized
from server.http_errors import readable_json
from server.models.people import MemberStatus
from server.services.people.access import scope_of
from server.sessions import Session, SessionStore, resolve
from server.typedefs import API_SESSIONS, CACHE, CLOCK, IDENTITIES, SETTINGS

MODULES = (
    auth,
    member,
    study,
    dues,
    writing,
    attending,
    branch,
    review,
    roster,
    roster_file,
    membership,
    staff,
    community,
    volunteering,
    residents,
    unit_card,
    mobility,
    mobility_lost,
    mobility_incoming,
    mobility_own,
    docs,
)


def endpoints() -> list[Endpoint]:
    return [endpoint for module in MODULES for endpoint in module.routes.endpoints]


async def sessions_ctx(app: web.Application) -> AsyncIterator[None]:
    app[API_SESSIONS] = SessionStore(app[CACHE], app[CLOCK], app[SETTINGS].api_session_ttl)
    yield


async def _session(request: web.Request) -> Session:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("缺少登录凭证（Authorization: Bearer <token>）", field="Authorization")
    session = await resolve(request.app[API_SESSIONS], request.app[IDENTITIES], token.strip())
    if session is None:
        raise Unauthorized("登录已过期或凭证无效，请重新登录", field="Authorization")
    return session


def _wrap(endpoint: Endpoint) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        session = None
        scope = None
        if endpoint.auth is not Auth.PUBLIC:
            session = await _session(request)
            if endpoint.auth is Auth.MEMBER:
                if session.member is None:
                    raise PermissionDenied("请先绑定党员身份（POST /api/v1/auth/bind）")
                if session.member.status != MemberStatus.ACTIVE:
                    raise PermissionDenied(
                        "您的党籍已停止，无法使用这个功能；请与原支部联系"
                        if session.member.status == MemberStatus.STOPPED
                        else "您的组织关系已转出，无法使用这个功能"
                    )
                scope = await scope_of(session.member)
        call: Call[Any] = Call(request, session, scope=scope)
        if endpoint.query is not None:
            call.query = read_query(request, endpoint.query)
        if endpoint.body is not None:
            call.body = await read_body(request, endpoint.body)
        result = await endpoint.handler(call)
        if isinstance(result, web.StreamResponse):
            return result
        if endpoint.response is not None and call.deps.settings.api_check_replies:
            try:
                endpoint.response.model_validate(result)
            except ValidationError as exc:
                # The document promised another shape: a defect of ours, not the caller's.
                raise RuntimeError(
                    f"{endpoint.method} {endpoint.path} answered off its model: {exc}"
                ) from None
        return web.json_response(result, dumps=readable_json)

    handle.__name__ = endpoint.handler.__name__
    return handle


def setup_api(app: web.Application) -> None:
    app.cleanup_ctx.append(sessions_ctx)
    for endpoint in endpoints():
        app.router.add_route(endpoint.method, PREFIX + endpoint.path, _wrap(endpoint))
    unit_card.setup_links(app)  # the 联系卡's download link, opened in a browser
