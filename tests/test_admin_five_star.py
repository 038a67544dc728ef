"""五星支部 on the dashboard, through the real app on the demo street.

白辉 of the street's staff opens 2026; 谭波福, secretary of 红星村第一党支部, reads her branch's
items with the evidence behind each record figure (links to the branch's page, its 台账, its
流动党员), scores the items the branch scores itself and applies; the 总支书记 蔡芳 adjusts one
item with a reason and passes it on; 白辉 reviews, records the 党工委 meeting's decision,
publishes the list for seven days, records an objection and its answer, and finalises once the
period is over.  A score above the item's points, an adjustment without a reason and a step out
of turn come back with the field named and nothing changed; another branch's secretary is
refused the branch as one that does not exist.  At 390 px in headless Chromium the branch's
page does not scroll sideways and shows its points, its next step and the 申报 button.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from server.admin.links import COOKIE
from server.app import create_app
from server.clock import FrozenClock
from server.models.five_star import (
    AssessmentStep,
    BranchAssessment,
    ItemScore,
    ScoreAdjustment,
    Stage,
    StarCycle,
)
from server.models.meetings import MeetingType
from server.models.people import Member
from server.services.five_star import scheme as schemes
from server.services.people.admin_links import issue_link
from server.typedefs import SETTINGS
from tests.demo_street import DAY, NOW, seeded_street
from tests.five_star_helpers import ZONE, Cast, cast, hold, live_figures
from tests.test_admin_pages import sign_in

SELF_ITEMS = [i for i in schemes.default().items() if not i.auto]


@dataclass
class Desk:
    client: TestClient
    clock: FrozenClock
    c: Cast


@pytest.fixture
async def desk(aiohttp_client: Any, make_settings: Any, tmp_path: Path) -> AsyncIterator[Desk]:
    url, _, _ = seeded_street(tmp_path / "street.sqlite3")
    clock = FrozenClock(NOW)
    settings = make_settings(identity_ttl=0, db_url=url, lecture_every="quarter")
    client = await aiohttp_client(create_app(settings, clock=clock))
    yield Desk(client, clock, await cast())


async def as_(d: Desk, who: Member) -> None:
    d.client.session.cookie_jar.clear()
    await sign_in(d.client, who)


async def page(d: Desk, org: int | None = None) -> str:
    query = f"?org={org}&year=2026" if org else "?year=2026"
    resp = await d.client.get(f"/admin/five-star{query}")
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def post(d: Desk, action: str, org: int, **fields: Any) -> tuple[int, str]:
    # The session's form token, as the page's forms carry it (a refused step may have none).
    cookie = next(m for m in d.client.session.cookie_jar if m.key == COOKIE)
    key = d.client.app[SETTINGS].secret.encode()
    token = hmac.new(key, b"admin-form:" + cookie.value.encode(), hashlib.sha256).hexdigest()[:32]
    data = {"form_token": token, "org": str(org), "year": "2026", "form": action}
    data |= {k: str(v) for k, v in fields.items()}
    resp = await d.client.post(f"/admin/five-star/{action}", data=data, allow_redirects=False)
    return resp.status, (resp.headers.get("Location") or await resp.text())


async def test_the_year_on_the_dashboard_each_step_by_its_person(desk: Desk) -> None:
    d, c = desk, desk.c
    await hold(c.branch, MeetingType.ORG_LIFE, date(2026, 11, 20), "2026年度组织生活会")
    await hold(c.branch, MeetingType.APPRAISAL, date(2026, 11, 21), "民主评议党员")
    committee = c.staff.organisation_id

    await as_(d, c.staff)
    html = await page(d)
    assert "开启2026年度评星" in html and "红星村第一党支部" in html
    status, where = await post(d, "open", committee)
    assert status == 303 and "done=" in where
    assert await StarCycle.exists(year=2026)

    # The secretary lands on her branch: the records' figures with their evidence.
    await as_(d, c.secretary)
    html = await page(d, c.branch.id)
    live = await live_figures(schemes.default(), c.branch, DAY, NOW)
    assert live["meetings_on_time"].words in html
    assert f'href="/admin?org={c.branch.id}&amp;from=2026-01-01&amp;to=2026-11-26"' in html
    assert f'href="/admin/ledger?org={c.branch.id}&amp;year=2026"' in html
    assert f'href="/admin/mobile?org={c.branch.id}"' in html
    assert "2026年度组织生活会" in html and 'id="apply-form"' in html

    # A score above the item's points: refused, the field named, nothing kept.
    status, html = await post(d, "score", c.branch.id, item="venue", score=9, note="")
    assert status == 400 and "得分应在 0 到 8 分之间" in html and "请检查：<strong>得分" in html
    assert not await ItemScore.exists()
    for item in SELF_ITEMS:
        status, _ = await post(
            d, "score", c.branch.id, item=item.key, score=item.points, note="见台账"
        )
        assert status == 303
    status, _ = await post(d, "apply", c.branch.id, level=1)
    assert status == 303
    assessment = await BranchAssessment.get(branch_id=c.branch.id)
    assert assessment.stage is Stage.APPLIED
    # Applying again is a step out of turn.
    status, html = await post(d, "apply", c.branch.id, level=1)
    assert status == 409 and "已经申报" in html

    # Another branch's secretary: this branch is as if it did not exist.
    await as_(d, c.other_secretary)
    resp = await d.client.get(f"/admin/five-star?org={c.branch.id}&year=2026")
    assert resp.status == 403

    # The 党总支: an adjustment needs its reason.
    await as_(d, c.general)
    status, html = await post(d, "adjust", c.branch.id, item="venue", score=6, reason=" ")
    assert status == 400 and "请检查：<strong>调整理由" in html
    assert not await ScoreAdjustment.exists()
    status, _ = await post(
        d, "adjust", c.branch.id, item="venue", score=6, reason="活动室与村委办公室合用"
    )
    assert status == 303
    status, _ = await post(d, "review", c.branch.id, note="同意")
    assert status == 303
    html = await page(d, c.branch.id)
    assert "党总支调整：8 → 6 分。理由：活动室与村委办公室合用（蔡芳" in html

    await as_(d, c.staff)
    status, html = await post(d, "publish", committee, days=7)  # nothing decided yet
    assert status == 409 and not (await StarCycle.get(year=2026)).publicity_start
    status, _ = await post(d, "review", c.branch.id)
    assert status == 303
    status, _ = await post(
        d, "decide", c.branch.id, level=1, meeting_on="2026-11-26",
        meeting_ref="党工委2026年第12次会议", note="支部申报一星",
    )  # fmt: skip
    assert status == 303, _
    status, _ = await post(d, "publish", committee, days=7)
    assert status == 303
    html = await page(d)
    assert "红星村第一党支部 · 一星" in html
    status, _ = await post(d, "object", c.branch.id, raised_by="村民张某", text="活动室常锁门")
    assert status == 303
    objection_id = re.search(r'data-objection="(\d+)"', await page(d, c.branch.id))
    assert objection_id
    status, _ = await post(d, "answer", c.branch.id, id=objection_id.group(1), answer="已核实")
    assert status == 303
    status, html = await post(d, "finalise", committee)
    assert status == 409 and "公示期到2026年12月2日结束" in html
    d.clock.set(datetime.combine(date(2026, 12, 3), time(10), ZONE))
    await as_(d, c.staff)  # a new day, a new sign-in
    status, where = await post(d, "finalise", committee)
    assert status == 303 and "done=" in where
    assessment = await BranchAssessment.get(branch_id=c.branch.id)
    assert (assessment.stage, assessment.decided_level) == (Stage.FINAL, 1)
    actions = await AssessmentStep.filter(assessment_id=assessment.id).order_by("id")
    assert [a.action for a in actions] == [
        "申报", "党总支审核", "党工委审核", "会议决定", "公示", "异议", "答复异议", "确定",
    ]  # fmt: skip
    html = await page(d, c.branch.id)
    assert "<b>确定</b> · 白辉 · 2026-12-03 10:00" in html and 'id="decided">一星' in html


async def test_the_branch_page_at_390_px_in_chromium(
    aiohttp_server: Any, make_settings: Any, tmp_path: Path
) -> None:
    from tests.test_admin_e2e import ARGS, CHROMIUM, _browser_or_skip, _free_port

    _browser_or_skip()
    from playwright.async_api import async_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    url, _, _ = seeded_street(tmp_path / "street.sqlite3")
    settings = make_settings(identity_ttl=0, public_url=base, db_url=url)
    await aiohttp_server(create_app(settings, clock=FrozenClock(NOW)), port=port)
    c = await cast()
    from server.services.five_star import cycle as cycles

    cycle = await cycles.open_cycle(c.staff, 2026, NOW)
    assessment = await cycles.assessment_of(cycle, c.branch)
    for item in SELF_ITEMS[:-1]:
        await cycles.self_score(c.secretary, assessment, item.key, item.points, "见台账", NOW)
    shots = tmp_path / "shots"
    shots.mkdir()
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for who, name in ((c.secretary, "secretary"), (c.staff, "staff")):
                context = await browser.new_context(
                    viewport={"width": 390, "height": 844}, locale="zh-CN"
                )
                context.set_default_timeout(15_000)
                tab = await context.new_page()
                tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                tab.on(
                    "console",
                    lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
                )
                await tab.goto(await issue_link(settings, who, NOW))
                async with tab.expect_navigation():
                    await tab.click("text=进入后台")
                async with tab.expect_navigation():
                    await tab.click("#five-star-link")
                if name == "staff":
                    assert await tab.locator("#star-branches tbody tr").count() == 54
                    await _fits(tab)  # the year: 54 branches in the tree's order
                    await tab.screenshot(path=str(shots / "five-star-year-390.png"), full_page=True)
                    async with tab.expect_navigation():
                        await tab.click(f'tr[data-org="{c.branch.id}"] a')
                assert await tab.text_content("#org-name") == "五星支部 · 红星村第一党支部"
                await _fits(tab)
                assert await tab.locator("#areas .chip").count() == 5
                assert (await tab.text_content("#total") or "").strip().isdigit()
                todo = await tab.text_content("#todo") or ""
                step = await tab.text_content("#next-step") or ""
                if name == "staff":  # after the secretary scored the last item
                    assert "待自评" not in todo and "申报星级" in step
                    assert await tab.locator("#apply-form").count() == 0  # hers, not staff's
                if name == "secretary":
                    assert "待自评 1 项" in todo and "为自评指标打分" in step
                    assert await tab.locator("#apply-form button").count() == 1
                    last = SELF_ITEMS[-1]
                    await tab.click(f'li[data-item="{last.key}"] summary')
                    form = tab.locator(f'li[data-item="{last.key}"] form')
                    await form.locator("input[name=score]").fill(str(last.points))
                    async with tab.expect_navigation():
                        await form.locator("button").click()
                    assert "自评分已保存" in (await tab.text_content("#done") or "")
                    assert "下一步：在后台「五星支部」申报星级" in (
                        await tab.text_content("#next-step") or ""
                    )
                    await _fits(tab)
                await tab.screenshot(path=str(shots / f"five-star-{name}-390.png"), full_page=True)
                await context.close()
        finally:
            await browser.close()
    wanted = os.environ.get("DANGJIAN_SHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, Path(wanted) / png.name)
    assert problems == []


async def _fits(tab: Any) -> None:
    width = await tab.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def test_a_photo_may_go_with_a_self_score_and_is_never_required(desk: Desk) -> None:
    d, c = desk, desk.c
    from server.services.five_star import cycle as cycles

    await cycles.open_cycle(c.staff, 2026, NOW)
    await as_(d, c.secretary)
    _, _ = await post(d, "score", c.branch.id, item="dues", score=6, note="党费台账")  # none

    async def upload(name: str, content: bytes) -> tuple[int, str]:
        cookie = next(m for m in d.client.session.cookie_jar if m.key == COOKIE)
        key = d.client.app[SETTINGS].secret.encode()
        token = hmac.new(key, b"admin-form:" + cookie.value.encode(), hashlib.sha256)
        form = FormData()
        fields = {"form_token": token.hexdigest()[:32], "org": str(c.branch.id), "year": "2026"}
        for k, v in (fields | {"form": "score", "item": "rules_on_wall", "score": "4"}).items():
            form.add_field(k, v)
        form.add_field("note", "制度牌已上墙")
        form.add_field("photo", content, filename=name, content_type="image/jpeg")
        resp = await d.client.post("/admin/five-star/score", data=form, allow_redirects=False)
        return resp.status, resp.headers.get("Location") or await resp.text()

    # Not a picture, whatever its name says: refused, naming the photo; nothing kept.
    status, html = await upload("wall.jpg", b"<html>not a picture</html>")
    assert status == 400 and "请检查：<strong>照片" in html, (status, html)
    assert not await ItemScore.exists(item="rules_on_wall")
    assert not (d.client.app[SETTINGS].data_dir / "five_star_photos").exists()

    status, where = await upload("wall.png", PNG)
    assert status == 303 and "done=" in where
    row = await ItemScore.get(item="rules_on_wall")
    assert row.score == 4 and row.photo is not None and row.photo.endswith(".png")
    assert (await ItemScore.get(item="dues")).photo is None  # a score without one is whole
    html = await page(d, c.branch.id)
    assert f'href="/admin/five-star/photos/{row.id}"' in html
    shown = await d.client.get(f"/admin/five-star/photos/{row.id}")
    assert shown.status == 200 and shown.content_type == "image/png"
    assert await shown.read() == PNG

    await as_(d, c.other_secretary)  # another branch's: as if there were none
    assert (await d.client.get(f"/admin/five-star/photos/{row.id}")).status == 403


async def test_staff_edit_the_years_scheme_and_a_mistake_is_named(desk: Desk) -> None:
    d, c = desk, desk.c
    committee = c.staff.organisation_id
    await as_(d, c.staff)
    await post(d, "open", committee)
    html = await page(d)
    assert 'name="scheme"' in html and "[[areas.items]]" in html  # the year's copy, editable

    wrong = schemes.default_text().replace("points = 8\n", "points = 0\n", 1)
    status, html = await post(d, "scheme", committee, scheme=wrong)
    assert status == 400 and "请检查：<strong>评星方案" in html
    assert "评星方案有误（基本队伍 指标 organised_study）：points 应为 1 到 100 之间的整数" in html
    assert (await StarCycle.get(year=2026)).scheme_text == schemes.default_text()

    mended = schemes.default_text().replace('name = "活动阵地规范"', 'name = "党群服务阵地规范"')
    status, where = await post(d, "scheme", committee, scheme=mended)
    assert status == 303 and "done=" in where
    cycle = await StarCycle.get(year=2026)
    assert cycle.scheme_text == mended and cycle.scheme_edited_by_id == c.staff.id
    assert "党群服务阵地规范" in await page(d, c.branch.id)

    # A secretary may not edit it; nothing changes.
    await as_(d, c.secretary)
    status, html = await post(d, "scheme", committee, scheme=schemes.default_text())
    assert status == 403
    assert (await StarCycle.get(year=2026)).scheme_text == mended
