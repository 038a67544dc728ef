"""Secretaries manage their members: unbind a WeChat (with a reason), change roles, move people.

Every change is recorded with who and why; outside one's scope it is as if the member did not
exist; and a move leaves the past with the branch it happened in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from server.channels import Channel
from server.models.meetings import Attendance, Meeting, MeetingAttendee
from server.models.people import (
    Member,
    MemberChange,
    MemberChangeKind,
    OrgKind,
    Role,
    WeChatIdentity,
)
from server.models.study import CheckIn
from server.services.people.member_changes import transfer
from server.services.study.checkin import check_in
from server.services.study.points import PointsRules
from server.services.tallies.report import tally_report
from server.typedefs import SETTINGS
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import make_branch, make_group, make_member
from tests.wechat_peer import WeChatPeer, openid_for

ONE = "示范街道党工委/第一社区党总支/第一社区第一党支部"
TWO = "示范街道党工委/第一社区党总支/第一社区第二党支部"
WANG = openid_for("wang-fang")
LI = openid_for("li-secretary")


async def bound_in_chat(client: TestClient, member: Member, openid: str) -> None:
    await WeChatIdentity.create(
        appid=client.app[SETTINGS].appid,
        openid=openid,
        channel=Channel.OFFICIAL_ACCOUNT,
        member=member,
    )


# --- 解绑 in chat ------------------------------------------------------------------------------


async def test_a_secretary_unbinds_a_member_who_is_told_and_binds_again_with_a_code(
    client: TestClient, peer: WeChatPeer, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    li = await make_member("李书记", "13900000001", role=Role.SECRETARY)
    wang = await make_member("王芳", "13800001234")
    await bound_in_chat(client, li, LI)
    await bound_in_chat(client, wang, WANG)
    fake.interact(WANG)  # she wrote to the account today: the 48-hour window is open

    reply = await peer.say(client, LI, "解绑 王芳 本人换了新手机")

    assert "已解除王芳的微信绑定" in (reply.text or ""), reply.text
    assert not await WeChatIdentity.exists(member_id=wang.id)
    record = await MemberChange.get(member_id=wang.id)
    assert record.kind is MemberChangeKind.UNBIND
    assert record.actor_id == li.id and record.reason == "本人换了新手机"
    told = [m.body for m in fake.messages_to(WANG)]
    assert any("绑定已由组织解除" in str(body) for body in told), told
    assert "还没有绑定" in ((await peer.say(client, WANG, "我的身份")).text or "")

    code_reply = await peer.say(client, LI, "绑定码 王芳")
    code = (code_reply.text or "").split("绑定码：")[1].split()[0]
    again = await peer.say(client, openid_for("wang-new-phone"), f"绑定 {code}")
    assert "绑定成功" in (again.text or ""), again.text


async def test_unbinding_without_a_reason_or_outside_the_branch_changes_nothing(
    client: TestClient, peer: WeChatPeer
) -> None:
    li = await make_member("李书记", "13900000001", role=Role.SECRETARY)
    wang = await make_member("王芳", "13800001234")
    zhao = await make_member("赵强", "13800005678", org=await make_branch(TWO))
    await bound_in_chat(client, li, LI)
    await bound_in_chat(client, wang, WANG)
    await bound_in_chat(client, zhao, openid_for("zhao"))

    no_reason = await peer.say(client, LI, "解绑 王芳")
    elsewhere = await peer.say(client, LI, "解绑 赵强 他让我帮忙")
    by_member = await peer.say(client, WANG, "解绑 李书记 我不喜欢他")
    myself = await peer.say(client, LI, "解绑 李书记 换手机")

    assert "解绑 姓名 原因" in (no_reason.text or "")
    assert "没有找到" in (elsewhere.text or "")
    assert "已解除" not in (by_member.text or "")
    assert "不能解除自己的绑定" in (myself.text or "")
    assert await WeChatIdentity.filter().count() == 3
    assert not await MemberChange.exists()


async def test_same_name_twice_asks_for_the_phone(client: TestClient, peer: WeChatPeer) -> None:
    li = await make_member("李书记", "13900000001", role=Role.SECRETARY)
    first = await make_member("王芳", "13800001234")
    await make_member("王芳", "13800009999")
    await bound_in_chat(client, li, LI)
    await bound_in_chat(client, first, WANG)

    ambiguous = await peer.say(client, LI, "解绑 王芳 换手机")
    by_phone = await peer.say(client, LI, "解绑 13800001234 换手机")

    assert "解绑 手机号 原因" in (ambiguous.text or "")
    assert "已解除王芳" in (by_phone.text or "")


# --- the API -------------------------------------------------------------------------------------


async def test_api_unbind_needs_a_reason_and_a_member_in_scope(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    li = await make_member("李书记", "13900000001", role=Role.SECRETARY)
    wang = await make_member("王芳", "13800001234")
    zhao = await make_member("赵强", "13800005678", org=await make_branch(TWO))
    await bound_in_chat(client, wang, WANG)
    await bound_in_chat(client, zhao, openid_for("zhao"))
    headers = await signed_in(client, fake, li)

    blank = await client.post(
        f"/api/v1/members/{wang.id}/unbind", headers=headers, json={"reason": ""}
    )
    spaces = await client.post(
        f"/api/v1/members/{wang.id}/unbind", headers=headers, json={"reason": "   "}
    )
    other = await client.post(
        f"/api/v1/members/{zhao.id}/unbind", headers=headers, json={"reason": "试试"}
    )
    done = await client.post(
        f"/api/v1/members/{wang.id}/unbind", headers=headers, json={"reason": "离职"}
    )
    twice = await client.post(
        f"/api/v1/members/{wang.id}/unbind", headers=headers, json={"reason": "离职"}
    )

    assert (blank.status, spaces.status, other.status) == (400, 400, 403)
    assert done.status == 200, await done.text()
    body = await done.json()
    assert body["bound"] is False and body["unbound"] == 1
    assert twice.status == 409
    assert await WeChatIdentity.exists(member_id=zhao.id)


async def test_a_secretary_appoints_within_the_branch_but_never_staff_nor_elsewhere(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    li = await make_member("李书记", "13900000001", role=Role.SECRETARY)
    wang = await make_member("王芳", "13800001234")
    zhao = await make_member("赵强", "13800005678", org=await make_branch(TWO))
    headers = await signed_in(client, fake, li)

    def role(member: Member, value: str) -> Any:
        return client.post(
            f"/api/v1/members/{member.id}/role", headers=headers, json={"role": value}
        )

    committee = await role(wang, "支委委员")
    staff = await role(wang, "党工委工作人员")
    admin = await role(wang, "系统管理员")
    other_branch = await role(zhao, "支部书记")
    myself = await role(li, "总支书记")
    nonsense = await role(wang, "皇帝")

    assert committee.status == 200 and (await committee.json())["role"] == "支委委员"
    assert (staff.status, admin.status, other_branch.status) == (403, 403, 403)
    assert (myself.status, nonsense.status) == (400, 400)
    assert (await Member.get(id=zhao.id)).role is Role.MEMBER
    change = await MemberChange.get(member_id=wang.id)
    assert (change.before, change.after, change.actor_id) == ("党员", "支委委员", li.id)


async def test_a_plain_member_manages_nobody(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    wang = await make_member("王芳", "13800001234")
    chen = await make_member("陈明", "13800004321")
    headers = await signed_in(client, fake, wang)
    resp = await client.post(
        f"/api/v1/members/{chen.id}/role", headers=headers, json={"role": "支部书记"}
    )
    assert resp.status == 403
    assert (await Member.get(id=chen.id)).role is Role.MEMBER


async def test_staff_move_a_member_between_branches_and_a_secretary_cannot(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    one, two = await make_branch(ONE), await make_branch(TWO)
    committee = await one.parent.parent  # type: ignore[union-attr]
    staff = await make_member("周干事", "13900000002", role=Role.STAFF, org=committee)
    li = await make_member("李书记", "13900000001", role=Role.SECRETARY, org=one)
    wang = await make_member("王芳", "13800001234", role=Role.COMMITTEE_MEMBER, org=one)
    li_headers = await signed_in(client, fake, li)
    staff_headers = await signed_in(client, fake, staff)

    refused = await client.post(
        f"/api/v1/members/{wang.id}/transfer",
        headers=li_headers,
        json={"organisation": two.id},
    )
    moved = await client.post(
        f"/api/v1/members/{wang.id}/transfer",
        headers=staff_headers,
        json={"organisation": two.id, "reason": "搬家"},
    )

    assert refused.status == 403
    assert moved.status == 200, await moved.text()
    body = await moved.json()
    assert body["organisation"]["id"] == two.id
    assert body["role"] == "党员"  # 支委 of the old branch is not carried along
    kinds = await MemberChange.filter(member_id=wang.id).values_list("kind", flat=True)
    assert sorted(kinds) == ["role", "transfer"]


# --- the past stays where it happened -----------------------------------------------------------


async def test_a_moved_members_past_counts_for_the_old_branch_and_the_future_for_the_new(
    client: TestClient,
) -> None:
    zone = client.app[SETTINGS].zone
    one, two = await make_branch(ONE), await make_branch(TWO)
    group = await make_group(two, "第一党小组")
    wang = await make_member("王芳", "13800001234", org=one)
    rules = PointsRules.from_settings(client.app[SETTINGS])
    before, after = date(2026, 3, 2), date(2026, 3, 9)
    await check_in(wang, before, rules)
    held = await Meeting.create(
        organisation_id=one.id,
        kind="党员大会",
        topic="研究工作",
        starts_at=datetime(2026, 3, 2, 4, tzinfo=UTC),
        ends_at=datetime(2026, 3, 2, 5, tzinfo=UTC),
        status="held",
    )
    await MeetingAttendee.create(
        meeting=held, member=wang, organisation_id=one.id, attendance=Attendance.PRESENT
    )

    await transfer(wang, group, None, "工作调动")
    await check_in(wang, after, rules)

    async def check_ins(org: Any) -> tuple[int, int]:
        report = await tally_report(
            org,
            date(2026, 3, 1),
            date(2026, 3, 31),
            by=None,
            today=date(2026, 4, 1),
            zone=zone,
            now=datetime(2026, 4, 1, tzinfo=UTC),
        )
        return report.total.check_ins, report.total.present

    assert await check_ins(one) == (1, 1)
    assert await check_ins(two) == (1, 0)
    assert group.kind is OrgKind.GROUP
    assert await CheckIn.filter(member_id=wang.id, organisation_id=group.id).count() == 1
