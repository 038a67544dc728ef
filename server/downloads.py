"""A file for the browser to save: the one place its headers are written.

`filename` is ASCII for old clients; `filename*` carries the Chinese name (RFC 6266 / 5987).
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def attachment(body: bytes, content_type: str, ascii_name: str, readable_name: str) -> web.Response:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(readable_name)}"
    return web.Response(
        body=body, headers={"Content-Type": content_type, "Content-Disposition": disposition}
    )
