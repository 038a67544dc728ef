"""Standing posts (先锋岗, 楼栋长): the community publishes a post with places, its confirmed
members take one (认岗) and leave it (退岗), the community closes it.  Through the service, the
chat, the API and the desk; places hold under concurrency as an order's do.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.errors import Conflict, DangjianError, NotFound, PermissionDenied, ValidationFailed
from server.models.community import (
    CommunityMessage,
    HolderStatus,
    PostHolder,
    PostStatus,
    ServiceEvent,
    StandingPost,
    Volunteer,
)
from server.services.community import notify, posts, volunteers
from server.services.people.access import Hidden
from server.wechat.fake_state import FakeWeChat
from tests import community_world as world
from tests.test_admin_community import Desk, open_desk, post, token_of
from tests.test_admin_community import desk as desk  # the fixture
from tests.test_api_community import World
from tests.test_api_community import world as api_world
from tests.test_community_chat import (
    LI,
    MEMBER,
    NOW,
    SECRETARY,
    STRANGER,
    confirmed_volunteer,
    loop_app,
    say,
)
from tests.test_community_loop import db as db  # the fixture
from tests.test_leave_chat import texts_to

TODAY = date(2026, 11, 25)  # NOW, in Shanghai


def a_post(**kw: Any) -> posts.PostSpec:
    values: dict[str, Any] = {"kind": "楼栋长", "title": "3栋楼栋长", "starts_on": TODAY}
    return posts.PostSpec(**(values | kw))


async def refusal(step: Any) -> DangjianError:
    with pytest.raises(DangjianError) as caught:
        await step
    return caught.value


# --- the service ---------------------------------------------------------------------------


async def test_members_take_a_post_until_it_is_full(db: None) -> None:
    s = await world.street(NOW)
    hong = s.people["hong"]
    post_ = await posts.publish(hong, a_post(places=2, duty="通知传达"), NOW)
    assert (post_.community_id, post_.places, post_.taken) == (s.hongxing.id, 2, 0)
    assert post_.status == PostStatus.OPEN and post_.ends_on is None
    a, b, c = await world.outside_volunteers(s, s.hongxing, 3, NOW)
    assert [p.id for p in await posts.open_posts(a, TODAY)] == [post_.id]
    await posts.take(a, post_.id, NOW, TODAY)
    taken = await posts.take(b, post_.id, NOW, TODAY)
    assert taken.taken == 2
    full = await refusal(posts.take(c, post_.id, NOW, TODAY))
    assert isinstance(full, Conflict) and full.code == "POST_FULL"
    again = await refusal(posts.take(a, post_.id, NOW, TODAY))
    assert isinstance(again, Conflict) and again.code == "ALREADY_HOLDING"
    assert [v.name for v in await posts.holders(post_)] == [a.name, b.name]
    # A full post is not offered to the others; its holders still see theirs.
    assert await posts.open_posts(c, TODAY) == []
    assert [p.id for p in await posts.open_posts(a, TODAY)] == [post_.id]
    actions = await ServiceEvent.filter(action__in=["发布岗位", "认岗"]).values_list(
        "action", "order_id", "note"
    )
    assert [(act, order) for act, order, _ in actions] == [
        ("发布岗位", None),
        ("认岗", None),
        ("认岗", None),
    ]
    assert all(f"岗位 {post_.id}：楼栋长·3栋楼栋长" in note for _, _, note in actions)


async def test_fifty_members_taking_the_last_place_at_once_leave_exactly_one_holder(
    db: None,
) -> None:
    s = await world.street(NOW)
    post_ = await posts.publish(s.people["hong"], a_post(places=2), NOW)
    people = await world.outside_volunteers(s, s.hongxing, 51, NOW)
    await posts.take(people[0], post_.id, NOW, TODAY)
    results = await asyncio.gather(
        *(posts.take(v, post_.id, NOW, TODAY) for v in people[1:]), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, StandingPost)]
    assert len(won) == 1
    lost = [r for r in results if not isinstance(r, StandingPost)]
    assert all(isinstance(r, Conflict) and r.code == "POST_FULL" for r in lost), lost[:3]
    assert await PostHolder.filter(post_id=post_.id).count() == 2
    assert (await StandingPost.get(id=post_.id)).taken == 2


async def test_leaving_frees_the_place_for_another_and_one_may_take_it_again(db: None) -> None:
    s = await world.street(NOW)
    post_ = await posts.publish(s.people["hong"], a_post(), NOW)
    a, b = await world.outside_volunteers(s, s.hongxing, 2, NOW)
    await posts.take(a, post_.id, NOW, TODAY)
    left = await posts.leave(a, post_.id, NOW + timedelta(days=30))
    assert left.taken == 0
    row = await PostHolder.get(post_id=post_.id, volunteer_id=a.id)
    assert row.status == HolderStatus.LEFT and row.left_at is not None
    twice = await refusal(posts.leave(a, post_.id, NOW))
    assert isinstance(twice, NotFound) and twice.field == "post"
    await posts.take(b, post_.id, NOW, TODAY)
    await posts.leave(b, post_.id, NOW)
    await posts.take(a, post_.id, NOW, TODAY)  # the same row, holding again
    assert await PostHolder.filter(post_id=post_.id).count() == 2
    assert (await StandingPost.get(id=post_.id)).taken == 1


async def test_only_confirmed_members_of_the_community_take_a_post(db: None) -> None:
    s = await world.street(NOW)
    post_ = await posts.publish(s.people["hong"], a_post(), NOW)
    pending = await world.report(s, "wang", s.hongxing, NOW, confirm=False)
    elsewhere = await world.report(s, "chen", s.qingshan, NOW)
    none = await refusal(posts.take(None, post_.id, NOW, TODAY))
    assert isinstance(none, PermissionDenied) and none.code == "NOT_REPORTED"
    waiting = await refusal(posts.take(pending, post_.id, NOW, TODAY))
    assert isinstance(waiting, PermissionDenied) and waiting.code == "NOT_CONFIRMED"
    other = await refusal(posts.take(elsewhere, post_.id, NOW, TODAY))
    unknown = await refusal(posts.take(elsewhere, 999_999, NOW, TODAY))
    assert isinstance(other, NotFound) and other.user_message == unknown.user_message
    assert await posts.open_posts(elsewhere, TODAY) == []
    assert await PostHolder.all().count() == 0


async def test_a_closed_or_ended_post_is_refused_and_its_holders_let_go(db: None) -> None:
    s = await world.street(NOW)
    hong = s.people["hong"]
    post_ = await posts.publish(hong, a_post(places=3), NOW)
    a, b = await world.outside_volunteers(s, s.hongxing, 2, NOW)
    await posts.take(a, post_.id, NOW, TODAY)
    told = notify.Tidings(zone=ZoneInfo("Asia/Shanghai"))
    closed = await posts.close(hong, post_.id, NOW, tidings=told)
    assert closed.status == PostStatus.CLOSED and closed.taken == 0
    assert await PostHolder.filter(post_id=post_.id, status=HolderStatus.HOLDING).count() == 0
    shut = await refusal(posts.take(b, post_.id, NOW, TODAY))
    assert isinstance(shut, Conflict) and shut.code == "POST_CLOSED"
    twice = await refusal(posts.close(hong, post_.id, NOW))
    assert isinstance(twice, Conflict) and twice.code == "POST_CLOSED"
    # A post past its end date takes nobody, and is not offered.
    ending = await posts.publish(hong, a_post(ends_on=TODAY), NOW)
    tomorrow = TODAY + timedelta(days=1)
    ended = await refusal(posts.take(b, ending.id, NOW + timedelta(days=1), tomorrow))
    assert isinstance(ended, Conflict) and ended.code == "POST_CLOSED"
    assert await posts.open_posts(b, tomorrow) == []


async def test_another_communitys_manager_is_refused_as_for_an_unknown_id(db: None) -> None:
    s = await world.street(NOW)
    post_ = await posts.publish(s.people["hong"], a_post(), NOW)
    qing, plain = s.people["qing"], s.people["plain"]
    for step in (
        posts.close(qing, post_.id, NOW),
        posts.close(qing, 999_999, NOW),
        posts.publish(qing, a_post(), NOW, community_id=s.hongxing.id),
        posts.publish(plain, a_post(), NOW),
    ):
        assert isinstance(await refusal(step), Hidden)
    assert (await StandingPost.get(id=post_.id)).status == PostStatus.OPEN
    assert await StandingPost.all().count() == 1
    # The committee's staff run both communities.
    await posts.close(s.people["staff"], post_.id, NOW)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": ""}, "kind"),
        ({"kind": "楼 栋长"}, "kind"),
        ({"kind": "很长很长的岗位类别名称"}, "kind"),
        ({"title": "  "}, "title"),
        ({"title": "名" * 101}, "title"),
        ({"duty": "事" * 301}, "duty"),
        ({"places": 0}, "places"),
        ({"places": 51}, "places"),
        ({"ends_on": TODAY - timedelta(days=1)}, "ends_on"),
        ({"ends_on": date(2040, 1, 1)}, "ends_on"),
    ],
)
async def test_bad_fields_are_refused_naming_the_field(
    db: None, changes: dict[str, Any], field: str
) -> None:
    s = await world.street(NOW)
    bad = await refusal(posts.publish(s.people["hong"], a_post(**changes), NOW))
    assert isinstance(bad, ValidationFailed) and bad.field == field
    assert await StandingPost.all().count() == 0


# --- chat ----------------------------------------------------------------------------------


async def test_posts_in_chat_from_publishing_to_closing(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, _, w = await loop_app(aiohttp_client, make_settings)
    for who in (SECRETARY, LI, MEMBER):
        fake.interact(who)
    assert "发布岗位 楼栋长 3栋楼栋长" in await say(client, peer, SECRETARY, "发布岗位")
    published = await say(
        client,
        peer,
        SECRETARY,
        "发布岗位 楼栋长 3栋楼栋长 1人 至2027年6月30日 职责 负责通知传达和邻里调解",
    )
    p = await StandingPost.get()
    assert (p.kind, p.title, p.places, p.ends_on) == ("楼栋长", "3栋楼栋长", 1, date(2027, 6, 30))
    assert p.duty == "负责通知传达和邻里调解" and p.starts_on == TODAY
    assert f"已发布岗位 {p.id}：楼栋长·3栋楼栋长（至2027年6月30日），1人" in published
    assert f"认岗 {p.id}" in published
    pioneer = await say(client, peer, SECRETARY, "发布岗位 文明劝导先锋岗 3人")
    assert "已发布" in pioneer
    q = await StandingPost.get(title="文明劝导先锋岗")
    assert (q.kind, q.places, q.ends_on) == ("先锋岗", 3, None)
    assert "截止日期" in await say(client, peer, SECRETARY, "发布岗位 楼栋长 4栋 至2027年2月30日")
    # 发布 is still the community's own service order.
    assert "服务时间" in await say(client, peer, SECRETARY, "发布 环境")

    li = await confirmed_volunteer(client, peer, w["unit"].code)
    offered = await say(client, peer, LI, "岗位")
    assert (
        f"【{p.id}】楼栋长·3栋楼栋长，至2027年6月30日，职责：负责通知传达和邻里调解；还差1人"
        in (offered)
    )
    taken = await say(client, peer, LI, f"认岗 {p.id}")
    assert f"已认岗：岗位 {p.id}：楼栋长·3栋楼栋长" in taken and f"退岗 {p.id}" in taken
    assert any(f"【党员认岗】李四认领了红星村的岗位 {p.id}" in t for t in texts_to(fake, SECRETARY))
    assert await CommunityMessage.filter(key__startswith=f"post:{p.id}:taken:{li.id}:").exists()
    assert "您在岗" in await say(client, peer, LI, "岗位")
    assert "名额已满" in await say(
        client, peer, (await _second(client, peer, w["unit"].code)), f"认岗 {p.id}"
    )

    managed = await say(client, peer, SECRETARY, "岗位")
    assert f"【{p.id}】楼栋长·3栋楼栋长，1/1人，至2027年6月30日；在岗：李四" in managed
    assert "您本人也是报到党员" not in managed

    left = await say(client, peer, LI, f"退岗 {p.id}")
    assert f"已退出岗位 {p.id}" in left and "将告知社区" in left
    assert any(f"【党员退岗】李四退出了红星村的岗位 {p.id}" in t for t in texts_to(fake, SECRETARY))
    await say(client, peer, LI, f"认岗 {q.id}")
    closed = await say(client, peer, SECRETARY, f"关闭岗位 {q.id}")
    assert f"已关闭岗位 {q.id}" in closed and "将通知在岗党员：李四" in closed
    assert any(f"社区已关闭岗位 {q.id}" in t for t in texts_to(fake, LI))
    assert (await StandingPost.get(id=q.id)).status == PostStatus.CLOSED
    actions = await ServiceEvent.filter(action__in=["认岗", "退岗", "关闭岗位"]).values_list(
        "action", flat=True
    )
    assert list(actions) == ["认岗", "退岗", "认岗", "关闭岗位"]


async def _second(client: Any, peer: Any, code: str) -> str:
    from tests.test_community_chat import CHEN

    await confirmed_volunteer(client, peer, code, CHEN, "陈七")
    return CHEN


async def test_posts_reach_managers_members_and_strangers_each_their_own_way(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    client, peer, _, w = await loop_app(aiohttp_client, make_settings)
    assert "还没有开放的岗位" in await say(client, peer, SECRETARY, "岗位")
    await say(client, peer, SECRETARY, "发布岗位 楼栋长 3栋楼栋长 1人")
    p = await StandingPost.get()
    assert "您还没有报到" in await say(client, peer, STRANGER, "岗位")
    assert "只有社区党组织书记" in await say(client, peer, MEMBER, f"关闭岗位 {p.id}")
    assert "只有社区党组织书记" in await say(client, peer, MEMBER, "发布岗位 楼栋长 4栋楼栋长")
    assert "您还没有报到" in await say(client, peer, MEMBER, "岗位")
    # A plain member reports where she lives: she sees the members' list.
    await say(client, peer, MEMBER, "报到 红星村 水电维修")
    v = await Volunteer.get(member_id=w["member"].id)
    await say(client, peer, SECRETARY, f"确认报到 {v.id} 第一网格")
    assert f"【{p.id}】楼栋长·3栋楼栋长" in await say(client, peer, MEMBER, "岗位")
    # The secretary reports too: her 岗位 is the manager's, with a line on taking one.
    await say(client, peer, SECRETARY, "报到 红星村 组织协调")
    mine = await Volunteer.get(member_id=w["secretary"].id)
    await say(client, peer, SECRETARY, f"确认报到 {mine.id}")
    both = await say(client, peer, SECRETARY, "岗位")
    assert "在岗：（暂无）" in both and "您本人也是报到党员：认岗请回复 认岗 编号" in both
    assert f"已认岗：岗位 {p.id}" in await say(client, peer, SECRETARY, f"认岗 {p.id}")
    # Another community's secretary knows nothing of the number.
    assert "无权访问" in await say(client, peer, SECRETARY, "关闭岗位 999999")


# --- the API -------------------------------------------------------------------------------


async def test_posts_through_the_api(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w: World = await api_world(aiohttp_client, make_settings, fake_wechat)
    s = w.s
    body = {"kind": "楼栋长", "title": "3栋楼栋长", "places": 1, "ends_on": "2027-06-30"}
    status, made = await w.call("POST", "/community/posts", "hong", json=body)
    assert status == 200, made
    assert (made["kind"], made["places"], made["taken"], made["ends_on"]) == (
        "楼栋长",
        1,
        0,
        "2027-06-30",
    )
    assert made["starts_on"] == "2026-11-25" and made["holders"] == []
    post_id = made["id"]
    status, bad = await w.call("POST", "/community/posts", "hong", json=body | {"kind": "楼 栋"})
    assert status == 400 and bad["field"] == "kind"
    status, bad = await w.call(
        "POST", "/community/posts", "hong", json=body | {"ends_on": "2026-11-24"}
    )
    assert status == 400 and bad["field"] == "ends_on"
    status, _ = await w.call("POST", "/community/posts", "plain", json=body)
    assert status == 403
    status, hidden = await w.call("POST", f"/community/posts/{post_id}/close", "qing")
    status_unknown, unknown = await w.call("POST", "/community/posts/999999/close", "qing")
    assert status == status_unknown == 403 and hidden == unknown  # as for an unknown id

    await world.report(s, "chen", s.hongxing, NOW)
    await world.report(s, "wang", s.hongxing, NOW)
    await world.report(s, "qian", s.qingshan, NOW, manager="qing")
    status, offered = await w.call("GET", "/community/volunteer/posts", "chen")
    assert status == 200 and [p["id"] for p in offered["items"]] == [post_id]
    assert offered["items"][0]["places_left"] == 1 and offered["items"][0]["held"] is False
    status, elsewhere = await w.call("GET", "/community/volunteer/posts", "qian")
    assert status == 200 and elsewhere["items"] == []
    status, _ = await w.call("POST", f"/community/volunteer/posts/{post_id}/take", "qian")
    assert status == 404
    status, took = await w.call("POST", f"/community/volunteer/posts/{post_id}/take", "chen")
    assert status == 200 and took["held"] is True and took["places_left"] == 0
    status, full = await w.call("POST", f"/community/volunteer/posts/{post_id}/take", "wang")
    assert status == 409 and full["code"] == "POST_FULL"
    status, listed = await w.call("GET", "/community/posts", "hong")
    assert [h["volunteer"]["name"] for h in listed["items"][0]["holders"]] == ["陈六"]
    status, left = await w.call("POST", f"/community/volunteer/posts/{post_id}/leave", "chen")
    assert status == 200 and left["held"] is False and left["places_left"] == 1
    status, closed = await w.call("POST", f"/community/posts/{post_id}/close", "hong")
    assert status == 200 and closed["status"] == "closed"
    status, again = await w.call("POST", f"/community/posts/{post_id}/close", "hong")
    assert status == 409 and again["code"] == "POST_CLOSED"
    status, shown = await w.call("GET", "/community/posts", "hong", params={"status": "closed"})
    assert [p["id"] for p in shown["items"]] == [post_id]


# --- the desk ------------------------------------------------------------------------------


async def test_the_desk_lists_posts_with_holders_and_closes_one(desk: Desk) -> None:
    hong = desk.street.people["hong"]
    p = await posts.publish(hong, a_post(duty="通知传达"), NOW)
    await posts.take(desk.li, p.id, NOW, TODAY)
    status, page = await open_desk(desk, "hong")
    assert status == 200 and f'data-post="{p.id}"' in page
    assert "3栋楼栋长" in page and "李四" in page and "13600000001" in page and "1/1" in page
    forged = await post(desk, f"/posts/{p.id}/close", {"form_token": "0" * 32})
    assert forged.status == 403
    assert (await StandingPost.get(id=p.id)).status == PostStatus.OPEN
    done = await post(desk, f"/posts/{p.id}/close", {"form_token": token_of(page)})
    assert done.status == 303, await done.text()
    assert "#posts" in done.headers["Location"]
    assert (await StandingPost.get(id=p.id)).status == PostStatus.CLOSED
    _, page = await open_desk(desk, "hong")
    assert f'data-post="{p.id}"' not in page
    # Another community's manager is refused as for an unknown id.
    other = await posts.publish(hong, a_post(title="4栋楼栋长"), NOW)
    _, page = await open_desk(desk, "qing")
    refused = await post(desk, f"/posts/{other.id}/close", {"form_token": token_of(page)})
    unknown = await post(desk, "/posts/999999/close", {"form_token": token_of(page)})
    assert refused.status == unknown.status == 403
    assert (await StandingPost.get(id=other.id)).status == PostStatus.OPEN


async def test_a_member_holding_a_post_leaves_it_before_moving(db: None) -> None:
    s = await world.street(NOW)
    post_ = await posts.publish(s.people["hong"], a_post(), NOW)
    (a,) = await world.outside_volunteers(s, s.hongxing, 1, NOW)
    await posts.take(a, post_.id, NOW, TODAY)
    held = await refusal(volunteers.move(a, s.qingshan, NOW))
    assert isinstance(held, Conflict) and held.code == "HOLDING_POSTS"
    await posts.leave(a, post_.id, NOW)
    moved = await volunteers.move(a, s.qingshan, NOW)
    assert moved.community_id == s.qingshan.id
