"""星级党员台账 in a real browser at a phone's width (390 px), headless Chromium.

李书记 sends 后台 in chat, opens the link on her phone and reads her branch's ledger: the
figures (党员, 已评定, 免评, 待评定), each member's evidence and suggestion, nothing wider than
the screen.  She opens 李明's form, picks ★★★ without a reason: the page comes back naming 理由
and nothing changed; with a reason it is saved and the figures follow.  She exempts 赵大爷 and
reads 王芳's records.  Screenshots go to tmp_path and to $DANGJIAN_SHOTS when set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from server.app import create_app
from server.channels import Channel
from server.clock import FrozenClock
from server.models.member_stars import MemberStar, StarStatus
from server.models.people import WeChatIdentity
from tests.conftest import APPID
from tests.test_admin_e2e import ARGS, CHROMIUM, _browser_or_skip, _fits, _free_port, _shoot
from tests.test_member_stars import NOW, build
from tests.wechat_peer import WeChatPeer, openid_for

SECRETARY = openid_for("li-shuji-phone")


async def test_the_secretary_keeps_the_ledger_on_her_phone(
    aiohttp_server: Any, aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> None:
    _browser_or_skip()
    from playwright.async_api import async_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(identity_ttl=0, public_url=base)
    clock = FrozenClock(NOW)
    server = await aiohttp_server(create_app(settings, clock=clock), port=port)
    client = await aiohttp_client(server)
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    b = await build()
    await WeChatIdentity.create(
        appid=APPID, openid=SECRETARY, channel=Channel.OFFICIAL_ACCOUNT, member=b.secretary
    )
    reply = (await peer.say(client, SECRETARY, "后台")).text or ""
    link = reply[reply.index(base) :].split()[0]

    shots = tmp_path / "shots"
    shots.mkdir()
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True
            )
            context.set_default_timeout(15_000)
            page = await context.new_page()
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            await page.goto(link)
            async with page.expect_navigation():
                await page.click("text=进入后台")
            await page.goto(f"{base}/admin/stars")
            assert await page.text_content("#org-name") == "星级党员台账 · 第一社区第一党支部"
            figures = await page.eval_on_selector_all(
                "#stars-figures .chip", "cs => cs.map(c => c.textContent.trim())"
            )
            assert figures == ["党员 4", "已评定 0", "免评 0", "待评定 4"]
            names = await page.eval_on_selector_all(
                "#ledger li.item > p.line:first-child > b", "bs => bs.map(b => b.textContent)"
            )
            assert names[:4] == ["王芳", "李书记", "李明", "赵大爷"]
            wang = page.locator(f"#m-{b.wang.id}")
            assert "组织生活：应到 4，出席 3，请假 1，缺席 0" in (await wang.inner_text())
            assert "建议：★★★★（四星）" in (await wang.inner_text())
            await _fits(page)
            await _shoot(page, shots, "stars-390")

            # 李明: ★★★ without a reason is refused, naming 理由; nothing changes.
            li = f"#m-{b.li.id}"
            await page.click(f"{li} summary")
            await page.select_option(f"{li} select[name=star]", "3")
            async with page.expect_navigation():
                await page.click(f"{li} button.go")
            assert "理由" in (await page.text_content("#error") or "")
            assert (await MemberStar.get(member_id=b.li.id, year=2026)).status == StarStatus.PENDING
            await _fits(page)
            await _shoot(page, shots, "stars-refused-390")
            # The form came back open with what was sent.
            assert await page.input_value(f"{li} select[name=star]") == "3"
            await page.fill(f"{li} input[name=reason]", "年内照顾重病家属，其余时间积极参加服务")
            async with page.expect_navigation():
                await page.click(f"{li} button.go")
            assert "李明 2026年度 已评定 ★★★" in (await page.text_content("#done") or "")

            zhao = f"#m-{b.zhao.id}"
            await page.click(f"{zhao} summary")
            await page.select_option(f"{zhao} select[name=star]", "exempt")
            await page.fill(f"{zhao} input[name=reason]", "年老体弱，长期卧床")
            async with page.expect_navigation():
                await page.click(f"{zhao} button.go")
            figures = await page.eval_on_selector_all(
                "#stars-figures .chip", "cs => cs.map(c => c.textContent.trim())"
            )
            assert figures == ["党员 4", "已评定 1", "免评 1", "待评定 2"]
            assert await page.is_visible("#confirm-button")
            await _fits(page)
            await _shoot(page, shots, "stars-decided-390")

            await page.goto(f"{base}/admin/stars/members/{b.wang.id}?year=2026")
            assert await page.text_content("#meeting-count") == "4"
            await _fits(page)
            await _shoot(page, shots, "stars-member-390")
        finally:
            await browser.close()
    assert not problems, problems
    wanted = os.environ.get("DANGJIAN_SHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, Path(wanted) / png.name)
    assert len(list(shots.glob("*.png"))) == 4
