"""报到 in the mini-program: an outside unit's member with the 报到码 (never bound), a street member
where they live (bound); registered once, then changed, never entered again.  A refused call is
followed by a look at the rows: nothing changed.
"""

from __future__ import annotations

from typing import Any

from server.app import create_app
from server.clock import FrozenClock
from server.models.community import CommunityMessage, Volunteer, VolunteerStatus
from server.services.community import volunteers
from tests.community_world import report, street
from tests.test_api_residents import NOW, World, rows, world

MP_APPID = "wxminiprogram0001"
PHONE = "13622223333"


def outside(w: World, **kw: Any) -> dict[str, Any]:
    body = {
        "code": w.s.unit.code,
        "name": "马税务",
        "phone": PHONE,
        "community_id": w.s.hongxing.id,
        "skills": "维修",
    }
    return body | kw


async def test_an_outside_member_registers_once_then_changes_skills_and_community(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    await w.call("GET", "/community/communities", "qing")  # 青山's secretary is reachable
    status, none = await w.call("GET", "/community/volunteer", "o-mp-taxman")
    assert (status, none) == (200, {"registration": None, "claims": [], "progress": None})
    status, first = await w.call("POST", "/community/volunteer", "o-mp-taxman", json=outside(w))
    assert status == 200 and first["registration"]["status"] == "pending", first
    status, mine = await w.call("GET", "/community/volunteer", "o-mp-taxman")
    assert mine["registration"] == first["registration"]
    await volunteers.decide(s.people["hong"], first["registration"]["id"], NOW, confirm=True)

    # Confirmed once, then changed: a second registration is refused and changes nothing.
    before = await rows()
    for body in (outside(w), outside(w, phone="13655556666", community_id=s.qingshan.id)):
        status, again = await w.call("POST", "/community/volunteer", "o-mp-taxman", json=body)
        assert (status, again["code"]) == (409, "VOLUNTEER_EXISTS"), again
        assert "只报到一次" in again["error"]
    assert await rows() == before

    # Skills change in place; the confirmation stands.
    status, changed = await w.call(
        "PATCH", "/community/volunteer", "o-mp-taxman", json={"skills": "维修 助老，法律咨询"}
    )
    assert status == 200, changed
    assert changed["registration"]["skills"] == "维修、助老、法律咨询"
    assert changed["registration"]["status"] == "confirmed"

    # A move: the new community confirms again, and its secretary is told.
    status, moved = await w.call(
        "PATCH", "/community/volunteer", "o-mp-taxman", json={"community_id": s.qingshan.id}
    )
    assert status == 200, moved
    assert moved["registration"]["community"]["name"] == "青山社区"
    assert moved["registration"]["status"] == "pending"
    status, waiting = await w.call("GET", "/community/volunteer/orders", "o-mp-taxman")
    assert (status, waiting["code"]) == (403, "NOT_CONFIRMED")
    told = await CommunityMessage.all().order_by("id").values_list("kind", "openid")
    qing = f"o-mp-{s.people['qing'].id:06d}-{s.people['qing'].phone[-4:]}"
    assert told[-1] == ("volunteer_registered", qing), told
    status, pending = await w.call("GET", "/community/volunteers", "qing")
    assert [v["name"] for v in pending["items"]] == ["马税务"]


async def test_a_bound_street_member_reports_with_their_roster_name_and_phone(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    await w.call("GET", "/community/communities", "hong")
    status, mine = await w.call(
        "POST",
        "/community/volunteer",
        "plain",
        json={"community_id": s.hongxing.id, "skills": "助老"},
    )
    assert status == 200, mine
    registration = mine["registration"]
    assert (registration["name"], registration["phone"]) == ("周党员", "137****0005")
    assert registration["unit"] is None and registration["status"] == "pending"
    v = await Volunteer.get(id=registration["id"])
    assert v.member_id == s.people["plain"].id
    kinds = await CommunityMessage.all().values_list("kind", flat=True)
    assert kinds == ["volunteer_registered"]
    # Naming oneself is for those with a 报到码.
    before = await rows()
    status, answer = await w.call(
        "POST",
        "/community/volunteer",
        "wang",
        json={"name": "王五", "phone": "13700000006", "community_id": s.hongxing.id},
    )
    assert (status, answer["field"]) == (400, "code"), answer
    assert await rows() == before


async def test_a_street_member_who_reported_in_chat_finds_it_here_and_cannot_report_again(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    await report(s, "wang", s.hongxing, NOW)
    status, mine = await w.call("GET", "/community/volunteer", "wang")
    assert status == 200 and mine["registration"]["status"] == "confirmed", mine
    before = await rows()
    status, again = await w.call(
        "POST", "/community/volunteer", "wang", json={"community_id": s.qingshan.id}
    )
    assert (status, again["code"]) == (409, "VOLUNTEER_EXISTS"), again
    assert await rows() == before


async def test_a_phone_that_reported_in_the_official_account_is_sent_back_there(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    """The 公众号 and the mini-program are two apps: one person, two openids, nothing links them."""
    clock = FrozenClock(NOW)
    settings = make_settings(identity_ttl=0, scheduler=False, wechat_mp_appid=MP_APPID)
    client = await aiohttp_client(create_app(settings, clock=clock))
    w = World(client, fake_wechat[0], clock, await street(NOW))
    s = w.s
    await volunteers.apply(
        volunteers.Application("马税务", PHONE, s.unit, None, s.hongxing, "维修"),
        NOW,
        appid=settings.appid,
        openid="o-oa-taxman",
    )
    before = await rows()
    status, answer = await w.call("POST", "/community/volunteer", "o-mp-taxman", json=outside(w))
    assert (status, answer["code"], answer["field"]) == (409, "VOLUNTEER_EXISTS", "phone"), answer
    assert "公众号" in answer["error"]
    status, mine = await w.call("GET", "/community/volunteer", "o-mp-taxman")
    assert mine["registration"] is None
    # Someone else in the mini-program with the same phone: refused, without the 公众号's word.
    await Volunteer.filter(phone=PHONE).update(appid=MP_APPID, openid="o-mp-first")
    status, other = await w.call("POST", "/community/volunteer", "o-mp-second", json=outside(w))
    assert (status, other["code"], other["field"]) == (409, "VOLUNTEER_EXISTS", "phone"), other
    assert "公众号" not in other["error"]
    assert await rows() == before


async def test_a_refused_member_may_apply_again(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    status, first = await w.call("POST", "/community/volunteer", "o-mp-taxman", json=outside(w))
    vid = first["registration"]["id"]
    await volunteers.decide(s.people["hong"], vid, NOW, confirm=False, reason="不住本社区")
    status, mine = await w.call("GET", "/community/volunteer", "o-mp-taxman")
    assert (mine["registration"]["status"], mine["registration"]["reason"]) == (
        "refused",
        "不住本社区",
    )
    status, again = await w.call(
        "POST", "/community/volunteer", "o-mp-taxman", json=outside(w, community_id=s.qingshan.id)
    )
    assert status == 200, again
    assert again["registration"]["id"] == vid and again["registration"]["status"] == "pending"
    assert again["registration"]["community"]["name"] == "青山社区"


async def test_registration_refuses_bad_values_naming_the_field(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    before = await rows()
    for body, name in (
        (outside(w, code="ZZZZZZ"), "code"),
        (outside(w, code="不是报到码"), "code"),
        (outside(w, code=None), "code"),  # unbound, without a code
        ({"community_id": w.s.hongxing.id}, "code"),
        (outside(w, name=None), "name"),
        (outside(w, phone=None), "phone"),
        (outside(w, phone="12345"), "phone"),
        (outside(w, community_id=999_999), "community_id"),
        (outside(w, community_id=-1), "community_id"),
        (outside(w, skills="长" * 201), "skills"),
        (outside(w, extra=1), "extra"),
    ):
        status, answer = await w.call("POST", "/community/volunteer", "o-mp-taxman", json=body)
        assert (status, answer["field"]) == (400, name), (body, answer)
    for body, name in (
        ({}, "body"),
        ({"community_id": 999_999}, "community_id"),
        ({"skills": "长" * 201}, "skills"),
    ):
        status, answer = await w.call("PATCH", "/community/volunteer", "o-mp-taxman", json=body)
        assert status in (400, 403), (body, answer)
        if status == 400:
            assert answer["field"] == name, (body, answer)
    status, nobody = await w.call(
        "PATCH", "/community/volunteer", "o-mp-taxman", json={"skills": "助老"}
    )
    assert (status, nobody["code"]) == (403, "NOT_REPORTED"), nobody
    assert await rows() == before


async def test_unsigned_calls_are_401(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    before = await rows()
    for method, path, body in (
        ("GET", "/community/volunteer", None),
        ("POST", "/community/volunteer", outside(w)),
        ("PATCH", "/community/volunteer", {"skills": "助老"}),
        ("GET", "/community/volunteer/orders", None),
        ("POST", "/community/volunteer/orders/1/claim", None),
        ("POST", "/community/volunteer/orders/1/withdraw", None),
        ("POST", "/community/volunteer/orders/1/done", {"note": "好了"}),
    ):
        status, answer = await w.call(method, path, None, json=body)
        assert (status, answer["code"]) == (401, "UNAUTHORIZED"), (method, path)
    assert await rows() == before
    assert await Volunteer.filter(status=VolunteerStatus.PENDING).count() == 0
