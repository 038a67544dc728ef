"""星级党员台账 on the dashboard, through the real app.

李书记 opens her branch's ledger: each member by 党小组 and name with the year's evidence, the
suggestion and the form; the records behind a member's figures on their own page.  She sets
王芳's star as suggested, 李明's higher with a reason (refused without one: the page comes back
naming 理由, nothing changed), a star of 6 (named: 星级), exempts 赵大爷, confirms the year at the
民主评议 and later changes a star with a reason — every step in the member's history.  Another
branch's member, another branch's ledger and a form without the page's token are refused as
things that do not exist; a plain member never gets in.  The committee's staff see how many of
each branch are rated, exempt or pending — and no member's star.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.clock import FrozenClock
from server.models.member_stars import MemberStar, MemberStarChange, StarStatus
from server.models.people import Organisation, Role
from server.services.people.admin_links import issue_link
from server.typedefs import SETTINGS
from tests.conftest import make_member
from tests.test_admin_pages import sign_in, token_in
from tests.test_member_stars import LATER, NOW, build


async def app(aiohttp_client: Any, make_settings: Any) -> tuple[TestClient, FrozenClock]:
    clock = FrozenClock(NOW)
    return await aiohttp_client(create_app(make_settings(), clock=clock)), clock


def token_of(page: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', page)
    assert found, page[:500]
    return found.group(1)


async def test_the_secretary_keeps_the_ledger_on_the_dashboard(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, clock = await app(aiohttp_client, make_settings)
    b = await build()
    await sign_in(client, b.secretary)

    resp = await client.get("/admin/stars")
    page = await resp.text()
    assert resp.status == 200 and "星级党员台账 · 第一社区第一党支部" in page
    order = [page.index(f"<b>{name}</b>") for name in ("王芳", "李书记", "李明", "赵大爷")]
    assert order == sorted(order)  # by 党小组 and name
    assert "孙强" not in page
    assert "组织生活：应到 4，出席 3，请假 1，缺席 0" in page
    assert "双报到服务：1 次，1.5 小时" in page
    assert "建议：<b>★★★★（四星）</b>" in page
    assert "待评定 <b>4</b>" in page
    token = token_of(page)

    # The records behind the figures.
    detail = await (await client.get(f"/admin/stars/members/{b.wang.id}?year=2026")).text()
    assert 'id="meeting-count">4<' in detail and "为独居老人换灯泡" in detail

    def form(member_id: int, star: str, reason: str = "") -> dict[str, str]:
        return {
            "form_token": token, "form": f"m-{member_id}", "org": str(b.one.id), "year": "2026",
            "member": str(member_id), "star": star, "reason": reason,
        }  # fmt: skip

    done = await client.post(
        "/admin/stars/decide", data=form(b.wang.id, "4"), allow_redirects=False
    )
    assert done.status == 303 and "org=" in done.headers["Location"]

    # Hostile: a star of 6, a missing reason — the page names the field, nothing changes.
    for sent, field in ((form(b.li.id, "6"), "星级"), (form(b.li.id, "4", " "), "理由")):
        refused = await client.post("/admin/stars/decide", data=sent)
        text = await refused.text()
        assert refused.status == 400 and f"请检查：<strong>{field}</strong>" in text
        assert "没有做任何更改" in text
    assert (await MemberStar.get(member_id=b.li.id, year=2026)).status == StarStatus.PENDING

    await client.post(
        "/admin/stars/decide", data=form(b.li.id, "4", "年内照顾重病家属，其余时间积极服务")
    )
    await client.post("/admin/stars/decide", data=form(b.zhao.id, "exempt", "年老体弱，长期卧床"))
    await client.post("/admin/stars/decide", data=form(b.secretary.id, "4"))
    # Another branch's member, a form without the token: refused, nothing changes.
    other = await client.post("/admin/stars/decide", data=form(b.other.id, "3", "x"))
    assert other.status == 403
    bare = await client.post(
        "/admin/stars/decide", data={**form(b.li.id, "1", "x"), "form_token": ""}
    )
    assert bare.status == 403
    two = await client.post(
        "/admin/stars/decide", data={**form(b.other.id, "3", "x"), "org": str(b.two.id)}
    )
    assert two.status == 403
    assert await MemberStarChange.all().count() == 4

    clock.set(LATER)  # January: the 民主评议 of the year just ended
    await sign_in(client, b.secretary)
    page = await (await client.get("/admin/stars?year=2026")).text()
    token = token_of(page)
    assert f'<option value="{b.appraisal.id}"' in page
    confirm = {"form_token": token, "form": "confirm", "org": str(b.one.id), "year": "2026"}
    resp = await client.post(
        "/admin/stars/confirm",
        data={**confirm, "meeting": str(b.appraisal.id)},
        allow_redirects=False,
    )
    assert resp.status == 303
    page = await (await client.get("/admin/stars?year=2026")).text()
    assert 'id="final"' in page and "2027年1月20日确认" in page
    assert "免评" in page and "已评定 ★★★★" in page

    late = await client.post("/admin/stars/decide", data=form(b.wang.id, "5"))
    assert late.status == 400 and "已确认" in await late.text()
    await client.post(
        "/admin/stars/decide", data=form(b.wang.id, "5", "经支委会复核，补充其全年义务巡逻的记录")
    )
    history = await (await client.get(f"/admin/stars/members/{b.wang.id}?year=2026")).text()
    assert "待评定 → 已评定 ★★★★" in history and "已评定 ★★★★ → 已评定 ★★★★★" in history
    assert "确认后修改" in history and "李书记" in history


async def test_who_may_see_the_ledger(aiohttp_client: Any, make_settings: Any) -> None:
    client, _ = await app(aiohttp_client, make_settings)
    b = await build()
    street = await Organisation.get(path="示范街道党工委")
    staff = await make_member("白辉", "13900000099", role=Role.STAFF, org=street)

    await sign_in(client, b.other_secretary)
    assert (await client.get(f"/admin/stars?org={b.one.id}")).status == 403
    assert (await client.get(f"/admin/stars/members/{b.wang.id}")).status == 403
    assert (await client.get("/admin/stars?year=2030")).status == 400

    # A plain member: the link signs nobody in, and the page sends her to how to sign in.
    link = await issue_link(client.app[SETTINGS], b.wang, NOW)
    login = await client.post("/admin/login", data={"t": token_in(link)}, allow_redirects=False)
    assert login.status == 403
    client.session.cookie_jar.clear()
    away = await client.get("/admin/stars", allow_redirects=False)
    assert away.status == 303 and away.headers["Location"] == "/admin/signin"

    await sign_in(client, b.secretary)
    await client.get("/admin/stars")
    token = token_of(await (await client.get("/admin/stars")).text())
    await client.post(
        "/admin/stars/decide",
        data={"form_token": token, "form": "m", "org": str(b.one.id), "year": "2026",
              "member": str(b.wang.id), "star": "4"},
    )  # fmt: skip

    await sign_in(client, staff)
    page = await (await client.get("/admin/stars")).text()
    assert "第一社区第一党支部" in page and "第一社区第二党支部" in page
    assert 'data-key="rated">1<' in page and 'data-key="pending">3<' in page
    assert "王芳" not in page and "★" not in page.split('id="caliber"')[0]
