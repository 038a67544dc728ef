"""The one place the HTTP layer translates errors: JSON with the field at fault, never a trace."""

from __future__ import annotations

import functools
import json
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from server.errors import DangjianError, RateLimited

log = logging.getLogger("dangjian.http")
# Chinese as itself, not \u escapes: a third of the bytes, and readable in a log or debugger.
readable_json = functools.partial(json.dumps, ensure_ascii=False)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        if not request.path.startswith("/api/"):
            raise
        # The API answers in JSON, naming what was wrong, like every other refusal.
        limit = request.client_max_size
        return web.json_response(
            {"error": f"请求体过大（最多 {limit} 字节）", "code": "TOO_LARGE", "field": "body"},
            status=413,
            dumps=readable_json,
        )
    except web.HTTPException:
        raise
    except DangjianError as exc:
        body: dict[str, object] = {"error": str(exc), "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        if exc.http_status >= 500:
            log.error("request failed: %s", exc, extra={"path": request.path})
        else:
            log.info(
                "request refused: %s", exc, extra={"path": request.path, "status": exc.http_status}
            )
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return web.json_response(body, status=exc.http_status, headers=headers, dumps=readable_json)
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return web.json_response({"error": "服务器内部错误", "code": "INTERNAL"}, status=500)
