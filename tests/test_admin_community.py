"""社区服务 on the dashboard: a community's side of 双报到 and the 四单制, through the real app.

红星社区's 总支书记 signs in, reads the residents' needs and the members waiting, dispatches a
need (the member it suits is written a message), refuses one, confirms a member, confirms an
order done.  A branch secretary who runs no community and 青山社区's secretary are refused and
change nothing; a form without the page's token, or from another site, changes nothing.  Staff
register 报到单位, one by one and from a spreadsheet (all or nothing).  At 390 px in headless
Chromium the page does not scroll sideways and its forms stack.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.clock import FrozenClock
from server.models.community import (
    CommunityMessage,
    Need,
    NeedStatus,
    OrderStatus,
    ReportUnit,
    ServiceEvent,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.services.community import orders, residents, volunteers
from server.services.people.admin_links import issue_link
from tests import community_world as world
from tests.conftest import APPID
from tests.test_admin_pages import sign_in

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TOMORROW_9 = "2026-11-26T09:00"  # as a datetime-local input sends it, read in Asia/Shanghai
LI_OPENID = "o-volunteer-li"


@dataclass
class Desk:
    client: TestClient
    clock: FrozenClock
    street: world.Street
    need: Need  # 红星社区's, waiting
    li: Volunteer  # confirmed, 水电维修, reached on our appid
    zhang: Volunteer  # waiting for 红星社区 to confirm


@pytest.fixture
async def desk(aiohttp_client: Any, make_settings: Any) -> Desk:
    clock = FrozenClock(NOW)
    client = await aiohttp_client(create_app(make_settings(identity_ttl=0), clock=clock))
    s = await world.street(NOW)
    need = await world.a_need(s, NOW)
    await residents.post_need(s.other_resident, "青山苑路灯不亮", NOW)
    li = await Volunteer.create(
        name="李四", phone="13600000001", unit=s.unit, community=s.hongxing,
        skills="水电维修", status=VolunteerStatus.CONFIRMED, appid=APPID, openid=LI_OPENID,
        registered_at=NOW, decided_at=NOW,
    )  # fmt: skip
    zhang = await volunteers.apply(
        volunteers.Application(
            name="张三", phone="13600000002", unit=s.unit, member=None, community=s.hongxing,
            skills="助老",
        ),
        NOW, appid=APPID, openid="o-volunteer-zhang",
    )  # fmt: skip
    return Desk(client, clock, s, need, li, zhang)


def token_of(page: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', page)
    assert found, page[:500]
    return found.group(1)


async def open_desk(d: Desk, who: str, **query: str) -> tuple[int, str]:
    await sign_in(d.client, d.street.people[who])
    resp = await d.client.get("/admin/community", params=query)
    return resp.status, await resp.text()


async def post(d: Desk, path: str, data: dict[str, Any], **kw: Any) -> Any:
    return await d.client.post(f"/admin/community{path}", data=data, allow_redirects=False, **kw)


def dispatch_form(token: str, **extra: str) -> dict[str, str]:
    return {
        "form_token": token, "form": "need", "starts_at": TOMORROW_9, "kind": "维修",
        "title": "", "place": "幸福小区3栋", "hours": "1.5", "capacity": "1", "unit_id": "",
    } | extra  # fmt: skip


async def test_the_general_secretary_reads_her_desk(desk: Desk) -> None:
    status, page = await open_desk(desk, "hong")
    assert status == 200
    resident = world.RESIDENT
    assert "楼道灯坏了，三单元五楼" in page and all(part in page for part in resident)
    assert "青山苑路灯不亮" not in page  # 青山社区's
    assert f'data-volunteer="{desk.zhang.id}"' in page and "13600000002" in page
    assert f'data-volunteer="{desk.li.id}"' not in page  # confirmed already
    assert desk.street.unit.code in page and "区税务局机关党委" in page
    assert f'href="/community/{desk.street.hongxing.id}/showcase"' in page
    assert 'id="community-link"' in page  # the header's 社区服务, on the overview too
    assert 'id="community-link"' in await (await desk.client.get("/admin")).text()
    assert 'action="/admin/community/units"' not in page  # registering units is the staff's


async def test_a_dispatch_makes_the_order_and_tells_the_member_it_suits(desk: Desk) -> None:
    _, page = await open_desk(desk, "hong")
    resp = await post(desk, f"/needs/{desk.need.id}/dispatch", dispatch_form(token_of(page)))
    assert resp.status == 303, await resp.text()
    order = await ServiceOrder.get(need_id=desk.need.id)
    assert (order.kind, order.title, order.place) == ("维修", "维修服务", "幸福小区3栋")
    assert order.starts_at == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert (
        order.expected_hours == Decimal("1.5")
        and order.created_by_id == desk.street.people["hong"].id
    )
    assert (await Need.get(id=desk.need.id)).status == NeedStatus.DISPATCHED
    # The member whose skills fit is written the invitation chat writes, in the outbox.
    (invite,) = await CommunityMessage.filter(openid=LI_OPENID)
    assert f"【新服务】服务单 {order.id}：维修·维修服务" in invite.text
    assert f"c={desk.street.hongxing.id}" in resp.headers["Location"]

    back = await desk.client.get(resp.headers["Location"])
    text = await back.text()
    assert f"已下单：服务单 {order.id}（需求 {desk.need.id}）" in text and "将通知 1 名" in text
    assert f'data-order="{order.id}"' in text and f'data-need="{desk.need.id}"' not in text

    again = await post(desk, f"/needs/{desk.need.id}/dispatch", dispatch_form(token_of(text)))
    assert again.status == 409 and "这条需求已经处理过了" in await again.text()
    assert await ServiceOrder.filter(need_id=desk.need.id).count() == 1


async def test_a_refused_form_names_the_field_and_changes_nothing(desk: Desk) -> None:
    _, page = await open_desk(desk, "hong")
    token = token_of(page)
    past = await post(
        desk, f"/needs/{desk.need.id}/dispatch",
        dispatch_form(token, starts_at="2026-11-24T09:00", form=f"need-{desk.need.id}"),
    )  # fmt: skip
    text = await past.text()
    assert past.status == 400 and 'data-field="starts_at"' in text and "服务时间" in text
    assert 'value="2026-11-24T09:00"' in text  # the form comes back as it was sent
    bad_unit = await post(
        desk, f"/needs/{desk.need.id}/dispatch", dispatch_form(token, unit_id="999999")
    )
    assert bad_unit.status == 400 and 'data-field="unit_id"' in await bad_unit.text()

    no_reason = await post(desk, f"/needs/{desk.need.id}/refuse", {"form_token": token})
    text = await no_reason.text()
    assert no_reason.status == 400 and 'data-field="reason"' in text and "请检查" in text
    assert (await Need.get(id=desk.need.id)).status == NeedStatus.NEW
    assert not await ServiceOrder.exists() and not await CommunityMessage.exists()

    refused = await post(
        desk, f"/needs/{desk.need.id}/refuse",
        {"form_token": token, "reason": "属于物业维修范围，请联系物业"},
    )  # fmt: skip
    assert refused.status == 303
    need = await Need.get(id=desk.need.id)
    assert need.status == NeedStatus.REFUSED and need.reason == "属于物业维修范围，请联系物业"
    (told,) = await CommunityMessage.filter(openid=desk.street.resident.openid)
    assert "社区暂不受理，原因：属于物业维修范围" in told.text


async def test_the_community_confirms_and_sends_back_members(desk: Desk) -> None:
    _, page = await open_desk(desk, "hong")
    token = token_of(page)
    no_reason = await post(desk, f"/volunteers/{desk.zhang.id}/refuse", {"form_token": token})
    assert no_reason.status == 400 and 'data-field="reason"' in await no_reason.text()
    assert (await Volunteer.get(id=desk.zhang.id)).status == VolunteerStatus.PENDING

    resp = await post(
        desk, f"/volunteers/{desk.zhang.id}/confirm", {"form_token": token, "grid": "第二网格"}
    )
    assert resp.status == 303
    zhang = await Volunteer.get(id=desk.zhang.id)
    assert (zhang.status, zhang.grid) == (VolunteerStatus.CONFIRMED, "第二网格")
    (told,) = await CommunityMessage.filter(openid="o-volunteer-zhang")
    assert "报到已确认，编入第二网格" in told.text
    back = await (await desk.client.get(resp.headers["Location"])).text()
    assert "已确认张三的报到，编入第二网格。将通知本人。" in back


async def test_an_order_is_confirmed_done_once_a_member_reports_it(desk: Desk) -> None:
    hong = desk.street.people["hong"]
    order = await orders.dispatch(hong, world.spec(NOW), NOW, need_id=desk.need.id)
    await orders.claim(desk.li, order.id, NOW)
    _, page = await open_desk(desk, "hong")
    token = token_of(page)
    early = await post(desk, f"/orders/{order.id}/complete", {"form_token": token})
    assert early.status == 409 and "还没有党员报告完成" in await early.text()

    later = NOW + timedelta(days=1, hours=2)
    await orders.report_done(desk.li, order.id, "已换好楼道灯", later, Decimal("1"))
    desk.clock.set(later)
    _, page = await open_desk(desk, "hong")  # a day later: a new session
    token = token_of(page)
    order_page = await (await desk.client.get(f"/admin/community/orders/{order.id}")).text()
    assert "李四" in order_page and "已换好楼道灯" in order_page and "接单" in order_page
    assert world.RESIDENT[1] in order_page  # the community may call the resident

    done = await post(desk, f"/orders/{order.id}/complete", {"form_token": token, "back": "order"})
    assert done.status == 303 and done.headers["Location"].startswith(
        f"/admin/community/orders/{order.id}?"
    )
    finished = await ServiceOrder.get(id=order.id)
    assert finished.status == OrderStatus.COMPLETED and finished.completed_by_id == hong.id
    assert await ServiceEvent.exists(order_id=order.id, action="确认完成")
    page = await (await desk.client.get("/admin/community")).text()
    assert 'id="completed-table"' in page and "待评价" in page


async def test_those_who_do_not_run_it_are_refused_and_nothing_changes(desk: Desk) -> None:
    order = await orders.dispatch(
        desk.street.people["hong"], world.spec(NOW), NOW, community_id=desk.street.hongxing.id
    )
    # A branch secretary under 红星社区 runs no community: the dashboard's refusal.
    status, page = await open_desk(desk, "branch")
    assert status == 403 and "只有社区党组织书记和党工委工作人员" in page
    assert 'id="community-link"' not in await (await desk.client.get("/admin")).text()

    # 青山社区's secretary: 红星社区's need, member and order are refused as unknown ids.
    status, page = await open_desk(desk, "qing")
    assert status == 200 and "青山苑路灯不亮" in page and "楼道灯坏了" not in page
    token = token_of(page)
    answers = []
    for path, data in (
        (f"/needs/{desk.need.id}/dispatch", dispatch_form(token)),
        (f"/needs/{desk.need.id}/refuse", {"form_token": token, "reason": "不是本社区的"}),
        (f"/volunteers/{desk.zhang.id}/confirm", {"form_token": token}),
        (f"/orders/{order.id}/cancel", {"form_token": token, "reason": "撤了"}),
        ("/needs/999999/dispatch", dispatch_form(token)),
    ):
        resp = await post(desk, path, data)
        answers.append((resp.status, "无权访问，或该对象不存在" in await resp.text()))
    assert answers == [(403, True)] * 5
    foreign = await desk.client.get(f"/admin/community/orders/{order.id}")
    unknown = await desk.client.get("/admin/community/orders/999999")
    assert foreign.status == unknown.status == 403
    other = await desk.client.get("/admin/community", params={"c": str(desk.street.hongxing.id)})
    assert other.status == 403

    assert (await Need.get(id=desk.need.id)).status == NeedStatus.NEW
    assert (await Volunteer.get(id=desk.zhang.id)).status == VolunteerStatus.PENDING
    assert (await ServiceOrder.get(id=order.id)).status == OrderStatus.OPEN
    assert await ServiceOrder.all().count() == 1 and not await CommunityMessage.exists()


async def test_a_form_without_the_token_or_from_elsewhere_changes_nothing(desk: Desk) -> None:
    _, page = await open_desk(desk, "hong")
    token = token_of(page)
    missing = await post(desk, f"/needs/{desk.need.id}/dispatch", dispatch_form(""))
    forged = await post(desk, f"/needs/{desk.need.id}/dispatch", dispatch_form("0" * 32))
    elsewhere = await post(
        desk, f"/volunteers/{desk.zhang.id}/confirm", {"form_token": token},
        headers={"Origin": "https://evil.example"},
    )  # fmt: skip
    assert (missing.status, forged.status, elsewhere.status) == (403, 403, 403)
    assert "页面已过期或来源不正确" in await missing.text()
    assert (await Need.get(id=desk.need.id)).status == NeedStatus.NEW
    assert (await Volunteer.get(id=desk.zhang.id)).status == VolunteerStatus.PENDING
    # Another session's token is no token: signing in again changes it.
    await sign_in(desk.client, desk.street.people["hong"])
    stale = await post(desk, f"/volunteers/{desk.zhang.id}/confirm", {"form_token": token})
    assert stale.status == 403


def sheet(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    table = book.active
    assert table is not None
    for row in [["单位名称", "类别", "联系人", "联系电话", "结对社区"], *rows]:
        table.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(desk: Desk, token: str, data: bytes) -> Any:
    form = FormData()
    form.add_field("form_token", token)
    form.add_field("c", str(desk.street.hongxing.id))
    form.add_field("file", data, filename="units.xlsx")
    return await desk.client.post("/admin/community/units/import", data=form, allow_redirects=False)


async def test_staff_pick_a_community_and_register_units(desk: Desk) -> None:
    status, page = await open_desk(desk, "staff")
    assert status == 200 and 'id="community-list"' in page  # they run both: a list first
    assert "红星社区" in page and "青山社区" in page
    hong, qing = desk.street.hongxing, desk.street.qingshan
    page = await (await desk.client.get("/admin/community", params={"c": str(hong.id)})).text()
    token = token_of(page)

    resp = await post(
        desk, "/units",
        {"form_token": token, "c": str(hong.id), "name": "区人民医院党委", "kind": "医院",
         "contact_name": "刘主任", "contact_phone": "13800000011",
         "communities": [str(hong.id), str(qing.id)]},
    )  # fmt: skip
    assert resp.status == 303, await resp.text()
    unit = await ReportUnit.get(name="区人民医院党委")
    back = await (await desk.client.get(resp.headers["Location"])).text()
    assert f"已登记区人民医院党委，报到码 {unit.code}。" in back

    bad = sheet(
        [
            ["区教育局机关党委", "区直机关", "", "", "红星"],
            ["第二中学党支部", "学校", "", "12", "火星村"],
        ]
    )
    refused = await upload(desk, token, bad)
    text = await refused.text()
    assert refused.status == 400 and 'id="problems"' in text
    assert "第3行 · 联系电话" in text and "第3行 · 结对社区" in text
    assert not await ReportUnit.filter(name="区教育局机关党委").exists()  # all or nothing

    good = sheet(
        [
            ["区教育局机关党委", "区直机关", "", "", "红星"],
            ["第二中学党支部", "学校", "", "", "青山社区"],
        ]
    )
    imported = await upload(desk, token, good)
    assert imported.status == 303
    assert await ReportUnit.filter(name__in=["区教育局机关党委", "第二中学党支部"]).count() == 2

    # A 总支书记 runs her community but does not register units.
    _, page = await open_desk(desk, "hong")
    own = await post(
        desk, "/units", {"form_token": token_of(page), "c": str(hong.id), "name": "某单位"}
    )
    assert own.status == 403 and not await ReportUnit.filter(name="某单位").exists()


# --- in a browser, at phone width -------------------------------------------------------------


async def test_the_desk_at_390_px_in_chromium(
    aiohttp_server: Any, make_settings: Any, tmp_path: Path
) -> None:
    from tests.test_admin_e2e import ARGS, CHROMIUM, _browser_or_skip, _free_port

    _browser_or_skip()
    from playwright.async_api import async_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    clock = FrozenClock(NOW)
    settings = make_settings(identity_ttl=0, public_url=base)
    await aiohttp_server(create_app(settings, clock=clock), port=port)
    s = await world.street(NOW)
    need = await world.a_need(s, NOW, "家里水管漏水，厨房地面都湿了，老人独居行动不便")
    await world.a_need(s, NOW, "楼道灯坏了，三单元五楼")
    await world.served(s, NOW - timedelta(days=3))  # 王五 reported, served, rated
    await world.report(s, "chen", s.hongxing, NOW, confirm=False)
    link = await issue_link(settings, s.people["hong"], NOW)
    shots = tmp_path / "shots"
    shots.mkdir()
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, locale="zh-CN"
            )
            context.set_default_timeout(15_000)
            page = await context.new_page()
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            await page.goto(link)
            async with page.expect_navigation():
                await page.click("text=进入后台")
            async with page.expect_navigation():
                await page.click("#community-link")
            assert await page.locator(f'[data-need="{need.id}"]').count() == 1
            await page.click(f'#need-{need.id} summary:text("下单")')
            await _fits(page)
            await page.screenshot(path=str(shots / "community-390.png"), full_page=True)
            # The forms stack: each field is as wide as its card.
            card = f"#need-{need.id}"
            width = [
                (await page.locator(selector).bounding_box())["width"]
                for selector in (f"{card} input[name=title]", card)
            ]
            assert width[0] > width[1] * 0.8, width

            await page.fill(f"#need-{need.id} input[name=starts_at]", TOMORROW_9)
            await page.select_option(f"#need-{need.id} select[name=kind]", "维修")
            async with page.expect_navigation():
                await page.click(f"#need-{need.id} button:text('下单')")
            assert "已下单：服务单" in (await page.text_content("#done") or "")
            await _fits(page)
            await page.screenshot(path=str(shots / "community-done-390.png"), full_page=True)
            order = await ServiceOrder.get(need_id=need.id)
            async with page.expect_navigation():
                await page.click(f"#order-{order.id} a:text('接单与经过')")
            await _fits(page)
            await page.screenshot(path=str(shots / "community-order-390.png"), full_page=True)
            # Back on the desk: each table too wide for the phone says it scrolls, no other.
            await page.go_back()
            boxes = page.locator(".table-box")
            for n in range(await boxes.count()):
                box = boxes.nth(n)
                wide = await box.evaluate("b => b.scrollWidth > b.clientWidth + 1")
                said = await box.evaluate(
                    "b => !!(b.previousElementSibling"
                    " && b.previousElementSibling.classList.contains('swipe-hint'))"
                )
                assert said == wide, (n, wide, said)
        finally:
            await browser.close()
    wanted = os.environ.get("DANGJIAN_SHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, Path(wanted) / png.name)
    assert problems == []


async def _fits(page: Any) -> None:
    width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
