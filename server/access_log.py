"""One line per request: method, the route (its pattern, never the path itself), status and how
long it took — what an operator reads to see what is slow or failing.

The route's pattern (`/api/v1/mobility/members/{id}`), not the path: paths carry one-time
tokens (sign-in links, signed downloads), and the query string carries WeChat's signatures and
openids.  The caller's address as our own proxy saw it (`client`: nginx's X-Forwarded-For,
believed only from DANGJIAN_TRUSTED_PROXIES).  Logged by `dangjian.access` at INFO, as JSON like
every other line (server/logs.py).
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from server.client_address import client_address

log = logging.getLogger("dangjian.access")


def route_of(request: web.Request) -> str:
    """The matched route's pattern, or "-" for a path no route matched (a 404)."""
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    canonical = getattr(resource, "canonical", None)
    return str(canonical) if canonical else "-"


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": route_of(request),
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "client": client_address(request),
            },
        )
