"""The sign-in screen in a real browser: headless Chromium on a room's screen and on a phone.

The secretary sends 签到码 N, opens the link, presses 打开签到屏幕; the page shows the code and
a QR code that a barcode reader decodes from the screenshot itself; when the code turns over
the page fetches the new one by itself, and the count follows a member signing in.  The page
asks nothing of any host but ours, and breaks no rule of its Content-Security-Policy.
"""

from __future__ import annotations

import io
import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import zxingcpp
from PIL import Image

from server.app import create_app
from server.clock import FrozenClock
from server.models.meetings import Meeting
from server.wechat.fake_state import FakeWeChat
from tests.test_admin_e2e import ARGS, CHROMIUM, _browser_or_skip, _free_port
from tests.test_attendance_chat import STARTS
from tests.test_meetings_chat import MEMBER, NOW, SECRETARY, branch_with_people, say
from tests.wechat_peer import WeChatPeer

# Where the screenshots are kept for a person to look at (DANGJIAN_SCREENSHOTS), if set.
KEEP = os.environ.get("DANGJIAN_SCREENSHOTS")


def scanned(png: bytes) -> list[str]:
    """What a phone's scanner reads off a screenshot."""
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


async def test_the_screen_in_a_browser_refreshes_itself_and_its_qr_scans(
    aiohttp_server: Any,
    aiohttp_client: Any,
    make_settings: Any,
    fake_wechat: tuple[FakeWeChat, str],
    tmp_path: Path,
) -> None:
    _browser_or_skip()
    from playwright.async_api import async_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(identity_ttl=0, public_url=base, wechat_oauth_base=fake_wechat[1])
    clock = FrozenClock(NOW)
    server = await aiohttp_server(create_app(settings, clock=clock), port=port)
    client = await aiohttp_client(server)
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    await branch_with_people()
    await say(client, peer, SECRETARY, "安排 党员大会 明天下午3点 学习二十大精神 地点 党群服务中心")
    await say(client, peer, SECRETARY, "确认")
    meeting = await Meeting.get()
    clock.set(STARTS - timedelta(minutes=10))
    reply = await say(client, peer, SECRETARY, f"签到码 {meeting.id}")
    link = reply[reply.index(base) :].split()[0]

    requests: list[str] = []
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="zh-CN"
            )
            context.set_default_timeout(20_000)
            page = await context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            await page.goto(link)
            async with page.expect_navigation():
                await page.click("#open")
            assert urlsplit(page.url).path == f"/admin/meetings/{meeting.id}/screen"
            first = (await page.text_content("#code") or "").strip()
            assert first.isdigit() and len(first) == 6
            assert await page.text_content("#present") == "0"
            assert await page.text_content("#expected") == "5"
            shot = await page.screenshot(path=str(tmp_path / "screen-desktop.png"))
            expected_url = f"{base}/admin/meetings/{meeting.id}/signin?c="
            assert scanned(shot) == [expected_url + first]

            # The code turns over: the page fetches the new one by itself.
            clock.advance(seconds=settings.signin_rotation)
            await page.wait_for_function(
                "(old) => document.querySelector('#code').textContent.trim() !== old", arg=first
            )
            second = (await page.text_content("#code") or "").strip()
            assert second != first
            await page.wait_for_function(
                "(c) => document.querySelector('#code-again').textContent === c", arg=second
            )
            # A member signs in in chat; the count follows.
            assert "签到成功" in await say(client, peer, MEMBER, f"签到 {second}")
            await page.wait_for_function(
                "() => document.querySelector('#present').textContent === '1'"
            )

            # On a phone held up to the room: everything fits, and the QR still scans.
            await page.set_viewport_size({"width": 390, "height": 844})
            assert await page.evaluate(
                "() => document.documentElement.scrollWidth <= window.innerWidth"
            )
            phone = await page.screenshot(path=str(tmp_path / "screen-phone.png"), full_page=True)
            assert scanned(phone) == [expected_url + second]
        finally:
            await browser.close()

    if KEEP:
        Path(KEEP).mkdir(parents=True, exist_ok=True)
        for name in ("screen-desktop.png", "screen-phone.png"):
            shutil.copy(tmp_path / name, Path(KEEP) / name)
    hosts = {urlsplit(url).netloc for url in requests if url.startswith(("http:", "https:"))}
    assert hosts == {f"127.0.0.1:{port}"}, hosts
    assert any(url.endswith("/admin/static/screen.js") for url in requests)
    assert any("/screen/now" in url for url in requests)
    assert problems == []
