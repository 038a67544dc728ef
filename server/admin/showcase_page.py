"""组织晒单 as a page anyone can open: `/community/{id}/showcase`, and `/community/` to pick.

Residents and members open it from a link or a QR code in WeChat, so it is one column at
phone width, with no script and nothing from elsewhere.  What it shows is `public_showcase`:
the service the community's reported members did, by whom, never the resident's name, phone
or address.  A sub-application of its own, so that a refusal is a page, not the API's JSON,
and so that its headers (cacheable for a minute, a Content-Security-Policy with no scripts at
all) are not the dashboard's.

Mounted by `setup_showcase(app)` in the app factory, after the dashboard (its stylesheet is
served from the dashboard's /admin/static).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from server.errors import DangjianError, NotFound
from server.models.community import Community
from server.services.community import public
from server.typedefs import SETTINGS

log = logging.getLogger("dangjian.showcase")
HERE = Path(__file__).parent
PREFIX = "/community"
TEMPLATES = web.AppKey("showcase_templates", jinja2.Environment)
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_LARGEST_ID = 2_147_483_647


@web.middleware
async def page_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
        response.headers.setdefault("Cache-Control", "public, max-age=60")
    except web.HTTPException:
        raise
    except DangjianError as exc:
        log.info("showcase refused: %s", exc, extra={"path": request.path})
        response = _message(request, "无法显示", exc.user_message, exc.http_status)
    except Exception:
        log.exception("showcase page failed", extra={"path": request.path})
        response = _message(request, "出错了", "页面暂时无法显示，请稍后再试。", 500)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _render(request: web.Request, context: dict[str, object], status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template(
        "showcase.html", request, context, status=status, app_key=TEMPLATES
    )


def _message(request: web.Request, title: str, text: str, status: int) -> web.Response:
    return _render(request, {"page": "message", "title": title, "text": text}, status)


def _day(moment: datetime, request: web.Request) -> str:
    local = moment.astimezone(request.config_dict[SETTINGS].zone)
    return f"{local.year}年{local.month}月{local.day}日"


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}"


async def showcase_page(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= _LARGEST_ID:
        raise NotFound("没有这个社区。")
    community = await public.public_community(int(raw))
    shown = await public.public_showcase(community)
    total = await public.totals(community)
    items = [
        {
            "day": _day(s.completed_at, request),
            "kind": s.kind,
            "title": s.title,
            "done": [(who, note) for who, note in zip(s.by, s.done, strict=True)],
            "hours": _hours(s.hours),
            "rating": s.rating,
        }
        for s in shown
    ]
    context: dict[str, object] = {
        "page": "showcase",
        "title": f"{community.name} · 组织晒单",
        "community": community.name,
        "summary": {
            "orders": total.orders,
            "hours": _hours(total.hours),
            "members": total.members,
            "average": total.average_rating,
        },
        "items": items,
    }
    return _render(request, context)


async def index_page(request: web.Request) -> web.Response:
    communities = await Community.all().order_by("name")
    context: dict[str, object] = {
        "page": "index",
        "title": "组织晒单",
        "communities": [{"id": c.id, "name": c.name} for c in communities],
    }
    return _render(request, context)


def create_showcase_app() -> web.Application:
    app = web.Application(middlewares=[page_errors])
    aiohttp_jinja2.setup(
        app,
        app_key=TEMPLATES,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(("html",), default=True),
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_get("/", index_page)
    app.router.add_get("/{id}/showcase", showcase_page)
    return app


def setup_showcase(app: web.Application) -> None:
    app.add_subapp(PREFIX, create_showcase_app())
