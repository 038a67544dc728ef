"""The staff dashboard under /admin: server-rendered pages, signed in by a one-time chat link.

A sub-application, so that its errors are pages rather than the API's JSON: the one place the
dashboard translates `DangjianError` is `page_errors` below.  Every page is sent with a strict
Content-Security-Policy (scripts and styles only from /admin/static; Chart.js is served from
there, never from a CDN) and is never cached.
"""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from server.admin import five_star_actions, screen, views
from server.errors import DangjianError
from server.inputs import refuse_nul
from server.typedefs import ADMIN_TEMPLATES

log = logging.getLogger("dangjian.admin")
HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


@web.middleware
async def page_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        refuse_nul(dict(request.query), "query")
        if request.method == "POST" and request.content_type in FORMS:
            refuse_nul(dict(await request.post()), "form")  # read once; the handler reuses it
        response = await handler(request)
    except web.HTTPException:
        raise
    except DangjianError as exc:
        log.info("dashboard refused: %s", exc, extra={"path": request.path})
        response = views.message_page(
            request, "无法显示", exc.user_message, status=exc.http_status, field=exc.field
        )
    except Exception:
        log.exception("dashboard page failed", extra={"path": request.path})
        response = views.message_page(
            request, "出错了", "页面暂时无法显示，请稍后再试。", status=500
        )
    if not request.path.startswith("/admin/static/"):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Cache-Control", "no-store")
        # same-origin: the login link's token never leaves in a Referer, and our own forms
        # still carry an Origin (with no-referrer, Chromium sends "Origin: null").
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def create_admin_app() -> web.Application:
    admin = web.Application(middlewares=[page_errors])
    aiohttp_jinja2.setup(
        admin,
        app_key=ADMIN_TEMPLATES,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(("html",), default=True),
        undefined=jinja2.StrictUndefined,
    )
    admin.router.add_static("/static", HERE / "static", name="static")
    views.add_routes(admin)
    screen.add_routes(admin)  # a meeting's sign-in screen, and signing in from its QR code
    five_star_actions.add_routes(admin)  # 五星支部
    return admin


def setup_admin(app: web.Application) -> None:
    app.add_subapp("/admin", create_admin_app())
