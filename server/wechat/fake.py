"""A faithful fake of the WeChat API endpoints we call, as an aiohttp app.

Run it standalone or mount it under a prefix (`app.add_subapp("/fake-wechat", ...)`) and point
`WeChatClient(base_url=...)` at it.  The rules live in `fake_state.FakeWeChat`; this module is
the HTTP face: WeChat's API paths plus a `/_fake/*` control API for the test harness and the
terminal chat, which act as WeChat's users.

WeChat API (every answer is HTTP 200 with JSON `{"errcode": N, "errmsg": "..."}`, as WeChat):
    POST /cgi-bin/stable_token            GET /cgi-bin/token
    POST /cgi-bin/message/custom/send     POST /cgi-bin/message/subscribe/send
    POST /cgi-bin/message/template/send   GET  /sns/jscode2session
    GET  /sns/oauth2/access_token         (网页授权: a code for the user's openid)
    GET  /cgi-bin/user/info               (a follower; unionid when given to /_fake/followers)
    POST /wxa/business/getuserphonenumber (getPhoneNumber's code -> phone_info; single-use,
                                           5 minutes: 40029 otherwise)
    GET  /cgi-bin/template/get_all_private_template  {"template_list": [{template_id, title,
                                           primary_industry, deputy_industry, content, example}]}
    GET  /wxaapi/newtmpl/gettemplate      {"data": [{priTmplId, title, content, example, type}]}
                                          (both list the templates given to /_fake/templates,
                                           every field as {{name.DATA}} in `content`)
  Web authorisation's page (not an API): GET /connect/oauth2/authorize redirects WeChat's
  browser back with a code; the browsing user is named by the header X-Fake-WeChat-User
  (without it: WeChat's page for a browser outside WeChat).  See fake_oauth.py.
  Token APIs take `?access_token=`: missing 41001, unknown or invalidated 40001, expired 42001.
  A body that is not a JSON object: 47001; an empty body: 44002.

Control API (JSON bodies; bad input -> HTTP 400 with errcode 47001):
    POST /_fake/interact      {"openid", "kind": "message" | "event"}
    POST /_fake/grants        {"openid", "template_id", "count": 1}
    POST /_fake/followers     {"openid", "unionid"?}   (unionid: what user/info then gives)
    POST /_fake/templates     {"template_id", "fields": [...]?}
    POST /_fake/codes         {"code", "openid", "unionid"?}
    POST /_fake/phone-codes   {"code", "phone"}   (the user verified `phone` in getPhoneNumber)
    POST /_fake/fail          {"path", "errcode"?, "status"?, "delay"?, "times": 1, "after": 0}
        The next `times` calls to `path` (an API path above, without any mount prefix;
        `times: null` = every call until reset) wait `delay` real seconds (real, because it
        exercises the client's real timeout; a caller that hangs up meanwhile does not stop
        the send, as with WeChat), then answer HTTP `status` with a plain-text
        body if given (recorded as errcode -1), else WeChat's JSON error `errcode` (e.g. -1
        system busy, 45009 daily quota, 48001 unauthorised), else answer normally.  With
        `after: N` the first N calls go through untouched (the second send of a fan-out hangs).
    POST /_fake/flaky         {"path", "errcode": -1, "every": 100}
        Every `every`-th call to `path` fails with `errcode` (a steady 1% with 100);
        `every: 0` stops it.
    POST /_fake/expire-tokens every token expires now (42001 from then on)
    POST /_fake/reset         forget all state, including the call log (seq restarts at 1)
    GET  /_fake/calls?since=N[&path=P]
        {"calls": [...], "next": M}: the calls with seq > N (seq starts at 1), optionally only
        those to P; M is the highest seq recorded so far, to pass as `since` next time.  Each
        call: seq, method, path, query (no access_token; secret shown as ***), body (the JSON
        sent, null if none or unreadable), errcode, status (HTTP), at (ISO 8601).
    GET  /_fake/messages?openid=O   {"messages": [...]} delivered to O (custom, subscribe,
        template), each: kind, openid, body, at, msgid.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiohttp import web

from server.wechat.fake_state import (
    CallRecord,
    Failure,
    FakeWeChat,
    Reply,
    SentMessage,
    error,
    ok,
)

__all__ = ["FAKE_WECHAT", "CallRecord", "FakeWeChat", "SentMessage", "create_fake_app"]

FAKE_WECHAT = web.AppKey("fake_wechat", FakeWeChat)

Handler = Callable[[FakeWeChat, dict[str, str], Any], Reply]
_json = partial(web.json_response, dumps=partial(json.dumps, ensure_ascii=False))


class _BadInput(Exception):
    pass


async def _read_json(request: web.Request) -> tuple[Any, Reply | None]:
    raw = await request.read()
    if not raw.strip():
        return None, error(44002)
    try:
        body = json.loads(raw)
    except ValueError:
        return None, error(47001)
    if not isinstance(body, dict):
        return body, error(47001)
    return body, None


def _api(path: str, handle: Handler, *, token: bool) -> Callable[[web.Request], Awaitable[Any]]:
    async def view(request: web.Request) -> web.StreamResponse:
        # WeChat carries on with a request whose caller hung up (a client timeout): the
        # message is delivered all the same, so a resend would be a second copy.
        return await asyncio.shield(answer(request))

    async def answer(request: web.Request) -> web.StreamResponse:
        fake = request.app[FAKE_WECHAT]
        query = dict(request.query)
        body, bad = (None, None) if request.method == "GET" else await _read_json(request)
        failure = fake.take_failure(path)
        if failure is not None and failure.delay:
            await asyncio.sleep(failure.delay)
        if failure is not None and failure.status is not None:
            fake.record(request.method, path, query, body, error(-1), failure.status)
            return web.Response(status=failure.status, text="fake WeChat: injected failure")
        reply = _answer(fake, failure, handle, query, body, bad, token)
        fake.record(request.method, path, query, body, reply, 200)
        # WeChat labels jscode2session answers text/plain; clients must cope.
        if path == "/sns/jscode2session":
            return web.Response(text=json.dumps(reply, ensure_ascii=False))
        return _json(reply)

    return view


def _answer(
    fake: FakeWeChat,
    failure: Failure | None,
    handle: Handler,
    query: dict[str, str],
    body: Any,
    bad: Reply | None,
    token: bool,
) -> Reply:
    if failure is not None and failure.errcode is not None:
        return error(failure.errcode)
    if token:
        refused = fake.check_token(query.get("access_token"))
        if refused:
            return refused
    return bad or handle(fake, query, body)


# --- the control API -------------------------------------------------------------------------


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise _BadInput(f"{key} must be a non-empty string")
    return value


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    return None if body.get(key) is None else _str(body, key)


def _number(body: dict[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise _BadInput(f"{key} must be a number")
    return None if value is None else kind(value)


def _control(act: Callable[[FakeWeChat, dict[str, Any]], Any]) -> Any:
    async def view(request: web.Request) -> web.Response:
        fake = request.app[FAKE_WECHAT]
        body: Any = {}
        if request.can_read_body:
            body, bad = await _read_json(request)
            if bad and bad["errcode"] != 44002:
                return _json(error(47001, "(control body must be a JSON object)"), status=400)
            body = body or {}
        try:
            result = act(fake, body)
        except (_BadInput, ValueError) as exc:
            return _json(error(47001, f"({exc})"), status=400)
        return _json(result if isinstance(result, dict) else ok())

    return view


def _fail(fake: FakeWeChat, b: dict[str, Any]) -> None:
    times = b.get("times", 1)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise _BadInput("times must be a positive integer or null")
    fake.fail_next(
        _str(b, "path"),
        errcode=_number(b, "errcode", int),
        times=times,
        status=_number(b, "status", int),
        delay=_number(b, "delay", float),
        after=_number(b, "after", int) or 0,
    )


def _grant(fake: FakeWeChat, b: dict[str, Any]) -> None:
    count = _number(b, "count", int)
    fake.grant(_str(b, "openid"), _str(b, "template_id"), 1 if count is None else count)


def _templates(fake: FakeWeChat, b: dict[str, Any]) -> None:
    fields = b.get("fields")
    if fields is not None and not (
        isinstance(fields, list) and all(isinstance(f, str) for f in fields)
    ):
        raise _BadInput("fields must be a list of strings")
    fake.add_template(_str(b, "template_id"), fields)


async def _calls(request: web.Request) -> web.Response:
    fake = request.app[FAKE_WECHAT]
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        return _json(error(47001, "(since must be an integer)"), status=400)
    path = request.query.get("path")
    calls = [c for c in fake.calls_since(since) if path is None or c.path == path]
    last = fake.calls[-1].seq if fake.calls else 0
    return _json({"calls": [c.to_json() for c in calls], "next": last})


async def _messages(request: web.Request) -> web.Response:
    fake = request.app[FAKE_WECHAT]
    openid = request.query.get("openid", "")
    return _json({"messages": [m.to_json() for m in fake.messages_to(openid)]})


USER_HEADER = "X-Fake-WeChat-User"


async def _authorize(request: web.Request) -> web.Response:
    """WeChat's authorize page, as its in-app browser meets it."""
    fake = request.app[FAKE_WECHAT]
    query = dict(request.query)
    page = fake.handle_authorize(query, request.headers.get(USER_HEADER))
    reply = ok() if page.status == 302 else error(-1, page.text)
    fake.record("GET", "/connect/oauth2/authorize", query, None, reply, page.status)
    if page.location is not None:
        return web.Response(status=302, headers={"Location": page.location})
    return web.Response(status=page.status, text=page.text, content_type="text/html")


def create_fake_app(fake: FakeWeChat) -> web.Application:
    app = web.Application()
    app[FAKE_WECHAT] = fake
    # Routes are relative, so the app works standalone and mounted under any prefix.
    apis: list[tuple[str, str, Handler, bool]] = [
        ("POST", "/cgi-bin/stable_token", lambda f, q, b: f.handle_stable_token(b), False),
        ("GET", "/cgi-bin/token", lambda f, q, b: f.handle_token(q), False),
        ("POST", "/cgi-bin/message/custom/send", lambda f, q, b: f.handle_custom_send(b), True),
        (
            "POST",
            "/cgi-bin/message/subscribe/send",
            lambda f, q, b: f.handle_subscribe_send(b),
            True,
        ),
        ("POST", "/cgi-bin/message/template/send", lambda f, q, b: f.handle_template_send(b), True),
        ("GET", "/sns/jscode2session", lambda f, q, b: f.handle_code2session(q), False),
        ("GET", "/cgi-bin/user/info", lambda f, q, b: f.handle_user_info(q), True),
        ("GET", "/sns/oauth2/access_token", lambda f, q, b: f.handle_oauth_token(q), False),
        (
            "POST",
            "/wxa/business/getuserphonenumber",
            lambda f, q, b: f.handle_phone_number(q, b),
            True,
        ),
        (
            "GET",
            "/cgi-bin/template/get_all_private_template",
            lambda f, q, b: f.handle_template_list(),
            True,
        ),
        (
            "GET",
            "/wxaapi/newtmpl/gettemplate",
            lambda f, q, b: f.handle_subscribe_template_list(),
            True,
        ),
    ]
    for method, path, handle, token in apis:
        app.router.add_route(method, path, _api(path, handle, token=token))
    controls: dict[str, Callable[[FakeWeChat, dict[str, Any]], Any]] = {
        "interact": lambda f, b: f.interact(_str(b, "openid"), b.get("kind", "message")),
        "grants": _grant,
        "followers": lambda f, b: f.follow(_str(b, "openid"), _optional_str(b, "unionid")),
        "templates": _templates,
        "codes": lambda f, b: f.add_code(
            _str(b, "code"), _str(b, "openid"), _optional_str(b, "unionid")
        ),
        "phone-codes": lambda f, b: f.add_phone_code(_str(b, "code"), _str(b, "phone")),
        "fail": _fail,
        "flaky": lambda f, b: f.flaky(
            _str(b, "path"), int(b.get("errcode", -1)), int(b.get("every", 100))
        ),
        "expire-tokens": lambda f, b: f.expire_tokens(),
        "reset": lambda f, b: f.reset(),
    }
    for name, act in controls.items():
        app.router.add_post(f"/_fake/{name}", _control(act))
    app.router.add_get("/connect/oauth2/authorize", _authorize)
    app.router.add_get("/_fake/calls", _calls)
    app.router.add_get("/_fake/messages", _messages)
    return app
