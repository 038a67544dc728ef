"""Operations endpoints: health for load balancers, metrics for Prometheus.

Anyone may ask whether the process is alive (`/healthz` answers a bare "ok").  The details —
the database and cache states, the cache backend, and every metric — are for operators: they
need `Authorization: Bearer DANGJIAN_METRICS_TOKEN`, and stay closed when none is configured.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable

from aiohttp import web

from server.db import ping_database
from server.errors import Unauthorized
from server.metrics import CONTENT_TYPE_LATEST
from server.typedefs import CACHE, METRICS, SETTINGS


async def _probe(check: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(check, 2)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _operator(request: web.Request) -> bool:
    """True with the right token; no header at all is False; a wrong one is a 401."""
    sent = request.headers.get("Authorization")
    if sent is None:
        return False
    expected = request.app[SETTINGS].metrics_token
    scheme, _, token = sent.partition(" ")
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.strip().encode(), expected.encode())
    ):
        raise Unauthorized("metrics token missing or wrong")
    return True


async def healthz(request: web.Request) -> web.Response:
    if not _operator(request):
        return web.Response(text="ok")  # liveness: the process answers
    cache = request.app[CACHE]
    database, cache_state = await asyncio.gather(_probe(ping_database()), _probe(cache.ping()))
    healthy = database == "ok" and cache_state == "ok"
    body = {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "cache": cache_state,
        "cache_backend": cache.backend,
    }
    return web.json_response(body, status=200 if healthy else 503)


async def metrics(request: web.Request) -> web.Response:
    if not _operator(request):
        raise Unauthorized("metrics token missing or wrong")
    body = await request.app[METRICS].collect()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
