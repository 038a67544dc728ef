"""The public 晒单 page: readable without signing in, on a phone, and with nothing of the
resident in it though the database holds their name, phone, address and words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from server.admin.showcase_page import PREFIX, setup_showcase
from server.app import create_app
from server.clock import FrozenClock
from tests.community_world import RESIDENT, served, street

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def with_showcase(app: web.Application) -> web.Application:
    """The page, whether or not the app factory mounts it yet."""
    if not any(r.canonical == PREFIX for r in app.router.resources()):
        setup_showcase(app)
    return app


async def page_client(aiohttp_client: Any, make_settings: Any) -> TestClient:
    settings = make_settings(scheduler=False)
    return await aiohttp_client(with_showcase(create_app(settings, clock=FrozenClock(NOW))))


async def test_the_showcase_shows_the_service_and_nothing_of_the_resident(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await page_client(aiohttp_client, make_settings)
    s = await street(NOW)
    # The member's own words name the resident, her phone and her flat: none of it is shown.
    note = f"已为{RESIDENT[0]}（{RESIDENT[2]}）换好楼道灯，有事打{RESIDENT[1]}"
    await served(s, NOW, note=note)
    resp = await client.get(f"/community/{s.hongxing.id}/showcase")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    html = await resp.text()
    for shown in ("红星社区", "楼道灯维修", "维修", "王五（本街道）", "换好楼道灯", "1.5", "★★★★★"):
        assert shown in html, shown
    assert "2026年11月26日完成" in html
    for private in (*RESIDENT, "幸福小区", "三单元五楼", "很及时"):
        assert private not in html, private  # the order's place and the need's words, too
    assert not re.search(r"1\d{10}", html)
    assert "<script" not in html and 'name="viewport"' in html
    assert "script-src" not in resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "public, max-age=60"
    # Its stylesheet is served without signing in.
    css = await client.get("/admin/static/showcase.css")
    assert css.status == 200 and "max-width" in await css.text()


async def test_each_community_shows_its_own_and_the_index_lists_them(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await page_client(aiohttp_client, make_settings)
    s = await street(NOW)
    await served(s, NOW)
    other = await (await client.get(f"/community/{s.qingshan.id}/showcase")).text()
    assert "青山社区" in other and "楼道灯维修" not in other
    assert "还没有完成的服务" in other
    index = await client.get("/community/")
    assert index.status == 200
    text = await index.text()
    assert f'href="/community/{s.hongxing.id}/showcase"' in text and "青山社区" in text


async def test_an_unknown_community_is_a_page_saying_so(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await page_client(aiohttp_client, make_settings)
    for path in ("/community/999999/showcase", "/community/abc/showcase", "/community/0/showcase"):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert resp.content_type == "text/html"
        assert "没有这个社区" in await resp.text()
        assert resp.headers["Cache-Control"] == "no-store"
