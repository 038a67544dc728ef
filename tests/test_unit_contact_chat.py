"""A 报到单位's contact in chat, the link they are sent, the API's 联系卡 for staff and the
communities' managers, and the quarterly job that writes each contact's message once.

Through the real endpoint with a frozen clock: Monday 7 December 2026, 10:00 in Shanghai.  A
refusal is followed by a look at the rows: nothing was written.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from scheduler.leadership import Leadership
from scheduler.periodic import PeriodicRuns, leader_check
from scheduler.runner import timed_jobs
from scheduler.unit_cards import quarterly, send_unit_cards
from server.app import create_app
from server.clock import FrozenClock
from server.models.community import CommunityMessage, UnitContact
from server.models.jobs import JobRun
from server.models.people import Member, Organisation, Role
from server.services.community import unit_contacts
from server.typedefs import CACHE, SETTINGS, WECHAT_CLIENTS
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import make_member
from tests.test_checkin_chat import frozen_app
from tests.test_contact_card import FORMULA_NAME, World, card_world, local
from tests.test_meetings_chat import say
from tests.wechat_peer import WeChatPeer, openid_for

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
CONTACT, HOSPITAL, GUESSER = (openid_for(n) for n in ("tax-contact", "hosp-contact", "guesser"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def chat(
    aiohttp_client: Any, make_settings: Any
) -> tuple[TestClient, WeChatPeer, FrozenClock, World]:
    client, peer, clock = await frozen_app(aiohttp_client, make_settings, NOW)
    return client, peer, clock, await card_world()


def link_in(reply: str) -> str:
    found = re.search(r"https?://\S+", reply)
    assert found, reply
    parts = urlsplit(found.group())
    return f"{parts.path}?{parts.query}"


async def test_the_contact_binds_with_the_registered_phone_and_reads_the_card(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, w = await chat(aiohttp_client, make_settings)
    wrong = await say(client, peer, CONTACT, f"单位联络 {w.tax.code} 13911119999")
    assert wrong == unit_contacts.REFUSED
    unknown = await say(client, peer, CONTACT, "单位联络 ZZZZZZ 13911112222")
    assert unknown == wrong  # a refusal says nothing of which part was wrong
    assert await UnitContact.all().count() == 0
    assert "单位联络 K7M4Q9 13900000000" in await say(client, peer, CONTACT, "单位联络")

    bound = await say(client, peer, CONTACT, f"单位联络 {w.tax.code.lower()} 139 1111 2222")
    assert "已登记为「区税务局机关党委」的联络人" in bound
    contact = await UnitContact.get(openid=CONTACT)
    assert contact.unit_id == w.tax.id and contact.name == "赵联络"
    again = await say(client, peer, CONTACT, f"单位联络 {w.tax.code} 13911112222")
    assert "您已是「区税务局机关党委」的联络人" in again
    assert await UnitContact.all().count() == 1

    card = await say(client, peer, CONTACT, "联系卡")
    assert card.startswith("区税务局机关党委 2026年第四季度（截至12月7日）")
    assert "报到党员3人" in card and "本季度未参加服务" in card and FORMULA_NAME in card
    assert "钱七" not in card and "区人民医院" not in card
    resp = await client.get(link_in(card))
    assert resp.status == 200 and resp.headers["Content-Type"] == XLSX
    assert "no-store" in resp.headers["Cache-Control"]
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    assert sheet is not None
    assert sheet["A1"].value == "区税务局机关党委在职党员到社区报到服务情况（2026年第四季度）"
    assert [sheet.cell(row=r, column=2).value for r in (4, 5, 6)] == ["周一", FORMULA_NAME, "安二"]

    last = await say(client, peer, CONTACT, "联系卡 上季度")
    assert last.startswith("区税务局机关党委 2026年第三季度在职党员")
    assert "/unit-card/" in last and "2026Q3" in last


async def test_a_contact_reads_only_their_own_unit(aiohttp_client: Any, make_settings: Any) -> None:
    client, peer, clock, w = await chat(aiohttp_client, make_settings)
    await say(client, peer, CONTACT, f"单位联络 {w.tax.code} 13911112222")
    await say(client, peer, HOSPITAL, f"单位联络 {w.hospital.code} 13933334444")
    # The commands take no unit: naming another one shows how to ask, and nothing of it.
    asked = await say(client, peer, HOSPITAL, "联系卡 区税务局机关党委")
    assert "区税务局" not in asked and "联系卡 上季度" in asked
    theirs = await say(client, peer, HOSPITAL, "联系卡")
    assert theirs.startswith("区人民医院党委") and "周一" not in theirs
    # The hospital's link turned towards the tax bureau's card: refused.
    link = link_in(theirs)
    stolen = link.replace(f"/unit-card/{w.hospital.id}/", f"/unit-card/{w.tax.id}/")
    resp = await client.get(stolen)
    assert resp.status == 403 and "链接无效" in await resp.text()
    assert (await client.get(link.replace("2026Q4", "2026Q3"))).status == 403
    # Tampered, missing or forged tokens.
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    for bad in (
        tampered,
        link.split("?")[0],
        f"/unit-card/{w.tax.id}/2026Q4?t=x",
        "/unit-card/0/x",
    ):
        resp = await client.get(bad)
        assert resp.status == 403, bad
    assert (await client.get(link)).status == 200
    clock.advance(days=7, seconds=1)
    resp = await client.get(link)
    assert resp.status == 410 and "已过期" in await resp.text()
    # Someone who is no contact at all.
    assert "还不是报到单位的联络人" in await say(client, peer, GUESSER, "联系卡")


async def test_guessing_the_phone_is_limited_per_wechat_user(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, w = await chat(aiohttp_client, make_settings)
    for n in range(unit_contacts.TRIES_PER_USER):
        assert await say(client, peer, GUESSER, f"单位联络 {w.tax.code} 1391111000{n}") == (
            unit_contacts.REFUSED
        )
    # Even the right phone now: the hour is spent, nothing is looked at or written.
    limited = await say(client, peer, GUESSER, f"单位联络 {w.tax.code} 13911112222")
    assert limited == unit_contacts.TOO_MANY
    assert await UnitContact.all().count() == 0
    # Others are not held up by one guesser.
    assert "已登记为" in await say(client, peer, CONTACT, f"单位联络 {w.tax.code} 13911112222")


# ---- the API ---------------------------------------------------------------------------------


async def test_staff_and_paired_managers_read_a_units_card_and_others_are_refused(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, _, _, w = await chat(aiohttp_client, make_settings)
    qing_org = await Organisation.get(path="示范街道党工委/青山社区党总支")
    people: dict[str, Member] = {
        "staff": await make_member("钱干事", "13700000003", role=Role.STAFF, org=w.committee),
        "qing": await make_member(
            "赵书记", "13700000002", role=Role.GENERAL_SECRETARY, org=qing_org
        ),
        "plain": await make_member("周党员", "13700000005", org=qing_org),
    }

    async def get(who: str, path: str) -> Any:
        headers = await signed_in(client, fake, people[who])
        return await client.get("/api/v1" + path, headers=headers)

    resp = await get("staff", f"/community/units/{w.tax.id}/card?quarter=2026Q4")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["unit"] == {"id": w.tax.id, "name": "区税务局机关党委"}
    assert [m["name"] for m in body["members"]] == ["周一", FORMULA_NAME, "安二"]
    assert body["not_served"] == [{"id": w.people["formula"].id, "name": FORMULA_NAME}]
    assert body["totals"]["claims"] == 6 and body["so_far"] is True
    resp = await get("staff", f"/community/units/{w.hospital.id}/card?format=xlsx")
    assert resp.status == 200 and resp.headers["Content-Type"] == XLSX
    # 青山社区 is paired with the tax bureau, not with the hospital.
    assert (await get("qing", f"/community/units/{w.tax.id}/card")).status == 200
    other = await get("qing", f"/community/units/{w.hospital.id}/card")
    assert other.status == 403 and (await other.json())["code"] == "FORBIDDEN"
    missing = await get("qing", "/community/units/999999/card")
    assert missing.status == 403 and (await missing.json()) == (await other.json())
    assert (await get("plain", f"/community/units/{w.tax.id}/card")).status == 403
    future = await get("staff", f"/community/units/{w.tax.id}/card?quarter=2027Q2")
    assert future.status == 400 and (await future.json())["field"] == "quarter"
    assert (await get("staff", f"/community/units/{w.tax.id}/card?quarter=26Q4")).status == 400


# ---- the quarterly job -----------------------------------------------------------------------


def test_the_card_is_due_on_each_quarters_first_day() -> None:
    due = quarterly(9, 0)
    assert due(local(2027, 1, 1, 9, 0)) == local(2027, 1, 1, 9, 0)
    assert due(local(2027, 1, 1, 8, 59)) == local(2026, 10, 1, 9, 0)
    assert due(local(2026, 12, 31, 23, 0)) == local(2026, 10, 1, 9, 0)
    assert due(local(2026, 5, 20, 12, 0)) == local(2026, 4, 1, 9, 0)


async def test_each_contact_gets_last_quarters_card_once(
    aiohttp_client: Any, make_settings: Any
) -> None:
    clock = FrozenClock(local(2027, 1, 1, 8, 59))
    client = await aiohttp_client(create_app(make_settings(scheduler=False), clock=clock))
    app = client.app
    w = await card_world()
    for n, (unit, openid) in enumerate(
        ((w.tax, CONTACT), (w.tax, GUESSER), (w.hospital, HOSPITAL))
    ):
        await UnitContact.create(
            unit=unit, appid=app[SETTINGS].appid, openid=openid, bound_at=local(2026, 12, n + 1)
        )
    leader = Leadership(app[CACHE], ttl=30)
    runs = PeriodicRuns(clock, leader.me)
    jobs = timed_jobs(app[SETTINGS], clock, app[WECHAT_CLIENTS], leader.fence, cache=app[CACHE])
    assert "unit-cards" not in await leader_check(leader, runs, jobs)  # October's is long past
    clock.set(local(2027, 1, 1, 9, 0, 30))
    assert "unit-cards" in await leader_check(leader, runs, jobs)
    rows = await CommunityMessage.all().order_by("id")
    contacts = {c.openid: c for c in await UnitContact.all()}
    assert [r.key for r in rows] == [
        f"card:{w.tax.id}:2026Q4:{contacts[CONTACT].id}",
        f"card:{w.tax.id}:2026Q4:{contacts[GUESSER].id}",
        f"card:{w.hospital.id}:2026Q4:{contacts[HOSPITAL].id}",
    ]
    tax_text = rows[0].text
    assert tax_text.startswith("【联系卡】区税务局机关党委 2026年第四季度在职党员")
    assert "截至" not in tax_text and "/unit-card/" in tax_text and rows[0].kind == "unit_card"
    assert "周一" not in rows[2].text and rows[0].openid == CONTACT
    # Each link downloads its own unit's card.
    resp = await client.get(link_in(rows[2].text))
    assert resp.status == 200
    # The period runs once; a rerun after a crash (its run record lost) writes no second row.
    clock.advance(60)
    assert "unit-cards" not in await leader_check(leader, runs, jobs)
    await JobRun.filter(job="unit-cards").delete()
    assert await send_unit_cards(clock, app[SETTINGS], app[CACHE], "2027-01-01") == 0
    assert await CommunityMessage.all().count() == 3
