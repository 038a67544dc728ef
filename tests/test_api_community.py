"""双报到 and the 四单制 through the REST API: the community's desk, the reported member's
orders, the public 晒单; then every way in that must stay shut.

Through the real HTTP server with a frozen clock: Wednesday 25 November 2026, 10:00 in
Shanghai.  A refused call is followed by a look at the rows: nothing changed.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.clock import FrozenClock
from server.errors import Conflict
from server.models.community import (
    ClaimStatus,
    CommunityMessage,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    ReportUnit,
    ServiceEvent,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.services.community import orders
from server.services.community.units import CODE_SHAPE
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.community_world import RESIDENT, Street, a_need, outside_volunteers, report, spec, street

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
TOMORROW_9AM = "2026-11-26T09:00:00+08:00"
HIDDEN = "无权访问，或该对象不存在。"


@dataclass
class World:
    client: TestClient
    fake: FakeWeChat
    clock: FrozenClock
    s: Street
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def call(self, method: str, path: str, who: str | None, **kw: Any) -> tuple[int, Any]:
        headers = {}
        if who is not None:
            if who not in self._headers:
                self._headers[who] = await signed_in(self.client, self.fake, self.s.people[who])
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


def order_body(**kw: Any) -> dict[str, Any]:
    body = {
        "kind": "维修",
        "title": "楼道灯维修",
        "place": "幸福小区3栋",
        "starts_at": TOMORROW_9AM,
        "hours": 1.5,
        "capacity": 1,
    }
    return body | kw


async def rows() -> dict[str, Any]:
    """Everything a refused call might have changed."""
    return {
        "needs": sorted(await Need.all().values_list("id", "status", "reason")),
        "orders": sorted(await ServiceOrder.all().values_list("id", "status", "taken")),
        "claims": sorted(await OrderClaim.all().values_list("id", "status")),
        "volunteers": sorted(await Volunteer.all().values_list("id", "status", "grid")),
        "units": await ReportUnit.all().count(),
        "events": await ServiceEvent.all().count(),
    }


# --- the loop, end to end ------------------------------------------------------------------


async def test_a_need_goes_from_the_resident_to_the_public_showcase(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    status, mine = await w.call("GET", "/community/communities", "hong")
    assert status == 200, mine
    assert [c["name"] for c in mine["items"]] == ["红星社区"]
    status, all_of_them = await w.call("GET", "/community/communities", "staff")
    assert [c["name"] for c in all_of_them["items"]] == ["红星社区", "青山社区"]

    # 报到单位: registered, with a 报到码 to print on its notice.
    status, unit = await w.call(
        "POST",
        "/community/units",
        "hong",
        json={
            "name": "区人民医院党委",
            "kind": "医院",
            "contact_name": "刘主任",
            "contact_phone": "13600000001",
            "community_ids": [s.hongxing.id],
        },
    )
    assert status == 200, unit
    assert CODE_SHAPE.fullmatch(unit["code"])
    assert [c["name"] for c in unit["communities"]] == ["红星社区"]
    status, listed = await w.call("GET", "/community/units", "hong")
    assert {u["name"] for u in listed["items"]} == {"区人民医院党委", "区税务局机关党委"}

    # 报到党员: 王五 and 陈六 apply; the community confirms one, refuses the other.
    wang = await report(s, "wang", s.hongxing, NOW, confirm=False)
    chen = await report(s, "chen", s.hongxing, NOW, confirm=False)
    status, pending = await w.call("GET", "/community/volunteers", "hong")
    assert status == 200 and [v["name"] for v in pending["items"]] == ["王五", "陈六"]
    assert pending["items"][0]["phone"] == "137********"  # the carrier prefix only
    assert pending["items"][0]["street_member"] is True
    status, confirmed = await w.call(
        "POST", f"/community/volunteers/{wang.id}/confirm", "hong", json={"grid": "第一网格"}
    )
    assert status == 200 and confirmed["status"] == "confirmed", confirmed
    assert confirmed["grid"] == "第一网格"
    status, refused = await w.call(
        "POST", f"/community/volunteers/{chen.id}/refuse", "hong", json={"reason": "不住本社区"}
    )
    assert status == 200 and refused["status"] == "refused" and refused["reason"] == "不住本社区"
    status, again = await w.call(
        "POST", f"/community/volunteers/{chen.id}/confirm", "hong", json={}
    )
    assert status == 409 and again["code"] == "VOLUNTEER_DECIDED"

    # 居民点单 → 社区下单.
    need = await a_need(s, NOW)
    status, new = await w.call("GET", "/community/needs", "hong")
    assert [n["id"] for n in new["items"]] == [need.id]
    assert new["items"][0]["resident"] == dict(
        zip(("name", "phone", "place"), RESIDENT, strict=True)
    )
    status, order = await w.call(
        "POST", f"/community/needs/{need.id}/dispatch", "hong", json=order_body()
    )
    assert status == 200, order
    assert order["need_id"] == need.id and order["status"] == "open"
    assert order["starts_at"] == TOMORROW_9AM and order["ends_at"] == "2026-11-26T10:30:00+08:00"
    assert [e["action"] for e in order["timeline"]] == ["点单", "下单"]
    assert order["resident"]["phone"] == RESIDENT[1]
    status, twice = await w.call(
        "POST", f"/community/needs/{need.id}/dispatch", "hong", json=order_body()
    )
    assert status == 409 and twice["code"] == "NEED_DECIDED"
    status, handled = await w.call("GET", "/community/needs?status=dispatched", "hong")
    assert handled["items"][0]["order_id"] == order["id"]
    status, desk = await w.call("GET", "/community/communities", "hong")
    [red_star] = desk["items"]
    assert red_star["organisation"]["name"] == "红星社区党总支"
    assert (red_star["units"], red_star["volunteers"], red_star["pending_volunteers"]) == (2, 1, 0)
    assert (red_star["new_needs"], red_star["open_orders"]) == (0, 1)

    # 党员接单.
    status, me = await w.call("GET", "/community/volunteer", "wang")
    assert status == 200 and me["registration"]["status"] == "confirmed", me
    assert me["registration"]["phone"] == "137****0006" and me["claims"] == []
    assert me["progress"]["completed"] == 0 and me["progress"]["met"] is False
    status, open_ = await w.call("GET", "/community/volunteer/orders", "wang")
    assert [o["id"] for o in open_["items"]] == [order["id"]]
    status, claimed = await w.call(
        "POST", f"/community/volunteer/orders/{order['id']}/claim", "wang"
    )
    assert status == 200 and claimed["status"] == "claimed", claimed
    assert claimed["contact"]["phone"] == RESIDENT[1]  # the member who holds it may call
    assert claimed["order"]["taken"] == 1
    status, full = await w.call("GET", "/community/volunteer/orders", "wang")
    assert full["items"] == []
    status, early = await w.call(
        "POST", f"/community/volunteer/orders/{order['id']}/done", "wang", json={"note": "好了"}
    )
    assert status == 409 and early["code"] == "ORDER_NOT_STARTED"

    # The work is done, reported and confirmed.
    w.travel(NOW + timedelta(days=1, hours=2))
    status, done = await w.call(
        "POST",
        f"/community/volunteer/orders/{order['id']}/done",
        "wang",
        json={"note": f"已为{RESIDENT[0]}换好楼道灯，电话{RESIDENT[1]}", "hours": 1},
    )
    assert status == 200 and done["status"] == "done" and done["hours"] == 1.0, done
    status, closed = await w.call("POST", f"/community/orders/{order['id']}/complete", "hong")
    assert status == 200 and closed["status"] == "completed", closed
    assert [c["status"] for c in closed["claims"]] == ["done"]
    assert [e["action"] for e in closed["timeline"]] == ["点单", "下单", "接单", "完成", "确认完成"]
    status, me = await w.call("GET", "/community/volunteer", "wang")
    assert (me["progress"]["completed"], me["progress"]["hours"]) == (1, 1.0), me
    assert me["progress"]["sentence"].startswith("今年已完成服务1次、共1小时")
    status, listed_orders = await w.call("GET", "/community/orders?status=completed", "hong")
    assert [o["id"] for o in listed_orders["items"]] == [order["id"]]
    await outside_volunteers(s, s.hongxing, 1, NOW)
    status, units_now = await w.call(
        "GET", f"/community/units?community_id={s.hongxing.id}", "hong"
    )
    tax = next(u for u in units_now["items"] if u["name"] == "区税务局机关党委")
    assert (tax["volunteers"], tax["pending_volunteers"], tax["claims_done"]) == (1, 0, 0)
    assert [c["name"] for c in tax["communities"]] == ["红星社区"]  # 青山社区 is not hers

    # Through the API each step tells whom chat's would, written to the outbox with the step: the
    # resident at each turn, the secretary of the work done.  王五 had never signed in when he
    # was confirmed and the order dispatched: nothing could reach him (he sees it in the app).
    told = await CommunityMessage.all().order_by("id").values_list("kind", flat=True)
    assert told == ["need_dispatched", "order_claimed", "work_reported", "order_completed"]

    # 组织晒单: anyone, without signing in; no resident's name, phone or address.
    status, shown = await w.call("GET", f"/community/{s.hongxing.id}/showcase", None)
    assert status == 200, shown
    assert shown["community"]["name"] == "红星社区"
    assert shown["summary"]["orders"] == 1 and shown["summary"]["hours"] == 1.0
    [item] = shown["items"]
    assert item["title"] == "楼道灯维修" and item["by"] == ["王五（本街道）"]
    assert "换好楼道灯" in item["done"][0]
    text = json.dumps(shown, ensure_ascii=False)
    for private in RESIDENT:
        assert private not in text
    assert not re.search(r"1\d{10}", text)


async def test_a_member_withdraws_before_the_start_and_may_claim_again(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    await report(w.s, "wang", w.s.hongxing, NOW)
    status, order = await w.call("POST", "/community/orders", "hong", json=order_body())
    assert status == 200 and order["need_id"] is None and order["resident"] is None, order
    path = f"/community/volunteer/orders/{order['id']}"
    assert (await w.call("POST", f"{path}/claim", "wang"))[0] == 200
    status, left = await w.call("POST", f"{path}/withdraw", "wang")
    assert status == 200 and left["status"] == "withdrawn" and left["contact"] is None, left
    assert left["order"]["taken"] == 0
    status, back = await w.call("POST", f"{path}/claim", "wang")
    assert status == 200 and back["status"] == "claimed" and back["order"]["taken"] == 1, back
    w.travel(NOW + timedelta(days=1, hours=1))
    status, late = await w.call("POST", f"{path}/withdraw", "wang")
    assert status == 409 and late["code"] == "ORDER_STARTED"


async def test_the_community_cancels_an_order_and_refuses_a_need(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    need = await a_need(w.s, NOW)
    status, refused = await w.call(
        "POST", f"/community/needs/{need.id}/refuse", "hong", json={"reason": "属物业维修范围"}
    )
    assert status == 200 and refused["status"] == "refused", refused
    assert refused["reason"] == "属物业维修范围"
    status, order = await w.call("POST", "/community/orders", "hong", json=order_body())
    status, cancelled = await w.call(
        "POST", f"/community/orders/{order['id']}/cancel", "hong", json={"reason": "天气原因"}
    )
    assert status == 200 and cancelled["status"] == "cancelled", cancelled
    assert cancelled["timeline"][-1]["note"] == "天气原因"
    status, twice = await w.call(
        "POST", f"/community/orders/{order['id']}/cancel", "hong", json={"reason": "再撤"}
    )
    assert status == 409 and twice["code"] == "ORDER_CLOSED"
    status, nothing = await w.call("POST", "/community/orders", "hong", json=order_body())
    status, early = await w.call("POST", f"/community/orders/{nothing['id']}/complete", "hong")
    assert status == 409 and early["code"] == "NOTHING_DONE"


# --- who may not -----------------------------------------------------------------------------


def desk_calls(need_id: int, order_id: int, volunteer_id: int, community_id: int) -> list[Any]:
    return [
        ("GET", "/community/communities", None),
        ("GET", f"/community/units?community_id={community_id}", None),
        ("POST", "/community/units", {"name": "某单位", "community_ids": [community_id]}),
        ("GET", f"/community/volunteers?community_id={community_id}", None),
        ("POST", f"/community/volunteers/{volunteer_id}/confirm", {"grid": "一"}),
        ("POST", f"/community/volunteers/{volunteer_id}/refuse", {"reason": "不"}),
        ("GET", f"/community/needs?community_id={community_id}", None),
        ("POST", f"/community/needs/{need_id}/dispatch", order_body()),
        ("POST", f"/community/needs/{need_id}/refuse", {"reason": "不"}),
        ("POST", "/community/orders", order_body(community_id=community_id)),
        ("GET", f"/community/orders?community_id={community_id}", None),
        ("GET", f"/community/orders/{order_id}", None),
        ("POST", f"/community/orders/{order_id}/complete", None),
        ("POST", f"/community/orders/{order_id}/cancel", {"reason": "不"}),
    ]


async def _desk_things(w: World) -> tuple[int, int, int]:
    need = await a_need(w.s, NOW)
    order = await orders.dispatch(w.s.people["hong"], spec(NOW), NOW)
    pending = await report(w.s, "wang", w.s.hongxing, NOW, confirm=False)
    return need.id, order.id, pending.id


async def test_members_who_run_no_community_are_refused_the_desk_and_nothing_changes(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    need_id, order_id, volunteer_id = await _desk_things(w)
    before = await rows()
    # A plain member, and the secretary of a branch under the community: neither runs it.
    for who in ("plain", "branch"):
        for method, path, body in desk_calls(need_id, order_id, volunteer_id, w.s.hongxing.id):
            status, answer = await w.call(method, path, who, json=body)
            assert status == 403, (who, method, path, answer)
            assert answer["code"] == "FORBIDDEN" and "社区党组织书记" in answer["error"]
    assert await rows() == before


async def test_a_manager_cannot_touch_another_communitys_business(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    """青山社区's secretary, with 红星社区's ids: refused exactly as ids that do not exist."""
    w = await world(aiohttp_client, make_settings, fake_wechat)
    need_id, order_id, volunteer_id = await _desk_things(w)
    before = await rows()
    theirs = desk_calls(need_id, order_id, volunteer_id, w.s.hongxing.id)[1:]
    nowhere = desk_calls(999_999, 999_999, 999_999, 999_999)[1:]
    for (method, path, body), (_, missing, _) in zip(theirs, nowhere, strict=True):
        status, answer = await w.call(method, path, "qing", json=body)
        assert (status, answer["error"]) == (403, HIDDEN), (method, path, answer)
        assert await w.call(method, missing, "qing", json=body) == (status, answer), missing
    assert await rows() == before
    # Their own community's business still works.
    status, own = await w.call("POST", "/community/orders", "qing", json=order_body())
    assert status == 200 and own["community"]["name"] == "青山社区"


async def test_claims_that_cannot_be_taken_are_refused(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    await report(s, "wang", s.hongxing, NOW)
    await report(s, "chen", s.hongxing, NOW)
    await report(s, "qian", s.qingshan, NOW)
    one_place = await orders.dispatch(s.people["hong"], spec(NOW), NOW)
    cancelled = await orders.dispatch(s.people["hong"], spec(NOW, title="清理楼道"), NOW)
    await orders.cancel(s.people["hong"], cancelled.id, "不办了", NOW)
    elsewhere = await orders.dispatch(s.people["qing"], spec(NOW), NOW)
    claim = "/community/volunteer/orders/{}/claim"
    assert (await w.call("POST", claim.format(one_place.id), "wang"))[0] == 200
    before = await rows()
    status, full = await w.call("POST", claim.format(one_place.id), "chen")
    assert (status, full["code"]) == (409, "ORDER_FULL"), full
    status, mine = await w.call("POST", claim.format(one_place.id), "wang")
    assert (status, mine["code"]) == (409, "ALREADY_CLAIMED"), mine
    status, closed = await w.call("POST", claim.format(cancelled.id), "chen")
    assert (status, closed["code"]) == (409, "ORDER_CLOSED"), closed
    # Another community's order, and one that does not exist: the same 404.
    status, other = await w.call("POST", claim.format(elsewhere.id), "chen")
    assert (status, other["code"]) == (404, "NOT_FOUND"), other
    assert await w.call("POST", claim.format(999_999), "chen") == (status, other)
    # Not reported at all; reported but not yet confirmed.
    status, stranger = await w.call("POST", claim.format(one_place.id), "plain")
    assert (status, stranger["code"]) == (403, "NOT_REPORTED"), stranger
    status, listing = await w.call("GET", "/community/volunteer/orders", "plain")
    assert (status, listing["code"]) == (403, "NOT_REPORTED")
    await Volunteer.filter(member_id=s.people["chen"].id).update(status=VolunteerStatus.PENDING)
    status, waiting = await w.call("POST", claim.format(one_place.id), "chen")
    assert (status, waiting["code"]) == (403, "NOT_CONFIRMED"), waiting
    await Volunteer.filter(member_id=s.people["chen"].id).update(status=VolunteerStatus.CONFIRMED)
    status, none = await w.call("GET", "/community/volunteer", "plain")
    assert status == 200 and none == {"registration": None, "claims": [], "progress": None}
    # Withdrawing or reporting what one never claimed.
    status, never = await w.call(
        "POST", f"/community/volunteer/orders/{one_place.id}/withdraw", "qian"
    )
    assert status == 404, never
    assert await rows() == before


async def test_bad_values_are_refused_naming_the_field(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    need = await a_need(w.s, NOW)
    unpaired = await ReportUnit.create(name="外区单位", code="ZZZZZZ")
    before = await rows()
    dispatch = f"/community/needs/{need.id}/dispatch"
    cases: list[tuple[str, str, str, Any, str]] = [
        ("hong", "POST", dispatch, order_body(kind="做饭"), "kind"),
        ("hong", "POST", dispatch, order_body(title=""), "title"),
        ("hong", "POST", dispatch, order_body(title="修" * 201), "title"),
        ("hong", "POST", dispatch, order_body(starts_at="2026-11-24T09:00:00+08:00"), "starts_at"),
        ("hong", "POST", dispatch, order_body(starts_at="明天上午"), "starts_at"),
        ("hong", "POST", dispatch, order_body(starts_at="9999-12-31T23:00:00+08:00"), "starts_at"),
        ("hong", "POST", dispatch, order_body(hours=30), "hours"),
        ("hong", "POST", dispatch, order_body(hours="很久"), "hours"),
        ("hong", "POST", dispatch, order_body(capacity=0), "capacity"),
        ("hong", "POST", dispatch, order_body(capacity=51), "capacity"),
        ("hong", "POST", dispatch, order_body(unit_id=unpaired.id), "unit_id"),
        ("hong", "POST", dispatch, order_body(unit_id=999_999), "unit_id"),
        ("hong", "POST", dispatch, order_body(extra=1), "extra"),
        ("hong", "POST", f"/community/needs/{need.id}/refuse", {}, "reason"),
        ("hong", "POST", f"/community/needs/{need.id}/refuse", {"reason": "  "}, "reason"),
        ("hong", "POST", "/community/needs/abc/refuse", {"reason": "不"}, "id"),
        ("hong", "GET", "/community/needs?status=bogus", None, "status"),
        ("hong", "GET", "/community/orders?page=0", None, "page"),
        ("hong", "POST", "/community/units", {"name": "甲", "community_ids": []}, "community_ids"),
        ("hong", "POST", "/community/units", {"community_ids": [1]}, "name"),
        (
            "hong",
            "POST",
            "/community/units",
            {"name": "甲", "kind": "饭店", "community_ids": [w.s.hongxing.id]},
            "kind",
        ),
        (
            "hong",
            "POST",
            "/community/units",
            {"name": "甲", "contact_phone": "12345", "community_ids": [w.s.hongxing.id]},
            "contact_phone",
        ),
        # Staff run two communities: which one must be said.
        ("staff", "POST", "/community/orders", order_body(), "community_id"),
        ("hong", "GET", "/community/orders/0", None, "id"),
    ]
    for who, method, path, body, name in cases:
        status, answer = await w.call(method, path, who, json=body)
        assert status == 400, (path, body, answer)
        assert answer["field"] == name, (path, body, answer)
        assert re.search(r"[\u4e00-\u9fff]", answer["error"]), answer
    # A name already registered is a conflict on the name.
    status, taken = await w.call(
        "POST",
        "/community/units",
        "hong",
        json={"name": "区税务局机关党委", "community_ids": [w.s.hongxing.id]},
    )
    assert (status, taken["field"]) == (409, "name"), taken
    assert await rows() == before
    status, naive = await w.call(
        "POST", dispatch, "hong", json=order_body(starts_at="2026-11-26T09:00:00")
    )
    assert status == 200 and naive["starts_at"] == TOMORROW_9AM  # read in DANGJIAN_TZ


async def test_an_unknown_community_has_no_showcase(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    status, answer = await w.call("GET", "/community/999999/showcase", None)
    assert (status, answer["code"], answer["field"]) == (404, "NOT_FOUND", "id")
    status, empty = await w.call("GET", f"/community/{w.s.qingshan.id}/showcase", None)
    assert status == 200 and empty["items"] == [] and empty["summary"]["average_rating"] is None


# --- capacity under concurrency ------------------------------------------------------------


async def test_fifty_members_tapping_the_last_place_at_once_leave_one_claim(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    first, *crowd = await outside_volunteers(s, s.hongxing, 51, NOW)
    order = await orders.dispatch(s.people["hong"], spec(NOW, capacity=2), NOW)
    await orders.claim(first, order.id, NOW)  # one place left
    results = await asyncio.gather(
        *(orders.claim(v, order.id, NOW) for v in crowd), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, OrderClaim)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 49, [
        r for r in results if not isinstance(r, Conflict | OrderClaim)
    ]
    assert {c.code for c in lost} == {"ORDER_FULL"}
    fresh = await ServiceOrder.get(id=order.id)
    assert fresh.taken == fresh.capacity == 2
    assert await OrderClaim.filter(order_id=order.id, status=ClaimStatus.CLAIMED).count() == 2
    assert fresh.status == OrderStatus.OPEN
    assert await Need.filter(status=NeedStatus.NEW).count() == 0


async def test_hostile_values_in_every_field_are_refused_naming_it_never_a_500(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    from server.api import community, volunteering
    from tests.test_api_hostile import HOSTILE_QUERY_VALUES, HOSTILE_VALUES

    w = await world(aiohttp_client, make_settings, fake_wechat)
    need_id, order_id, volunteer_id = await _desk_things(w)
    await report(w.s, "chen", w.s.hongxing, NOW)
    valid: dict[str, dict[str, Any]] = {
        "NewReportUnit": {"name": "某单位", "community_ids": [w.s.hongxing.id]},
        "ConfirmVolunteer": {"grid": "一"},
        "CommunityReason": {"reason": "原因"},
        "DispatchOrder": order_body(),
        "NewCommunityOrder": order_body(community_id=w.s.hongxing.id),
        "WorkDone": {"note": "做完了"},
        "NewVolunteer": {"community_id": w.s.hongxing.id, "skills": "助老"},
        "VolunteerChange": {"skills": "助老"},
        "NewPost": {"kind": "楼栋长", "title": "3栋楼栋长", "community_id": w.s.hongxing.id},
    }
    ids = {"volunteers": volunteer_id, "needs": need_id, "orders": order_id}
    for module, who in ((community, "staff"), (volunteering, "chen")):
        for e in module.routes.endpoints:
            path = e.path
            if "{id}" in path:
                kind = "orders" if "orders" in path else path.split("/")[2]
                path = path.replace("{id}", str(ids.get(kind, w.s.hongxing.id)))
            if e.body is not None:
                for name in e.body.model_json_schema()["properties"]:
                    for value in HOSTILE_VALUES:
                        body = valid[e.body.__name__] | {name: value}
                        status, answer = await w.call(e.method, path, who, json=body)
                        assert status < 500, (e.path, name, value, answer)
                        if status == 400:
                            assert answer["field"], (e.path, name, value, answer)
            if e.query is not None:
                for name in e.query.model_json_schema()["properties"]:
                    for raw in HOSTILE_QUERY_VALUES:
                        status, answer = await w.call(e.method, path, who, params={name: raw})
                        assert status < 500, (e.path, name, raw, answer)
                        if status == 400:
                            assert answer["field"] == name, (e.path, name, raw, answer)
