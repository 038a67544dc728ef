"""Operations endpoints: health for load balancers, metrics for Prometheus."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server.db import ping_database
from server.metrics import CONTENT_TYPE_LATEST
from server.typedefs import CACHE, METRICS


async def _probe(check: object) -> str:
    try:
        await asyncio.wait_for(check, 2)  # type: ignore[arg-type]
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


async def healthz(request: web.Request) -> web.Response:
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
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
