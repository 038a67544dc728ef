"""五张清单 on the dashboard, through the real app.

白辉 (党工委工作人员) opens the list: the counts by state (全部, 已完成, 推进中, 未开始, 已逾期,
临期), each a link to the items it counts; she writes a new item with the form, adds evidence
with a file, declares an item done and reopens it, edits a deadline, filters by source,
organisation and owner, downloads the committee's table and carries the year's unfinished items
into the next.  李书记 (a branch's secretary) reads only what concerns her branch and has no
forms; what she posts anyway is refused and changes nothing.  Hostile forms — an empty 问题, a
时限 in the past, another street's member as 责任人, a filter value not among the choices —
come back naming the field, nothing written.  At 390 px in headless Chromium the list does not
scroll sideways and its counts and buttons are there.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.clock import FrozenClock
from server.models.duty_lists import DutyFile, DutyItem, DutyNote, DutySource, NoteKind
from server.services.duty_lists import items
from server.services.people.admin_links import issue_link
from tests.duty_lists_helpers import NOW, TODAY, Street, make_item, street
from tests.test_admin_pages import sign_in


@dataclass
class Desk:
    client: TestClient
    s: Street
    ledger: Any  # the owner's, concerns 东社区第一党支部, due in 5 days: 临期
    venue: Any  # 西社区's, 巡察反馈
    old: Any  # due yesterday (made before): 已逾期


async def build() -> dict[str, Any]:
    s = await street()
    ledger = await make_item(s, owner_id=s.owner.id, links=[s.one.id], deadline=date(2026, 11, 30))
    venue = await make_item(
        s, owner_org_id=s.west.id, links=[s.west.id], task="改造党群服务站",
        problem="西社区阵地设施陈旧", source=DutySource.PEOPLE,
    )  # fmt: skip
    old = await make_item(
        s, now=NOW, today=date(2026, 11, 1), owner_org_id=s.east.id, links=[s.east.id],
        task="健全党总支议事规则", deadline=date(2026, 11, 24),
    )  # fmt: skip
    await items.add_note(s.owner, ledger, "已检查3个支部台账", NOW, TODAY)
    return {"s": s, "ledger": ledger, "venue": venue, "old": old}


@pytest.fixture
async def desk(aiohttp_client: Any, make_settings: Any) -> Desk:
    client = await aiohttp_client(create_app(make_settings(identity_ttl=0), clock=FrozenClock(NOW)))
    return Desk(client, **await build())


async def open_list(d: Desk, who: Any, **query: str) -> tuple[int, str]:
    await sign_in(d.client, who)
    resp = await d.client.get("/admin/duties", params=query)
    return resp.status, await resp.text()


def token_of(page: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', page)
    assert found, page[:500]
    return found.group(1)


def counts_of(page: str) -> dict[str, int]:
    return {
        key: int(n)
        for key, n in re.findall(r'data-key="(\w+)" href="[^"]*">[^<]*<b>(\d+)</b>', page)
    }


def shown(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="item" data-item="(\d+)"', page)]


def new_item(token: str, **extra: str) -> dict[str, str]:
    return {
        "form_token": token, "form": "create", "year": "2026", "source": "自身查摆",
        "problem": "党员教育管理不够精细", "task": "建立党员积分外的关爱走访机制",
        "measures": "每季度走访老党员、困难党员", "deadline": "2026-12-20", "owner": "m0",
    } | extra  # fmt: skip


async def test_staff_read_the_counts_each_linking_to_its_items(desk: Desk) -> None:
    status, page = await open_list(desk, desk.s.staff)
    assert status == 200
    counts = counts_of(page)
    assert counts == {
        "all": 3, "done": 0, "under_way": 1, "not_started": 1, "late": 1, "at_risk": 1
    }  # fmt: skip
    for key, ids in (
        ("late", [desk.old.id]),
        ("at_risk", [desk.ledger.id]),
        ("under_way", [desk.ledger.id]),
        ("not_started", [desk.venue.id]),
    ):
        _, listed = await open_list(desk, desk.s.staff, year="2026", state=key)
        assert shown(listed) == ids, key
        assert counts_of(listed) == counts  # the counts are over the filters, not the state
    _, by_source = await open_list(desk, desk.s.staff, source="群众反映")
    assert shown(by_source) == [desk.venue.id]
    _, by_org = await open_list(desk, desk.s.staff, org=str(desk.s.east.id))
    assert shown(by_org) == [desk.old.id, desk.ledger.id]  # the 总支 and its branch's
    _, by_owner = await open_list(desk, desk.s.staff, owner=f"m{desk.s.owner.id}")
    assert shown(by_owner) == [desk.ledger.id]
    assert 'id="create-form"' in page and 'id="carry-form"' in page
    for wrong, field in (({"state": "best"}, "完成情况"), ({"owner": "x1"}, "责任人")):
        status, refused = await open_list(desk, desk.s.staff, **wrong)
        assert status == 400 and f"请检查：<strong>{field}</strong>" in refused


async def test_a_branch_reads_what_concerns_it_and_may_change_nothing(desk: Desk) -> None:
    status, page = await open_list(desk, desk.s.one_secretary)
    assert status == 200 and "只读" in page
    assert shown(page) == [desk.old.id, desk.ledger.id]  # its 总支's and its own
    assert 'id="create-form"' not in page and "form_token" not in page
    theirs = await desk.client.get(f"/admin/duties/{desk.venue.id}")
    assert theirs.status == 403
    mine = await desk.client.get(f"/admin/duties/{desk.ledger.id}")
    assert mine.status == 200 and 'id="done-form"' not in await mine.text()
    # Posting anyway, with a real token from her session: refused, nothing written.
    _, staff_page = await open_list(desk, desk.s.staff)
    await sign_in(desk.client, desk.s.one_secretary)
    token = token_of(staff_page)  # another session's token: refused as well
    for path, data in (
        ("/admin/duties", new_item(token, owner=f"m{desk.s.owner.id}")),
        (f"/admin/duties/{desk.ledger.id}/done", {"form_token": token, "note": "完成"}),
    ):
        resp = await desk.client.post(path, data=data, allow_redirects=False)
        assert resp.status == 403, path
    assert (
        await DutyItem.all().count() == 3 and await DutyNote.filter(kind=NoteKind.DONE).count() == 0
    )


async def test_staff_write_an_item_and_hostile_forms_name_the_field(desk: Desk) -> None:
    s = desk.s
    _, page = await open_list(desk, s.staff)
    token = token_of(page)
    post = desk.client.post
    for extra, field in (
        ({"problem": "  "}, "问题"),
        ({"deadline": "2026-11-24"}, "时限"),
        ({"owner": f"m{s.stranger.id}"}, "责任人"),
        ({"owner": "mx"}, "责任人"),
        ({"source": "领导交办"}, "来源"),
    ):
        form = new_item(token, owner=f"m{s.owner.id}") | extra
        resp = await post("/admin/duties", data=form, allow_redirects=False)
        text = await resp.text()
        assert resp.status == 400 and f"请检查：<strong>{field}</strong>" in text, (extra, text)
        assert "没有做任何更改" in text and 'id="create-form" open' in text
    assert await DutyItem.all().count() == 3

    good = FormData(new_item(token, owner=f"o{s.one.id}"))
    good.add_field("links", str(s.one.id))
    good.add_field("links", str(s.east.id))
    resp = await post("/admin/duties", data=good, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    made = await DutyItem.get(task="建立党员积分外的关爱走访机制")
    assert made.owner_org_id == s.one.id and made.created_by_id == s.staff.id
    assert "已新增第" in await (await desk.client.get(resp.headers["Location"])).text()


async def test_evidence_done_reopen_and_an_edit_are_recorded(desk: Desk) -> None:
    s, item = desk.s, desk.ledger
    await sign_in(desk.client, s.staff)
    page = await (await desk.client.get(f"/admin/duties/{item.id}")).text()
    token = token_of(page)
    form = FormData({"form_token": token, "form": "note", "note": "台账检查记录", "evidence": "1"})
    form.add_field(
        "file", b"%PDF-1.4 ledger", filename="检查记录.pdf", content_type="application/pdf"
    )
    resp = await desk.client.post(
        f"/admin/duties/{item.id}/notes", data=form, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    saved = await DutyFile.get(name="检查记录.pdf")
    download = await desk.client.get(f"/admin/duties/files/{saved.id}")
    assert download.status == 200 and await download.read() == b"%PDF-1.4 ledger"
    assert "attachment" in download.headers["Content-Disposition"]

    done = {"form_token": token, "form": "done", "note": ""}
    refused = await desk.client.post(f"/admin/duties/{item.id}/done", data=done)
    assert refused.status == 400 and "请检查：<strong>内容</strong>" in await refused.text()
    done["note"] = "各支部台账已规范"
    assert (await desk.client.post(f"/admin/duties/{item.id}/done", data=done)).status == 200
    reopen = {"form_token": token, "form": "reopen", "note": "复查发现两个支部缺记录"}
    page = await (await desk.client.post(f"/admin/duties/{item.id}/reopen", data=reopen)).text()
    assert "已重新打开" in page and "复查发现两个支部缺记录" in page and "白辉" in page
    edit = {
        "form_token": token, "form": "edit", "year": "2026", "source": "巡察反馈",
        "problem": item.problem, "task": item.task, "measures": item.measures,
        "deadline": "2026-12-15", "owner": f"m{s.owner.id}", "links": str(s.one.id),
    }  # fmt: skip
    page = await (await desk.client.post(f"/admin/duties/{item.id}/edit", data=edit)).text()
    assert "时限由「2026年11月30日」改为「2026年12月15日」" in page
    kinds = await DutyNote.filter(item_id=item.id).order_by("id").values_list("kind", flat=True)
    assert list(kinds) == [
        NoteKind.PROGRESS, NoteKind.EVIDENCE, NoteKind.DONE, NoteKind.REOPEN, NoteKind.EDIT
    ]  # fmt: skip
    # Another street's item number, or a file of an item out of reach: as if not there.
    await sign_in(desk.client, s.west_secretary)
    assert (await desk.client.get(f"/admin/duties/files/{saved.id}")).status == 403


async def test_the_export_and_the_carry_over(desk: Desk) -> None:
    _, page = await open_list(desk, desk.s.staff)
    resp = await desk.client.get("/admin/duties/export", params={"year": "2026", "state": "late"})
    assert resp.status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(await resp.read())).active
    assert sheet is not None
    assert [c.value for c in sheet[3]] == [
        "序号", "问题", "任务", "责任人", "措施", "时限", "进展情况", "完成情况"
    ]  # fmt: skip
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=4)]
    assert len(rows) == 1 and rows[0][2] == "健全党总支议事规则"
    assert rows[0][3] == "东社区党总支书记" and rows[0][7] == "已逾期（已超期 1 天）"
    assert "示范街道党工委2026年度" in str(sheet["A1"].value)

    carry = {
        "form_token": token_of(page),
        "form": "carry",
        "year": "2026",
        "deadline": "2027-06-30",
    }
    resp = await desk.client.post("/admin/duties/carry", data=carry, allow_redirects=False)
    assert resp.status == 303
    assert await DutyItem.filter(year=2027).count() == 3
    again = await desk.client.post("/admin/duties/carry", data=carry)
    assert "没有需要结转" in await again.text()
    assert await DutyItem.filter(year=2027).count() == 3
    _, next_year = await open_list(desk, desk.s.staff, year="2027")
    assert counts_of(next_year)["all"] == 3


# --- in a browser, at phone width -------------------------------------------------------------


async def test_the_list_at_390_px_in_chromium(
    aiohttp_server: Any, make_settings: Any, tmp_path: Path
) -> None:
    from tests.test_admin_e2e import ARGS, CHROMIUM, _browser_or_skip, _free_port

    _browser_or_skip()
    from playwright.async_api import async_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(identity_ttl=0, public_url=base)
    await aiohttp_server(create_app(settings, clock=FrozenClock(NOW)), port=port)
    built = await build()
    s: Street = built["s"]
    shots = tmp_path / "shots"
    shots.mkdir()
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for who, name in ((s.staff, "staff"), (s.one_secretary, "secretary")):
                for width in (390, 1366):
                    context = await browser.new_context(
                        viewport={"width": width, "height": 844}, locale="zh-CN"
                    )
                    context.set_default_timeout(15_000)
                    page = await context.new_page()
                    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                    page.on(
                        "console",
                        lambda m: (
                            problems.append(m.text) if m.type in ("error", "warning") else None
                        ),
                    )
                    await page.goto(await issue_link(settings, who, NOW))
                    async with page.expect_navigation():
                        await page.click("text=进入后台")
                    async with page.expect_navigation():
                        await page.click("#duties-link")
                    await _fits(page)
                    for key in ("all", "done", "under_way", "not_started", "late", "at_risk"):
                        assert await page.locator(f'#duty-counts a[data-key="{key}"]').count() == 1
                    assert await page.locator("#duty-export").is_visible()
                    await page.screenshot(
                        path=str(shots / f"duties-{name}-{width}.png"), full_page=True
                    )
                    if name == "staff" and width == 390:
                        await _create_on_the_phone(page, s, shots)
                    await context.close()
        finally:
            await browser.close()
    wanted = os.environ.get("DANGJIAN_SHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, Path(wanted) / png.name)
    assert problems == []


async def _create_on_the_phone(page: Any, s: Street, shots: Path) -> None:
    """The 已逾期 count opens its item; the create form stacks at the card's width and works."""
    async with page.expect_navigation():
        await page.click('#duty-counts a[data-key="late"]')
    assert await page.locator("#duty-list li.item").count() == 1
    await page.click("#create-form summary")
    form = page.locator("#create-form form")
    card = await page.locator("#duty-forms").bounding_box()
    field = await form.locator("textarea[name=problem]").bounding_box()
    assert field["width"] > card["width"] * 0.8, (field, card)
    await form.locator("textarea[name=problem]").fill("离退休党员参加组织生活不便")
    await form.locator("textarea[name=task]").fill("送学上门")
    await form.locator("textarea[name=measures]").fill("每季度送学上门一次")
    await form.locator("input[name=deadline]").fill("2026-12-28")
    await form.locator("select[name=owner]").select_option(f"o{s.west.id}")
    await form.locator(f'input[name=links][value="{s.west.id}"]').check()
    await _fits(page)
    await page.screenshot(path=str(shots / "duties-staff-create-390.png"), full_page=True)
    async with page.expect_navigation():
        await form.locator("button").click()
    assert "已新增第" in (await page.text_content("#done") or "")
    await _fits(page)
    # An item's page: its columns, notes and forms, at the same width.
    async with page.expect_navigation():
        await page.click("#duty-list li.item a.no >> nth=0")
    assert await page.locator("#facts").is_visible()
    await page.click("#note-form summary")
    await _fits(page)
    await page.screenshot(path=str(shots / "duties-staff-item-390.png"), full_page=True)


async def _fits(page: Any) -> None:
    width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
