"""居民点单 in the mini-program, and the whole loop with people who never bind: a resident posts,
the community dispatches, an outside unit's member reports with the 报到码 and serves, the
resident rates.  Then every way in that must stay shut, each followed by a look at the rows.

Through the real HTTP server with a frozen clock: Wednesday 25 November 2026, 10:00 in Shanghai.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.clock import FrozenClock
from server.models.community import (
    CommunityMessage,
    Need,
    Resident,
    ServiceEvent,
    ServiceOrder,
    Volunteer,
)
from server.services.community import orders
from server.typedefs import SETTINGS
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in, signed_in_unbound
from tests.community_world import Street, a_need, report, served, spec, street

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
TOMORROW_9AM = "2026-11-26T09:00:00+08:00"
ME = {"name": "刘阿姨", "phone": "13811112222", "place": "幸福小区5栋301"}
MEMBER_PHONE = "13622223333"


@dataclass
class World:
    client: TestClient
    fake: FakeWeChat
    clock: FrozenClock
    s: Street
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def call(self, method: str, path: str, who: str | None, **kw: Any) -> tuple[int, Any]:
        """`who`: a street member by their key in `s.people`, else an unbound user's openid."""
        headers = {}
        if who is not None:
            if who not in self._headers:
                if who in self.s.people:
                    signing = signed_in(self.client, self.fake, self.s.people[who])
                else:
                    signing = signed_in_unbound(self.client, self.fake, who)
                self._headers[who] = await signing
            headers = self._headers[who]
        resp = await self.client.request(method, "/api/v1" + path, headers=headers, **kw)
        return resp.status, await resp.json()

    def travel(self, moment: datetime) -> None:
        """Sessions last two hours: everyone signs in again when next asked."""
        self.clock.set(moment)
        self._headers.clear()


async def world(aiohttp_client: Any, make_settings: Any, fake_wechat: Any) -> World:
    clock = FrozenClock(NOW)
    settings = make_settings(identity_ttl=0, scheduler=False)
    client = await aiohttp_client(create_app(settings, clock=clock))
    return World(client, fake_wechat[0], clock, await street(NOW))


async def registered(w: World, who: str = "o-mp-resident") -> dict[str, Any]:
    status, me = await w.call(
        "PUT", "/community/resident", who, json=ME | {"community_id": w.s.hongxing.id}
    )
    assert status == 200, me
    return me


async def rows() -> dict[str, Any]:
    """Everything a refused call might have changed."""
    return {
        "residents": sorted(
            await Resident.all().values_list("id", "name", "phone", "community_id", "place")
        ),
        "needs": sorted(await Need.all().values_list("id", "status", "reason")),
        "orders": sorted(await ServiceOrder.all().values_list("id", "status", "rating")),
        "volunteers": sorted(
            await Volunteer.all().values_list("id", "status", "community_id", "skills")
        ),
        "events": await ServiceEvent.all().count(),
        "messages": await CommunityMessage.all().count(),
    }


# --- the loop, end to end, nobody bound but the community ------------------------------------


async def test_a_resident_and_an_outside_member_go_round_the_loop_in_the_mini_program(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    mp_appid = w.client.app[SETTINGS].mp_appid
    await w.call("GET", "/community/communities", "hong")  # 李总支 has signed in: reachable

    # The communities to choose from are public.
    status, listed = await w.call("GET", "/community/communities/public", None)
    assert status == 200 and listed["items"] == [
        {"id": s.hongxing.id, "name": "红星社区"},
        {"id": s.qingshan.id, "name": "青山社区"},
    ]

    # 居民登记: nothing yet, then registered, then corrected on the same row.
    status, none = await w.call("GET", "/community/resident", "o-mp-resident")
    assert (status, none) == (200, {"resident": None})
    status, early = await w.call(
        "POST", "/community/needs", "o-mp-resident", json={"text": "灯坏了好几天"}
    )
    assert (status, early["code"]) == (403, "NOT_REGISTERED") and "登记" in early["error"]
    me = await registered(w)
    assert me["phone"] == "138****2222" and me["community"]["name"] == "红星社区"
    status, fixed = await w.call(
        "PUT",
        "/community/resident",
        "o-mp-resident",
        json=ME | {"community_id": s.hongxing.id, "place": "幸福小区5栋302"},
    )
    assert status == 200 and fixed["id"] == me["id"] and fixed["place"] == "幸福小区5栋302"
    status, mine = await w.call("GET", "/community/resident", "o-mp-resident")
    assert mine["resident"] == fixed

    # 居民点单: the community's secretary is told, as in chat.
    status, need = await w.call(
        "POST", "/community/needs", "o-mp-resident", json={"text": "楼道灯坏了，5栋2单元"}
    )
    assert status == 200 and need["status"] == "new" and need["order"] is None, need
    assert need["has_photo"] is False
    status, listed_needs = await w.call("GET", "/community/my-needs", "o-mp-resident")
    assert [n["id"] for n in listed_needs["items"]] == [need["id"]] and listed_needs["total"] == 1

    # An in-service member of the 报到单位 reports in the mini-program with the 报到码.
    status, reported = await w.call(
        "POST",
        "/community/volunteer",
        "o-mp-taxman",
        json={
            "code": s.unit.code.lower(),
            "name": "马税务",
            "phone": MEMBER_PHONE,
            "community_id": s.hongxing.id,
            "skills": "维修，助老",
        },
    )
    assert status == 200, reported
    registration = reported["registration"]
    assert (
        registration["status"] == "pending" and registration["unit"]["name"] == "区税务局机关党委"
    )
    assert registration["skills"] == "维修、助老" and registration["phone"] == "136****3333"
    status, waiting = await w.call("GET", "/community/volunteer/orders", "o-mp-taxman")
    assert (status, waiting["code"]) == (403, "NOT_CONFIRMED")
    status, pending = await w.call("GET", "/community/volunteers", "hong")
    assert [v["name"] for v in pending["items"]] == ["马税务"]
    status, confirmed = await w.call(
        "POST",
        f"/community/volunteers/{registration['id']}/confirm",
        "hong",
        json={"grid": "二网格"},
    )
    assert status == 200 and confirmed["status"] == "confirmed"

    # 社区下单 through the manager's endpoints.
    status, order = await w.call(
        "POST",
        f"/community/needs/{need['id']}/dispatch",
        "hong",
        json={
            "kind": "维修",
            "title": "楼道灯维修",
            "place": "幸福小区5栋",
            "starts_at": TOMORROW_9AM,
        },
    )
    assert status == 200, order
    status, open_ = await w.call("GET", "/community/volunteer/orders", "o-mp-taxman")
    assert [o["id"] for o in open_["items"]] == [order["id"]]
    status, claimed = await w.call(
        "POST", f"/community/volunteer/orders/{order['id']}/claim", "o-mp-taxman"
    )
    assert status == 200 and claimed["contact"]["phone"] == ME["phone"], claimed

    # The resident sees who serves, by name only.
    status, seen = await w.call("GET", f"/community/my-needs/{need['id']}", "o-mp-resident")
    assert status == 200, seen
    assert seen["status"] == "dispatched" and seen["order"]["id"] == order["id"]
    assert seen["order"]["served_by"] == ["马税务"] and seen["order"]["can_rate"] is False
    assert [e["action"] for e in seen["timeline"]] == ["点单", "下单", "接单"]
    assert MEMBER_PHONE not in json.dumps(seen) and "3333" not in json.dumps(seen)

    # Done, reported (with a phone in the note), confirmed; then rated.
    w.travel(NOW + timedelta(days=1, hours=2))
    status, done = await w.call(
        "POST",
        f"/community/volunteer/orders/{order['id']}/done",
        "o-mp-taxman",
        json={"note": f"换好了灯，有问题打我电话{MEMBER_PHONE}", "hours": 1},
    )
    assert status == 200 and done["status"] == "done", done
    status, closed = await w.call("POST", f"/community/orders/{order['id']}/complete", "hong")
    assert status == 200 and closed["status"] == "completed"
    status, page = await w.call("GET", "/community/my-needs", "o-mp-resident")
    [item] = page["items"]
    assert item["order"]["status"] == "completed" and item["order"]["can_rate"] is True
    assert item["order"]["rate_until"] == "2026-12-03T12:00:00+08:00"
    status, detail = await w.call("GET", f"/community/my-needs/{need['id']}", "o-mp-resident")
    assert MEMBER_PHONE not in json.dumps(detail, ensure_ascii=False)
    assert "换好了灯" in detail["timeline"][-2]["note"]
    status, rated = await w.call(
        "POST",
        f"/community/my-orders/{order['id']}/rating",
        "o-mp-resident",
        json={"stars": 5, "note": "很及时"},
    )
    assert status == 200, rated
    assert (rated["order"]["rating"], rated["order"]["rating_note"]) == (5, "很及时")
    assert rated["order"]["can_rate"] is False and rated["order"]["rate_until"] is None
    assert rated["timeline"][-1]["action"] == "评价"
    before = await rows()
    status, twice = await w.call(
        "POST", f"/community/my-orders/{order['id']}/rating", "o-mp-resident", json={"stars": 1}
    )
    assert (status, twice["code"]) == (409, "ALREADY_RATED")
    assert await rows() == before

    # Each step told whom chat's would, by the mini-program openids for those who never bound.
    told = await CommunityMessage.all().order_by("id").values_list("kind", "appid", "openid")
    hong = f"o-mp-{s.people['hong'].id:06d}-{s.people['hong'].phone[-4:]}"
    assert told == [
        ("need_posted", mp_appid, hong),
        ("volunteer_registered", mp_appid, hong),
        ("volunteer_decided", mp_appid, "o-mp-taxman"),
        ("order_dispatched", mp_appid, "o-mp-taxman"),
        ("need_dispatched", mp_appid, "o-mp-resident"),
        ("order_claimed", mp_appid, "o-mp-resident"),
        ("work_reported", mp_appid, hong),
        ("order_completed", mp_appid, "o-mp-resident"),
    ]


async def test_my_needs_are_paged_newest_first_and_a_refusal_says_why(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    await registered(w)
    ids = []
    for i in range(3):
        w.clock.set(NOW + timedelta(minutes=i))
        status, need = await w.call(
            "POST", "/community/needs", "o-mp-resident", json={"text": f"第{i}件需要帮忙的事"}
        )
        assert status == 200, need
        ids.append(need["id"])
    status, refused = await w.call(
        "POST", f"/community/needs/{ids[0]}/refuse", "hong", json={"reason": "属物业维修范围"}
    )
    assert status == 200, refused
    status, first = await w.call("GET", "/community/my-needs?per_page=2", "o-mp-resident")
    assert [n["id"] for n in first["items"]] == ids[:0:-1] and first["total"] == 3
    status, second = await w.call("GET", "/community/my-needs?per_page=2&page=2", "o-mp-resident")
    [oldest] = second["items"]
    assert oldest["id"] == ids[0] and oldest["status"] == "refused"
    assert (oldest["status_label"], oldest["reason"]) == ("不予受理", "属物业维修范围")


# --- who may not, and what is refused ----------------------------------------------------------


async def test_another_residents_need_and_order_are_answered_as_ones_that_do_not_exist(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    theirs = await served(w.s, NOW)  # 张秀兰's (registered in the 公众号), not yet rated
    await ServiceOrder.filter(id=theirs.id).update(rating=None, rating_note="", rated_at=None)
    assert theirs.need_id is not None
    await registered(w)
    before = await rows()
    status, answer = await w.call("GET", f"/community/my-needs/{theirs.need_id}", "o-mp-resident")
    assert (status, answer["field"]) == (404, "id"), answer
    assert await w.call("GET", "/community/my-needs/999999", "o-mp-resident") == (status, answer)
    rating = "/community/my-orders/{}/rating"
    status, answer = await w.call(
        "POST", rating.format(theirs.id), "o-mp-resident", json={"stars": 1}
    )
    assert (status, answer["field"]) == (404, "id"), answer
    assert await w.call("POST", rating.format(999_999), "o-mp-resident", json={"stars": 1}) == (
        status,
        answer,
    )
    status, listed = await w.call("GET", "/community/my-needs", "o-mp-resident")
    assert listed["items"] == [] and listed["total"] == 0
    assert await rows() == before


async def test_ratings_out_of_range_too_early_or_too_late_are_refused(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    await registered(w)
    status, need = await w.call(
        "POST", "/community/needs", "o-mp-resident", json={"text": "水管漏水，厨房"}
    )
    order = await orders.dispatch(s.people["hong"], spec(NOW), NOW, need_id=need["id"])
    rating = f"/community/my-orders/{order.id}/rating"
    before = await rows()
    for body, name in (
        ({"stars": 0}, "stars"),
        ({"stars": 6}, "stars"),
        ({"stars": "五"}, "stars"),
        ({}, "stars"),
        ({"stars": 5, "note": "好" * 301}, "note"),
        ({"stars": 5, "extra": 1}, "extra"),
    ):
        status, answer = await w.call("POST", rating, "o-mp-resident", json=body)
        assert (status, answer["field"]) == (400, name), (body, answer)
    status, early = await w.call("POST", rating, "o-mp-resident", json={"stars": 5})
    assert (status, early["code"]) == (409, "ORDER_NOT_DONE")
    assert await rows() == before
    # Served and confirmed; eight days later the week is over.
    wang = await report(s, "wang", s.hongxing, NOW)
    await orders.claim(wang, order.id, NOW)
    later = NOW + timedelta(days=1, hours=2)
    await orders.report_done(wang, order.id, "修好了", later)
    await orders.confirm_done(s.people["hong"], order.id, later)
    w.travel(later + timedelta(days=8))
    status, page = await w.call("GET", "/community/my-needs", "o-mp-resident")
    assert page["items"][0]["order"]["can_rate"] is False
    before = await rows()
    status, late = await w.call("POST", rating, "o-mp-resident", json={"stars": 5})
    assert (status, late["code"]) == (409, "RATING_CLOSED")
    assert await rows() == before


async def test_registering_refuses_bad_values_naming_the_field(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    good = ME | {"community_id": w.s.hongxing.id}
    before = await rows()
    for body, name in (
        (good | {"phone": "12345"}, "phone"),
        (good | {"phone": "23800000000"}, "phone"),
        (good | {"community_id": 999_999}, "community_id"),
        (good | {"community_id": 0}, "community_id"),
        (good | {"place": "  "}, "place"),
        (good | {"name": ""}, "name"),
        ({k: v for k, v in good.items() if k != "place"}, "place"),
    ):
        status, answer = await w.call("PUT", "/community/resident", "o-mp-resident", json=body)
        assert (status, answer["field"]) == (400, name), (body, answer)
        assert re.search(r"[\u4e00-\u9fff]", answer["error"]), answer
    await registered(w)
    before = await rows()
    for text in ("灯", " " * 5, "字" * 501):
        status, answer = await w.call(
            "POST", "/community/needs", "o-mp-resident", json={"text": text}
        )
        assert (status, answer["field"]) == (400, "text"), (text, answer)
    assert await rows() == before


async def test_unsigned_calls_are_401_and_a_resident_is_refused_the_desk(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    from tests.test_api_community import desk_calls

    w = await world(aiohttp_client, make_settings, fake_wechat)
    await registered(w)
    need = await a_need(w.s, NOW)
    order = await orders.dispatch(w.s.people["hong"], spec(NOW), NOW, need_id=need.id)
    pending = await report(w.s, "wang", w.s.hongxing, NOW, confirm=False)
    before = await rows()
    for method, path, body in (
        ("GET", "/community/resident", None),
        ("PUT", "/community/resident", ME | {"community_id": w.s.hongxing.id}),
        ("POST", "/community/needs", {"text": "楼道灯坏了"}),
        ("GET", "/community/my-needs", None),
        ("GET", f"/community/my-needs/{need.id}", None),
        ("POST", f"/community/my-orders/{order.id}/rating", {"stars": 5}),
    ):
        status, answer = await w.call(method, path, None, json=body)
        assert (status, answer["code"]) == (401, "UNAUTHORIZED"), (method, path)
    for method, path, body in desk_calls(need.id, order.id, pending.id, w.s.hongxing.id):
        status, answer = await w.call(method, path, "o-mp-resident", json=body)
        assert status == 403 and "绑定" in answer["error"], (method, path, answer)
    assert await rows() == before
