"""Finding an organisation: a district has hundreds, so the picker searches.

`/admin/orgs?q=` is a page of the matching organisations in the caller's scope (down to
branches), each a link to its page for the same period: it works without JavaScript.  With
JavaScript, the box on every page asks `/admin/orgs.json?q=` as one types and lists the same
links under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server.admin.pages import render
from server.admin.selection import page_context, pickable, selection
from server.admin.signing import signed_in
from server.errors import ValidationFailed
from server.models.people import ORG_KIND_LABELS
from server.services.people.access import scope_of
from server.typedefs import SETTINGS

SHOWN = 30
Q_MAX = 50


@dataclass(frozen=True)
class Found:
    id: int
    name: str
    within: str  # where it is: 示范街道党工委 › 红星村党总支
    kind: str
    href: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "within": self.within,
            "kind": self.kind,
            "href": self.href,
        }


def words(request: web.Request) -> str:
    q = request.query.get("q", "").strip()
    if len(q) > Q_MAX:
        raise ValidationFailed(f"搜索内容最多{Q_MAX}个字。", field="q")
    return q


async def search(request: web.Request) -> dict[str, Any]:
    """The page's context: the matches, how many there are, and the usual page frame."""
    member = await signed_in(request)
    scope = await scope_of(member)
    q = words(request)
    # The period (and the organisation shown now) come along so a pick keeps the period.
    sel = await selection(request, scope)
    query = pickable(scope)
    if q:
        query = query.filter(name__icontains=q)
    found = [
        Found(
            o.id,
            o.name,
            " › ".join(o.path.split("/")[:-1]),
            ORG_KIND_LABELS.get(o.kind, ""),
            sel.page_of(o.id),
        )
        for o in await query.order_by("id").limit(SHOWN)
    ]
    return {
        **await page_context(member, scope, sel, request.config_dict[SETTINGS].zone),
        "title": "查找组织",
        "q": q,
        "found": found,
        "total": await query.count(),
        "shown": SHOWN,
    }


async def results_page(request: web.Request) -> web.Response:
    return render(request, "picker.html", await search(request))


async def results_json(request: web.Request) -> web.Response:
    context = await search(request)
    items = [f.as_dict() for f in context["found"]]
    return web.json_response({"items": items, "total": context["total"]})
