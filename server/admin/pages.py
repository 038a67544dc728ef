"""How a dashboard page is sent: one renderer, and the one page for a refusal or a failure."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from server.typedefs import ADMIN_TEMPLATES

# What each query value is called on the page: staff never read `from` or `org`.
FIELD_NAMES = {
    "org": "组织",
    "from": "开始日期",
    "to": "结束日期",
    "by": "分组方式",
    "format": "导出格式",
    "year": "年度",
    "q": "搜索内容",
    "quarter": "季度",
}


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, context, status=status, app_key=ADMIN_TEMPLATES
    )


def message_page(
    request: web.Request, title: str, text: str, *, status: int, field: str | None = None
) -> web.Response:
    """A refusal or a failure, in Chinese; a wrong value is named in words (开始日期, not from)."""
    context = {
        "title": title,
        "text": text,
        "field": field,
        "field_name": FIELD_NAMES.get(field) if field is not None else None,
    }
    return render(request, "message.html", context, status=status)
