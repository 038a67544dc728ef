"""三会一课 in chat: a secretary schedules in a sentence, confirms, lists, cancels and moves it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from server.channels import Channel
from server.models.meetings import Meeting, MeetingAttendee, MeetingChange, MeetingStatus
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role, WeChatIdentity
from server.services.meetings import scheduling
from tests.conftest import APPID, make_branch, make_member
from tests.test_checkin_chat import frozen_app
from tests.wechat_peer import WeChatPeer, openid_for

# Wednesday 25 November 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SECRETARY, MEMBER, LEADER, OTHER = (openid_for(n) for n in ("sec", "mem", "leader", "other"))


async def bind(member: Member, openid: str) -> Member:
    await WeChatIdentity.create(
        appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
    )
    return member


async def branch_with_people() -> dict[str, Member]:
    """A branch: a secretary, a committee member, a group of two, two members, one transferred."""
    branch = await make_branch()
    group, _ = await Organisation.get_or_create(
        path=branch.path + "/第一网格党小组",
        defaults={"name": "第一网格党小组", "kind": OrgKind.GROUP, "parent": branch},
    )
    people = {
        "secretary": await make_member("李书记", "13700000001", role=Role.SECRETARY, org=branch),
        "committee": await make_member(
            "周委员", "13700000002", role=Role.COMMITTEE_MEMBER, org=branch
        ),
        "leader": await make_member("吴组长", "13700000003", role=Role.GROUP_LEADER, org=branch),
        "member": await make_member("王芳", "13700000004", org=branch),
        "other": await make_member("郑七", "13700000005", org=branch),
        "gone": await make_member(
            "钱八", "13700000006", org=branch, status=MemberStatus.TRANSFERRED
        ),
    }
    for key in ("leader", "member"):
        people[key].group = group
        await people[key].save()
    await bind(people["secretary"], SECRETARY)
    await bind(people["member"], MEMBER)
    await bind(people["leader"], LEADER)
    return people


async def app(aiohttp_client: Any, make_settings: Any) -> tuple[TestClient, WeChatPeer]:
    client, peer, _ = await frozen_app(aiohttp_client, make_settings, NOW)
    return client, peer


async def say(client: TestClient, peer: WeChatPeer, who: str, text: str) -> str:
    return (await peer.say(client, who, text)).text or ""


async def test_a_committee_meeting_in_one_sentence_then_confirmed(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    people = await branch_with_people()
    preview = await say(
        client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员 地点 党群服务中心"
    )
    assert "类型：支委会" in preview and "11月26日（周四）15:00–16:30" in preview
    assert "地点：党群服务中心" in preview and "主题：研究发展党员" in preview
    assert "应到 2 人" in preview  # the secretary and the committee member
    assert await Meeting.all().count() == 0  # nothing written before 确认
    done = await say(client, peer, SECRETARY, "确认")
    meeting = await Meeting.get()
    assert f"会议编号 {meeting.id}" in done
    assert meeting.starts_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    expected = set(
        await MeetingAttendee.filter(meeting=meeting).values_list("member_id", flat=True)
    )
    assert expected == {people["secretary"].id, people["committee"].id}
    assert [c.action for c in await MeetingChange.filter(meeting=meeting)] == ["scheduled"]


async def test_a_general_meeting_expects_every_active_member_of_the_branch(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    people = await branch_with_people()
    preview = await say(client, peer, SECRETARY, "安排 党员大会 12月1日15:00 第四季度党员大会")
    assert "类型：支部党员大会" in preview and "应到 5 人" in preview  # not the transferred one
    await say(client, peer, SECRETARY, "确认")
    ids = set(await MeetingAttendee.all().values_list("member_id", flat=True))
    assert people["gone"].id not in ids and len(ids) == 5


async def test_the_group_leader_calls_the_group_meeting_for_the_group(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    people = await branch_with_people()
    preview = await say(client, peer, LEADER, "安排 党小组会 下周三 14:30 学习党章")
    assert "12月2日（周三）14:30" in preview and "应到 2 人" in preview
    await say(client, peer, LEADER, "确认")
    meeting = await Meeting.get()
    assert meeting.organisation_id == people["leader"].group_id  # type: ignore[attr-defined]


async def test_an_ordinary_member_cannot_schedule(aiohttp_client: Any, make_settings: Any) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    reply = await say(client, peer, MEMBER, "安排 支委会 明天下午3点 研究发展党员")
    assert "由支部书记" in reply and await Meeting.all().count() == 0


async def test_a_time_in_the_past_or_not_understood_gets_a_clear_answer(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    assert "已经过去了" in await say(client, peer, SECRETARY, "安排 支委会 今天上午9点 复盘")
    assert "已经过去了" in await say(client, peer, SECRETARY, "安排 支委会 昨天下午3点 复盘")
    assert "没看懂" in await say(client, peer, SECRETARY, "安排 支委会 改天吧 复盘")
    assert "可以安排" in await say(client, peer, SECRETARY, "安排 茶话会 明天下午3点 聊聊")
    assert "会议主题" in await say(client, peer, SECRETARY, "安排 支委会 明天下午3点")
    assert await Meeting.all().count() == 0


async def second_group(people: dict[str, Member]) -> Organisation:
    """第二网格党小组: 郑七 leads it, with 周委员; nobody in it is in the first group."""
    branch = await Organisation.get(id=people["secretary"].organisation_id)  # type: ignore[attr-defined]
    group, _ = await Organisation.get_or_create(
        path=branch.path + "/第二网格党小组",
        defaults={"name": "第二网格党小组", "kind": OrgKind.GROUP, "parent": branch},
    )
    people["other"].role = Role.GROUP_LEADER
    for key in ("other", "committee"):
        people[key].group = group
        await people[key].save()
    await bind(people["other"], OTHER)
    return group


async def test_two_groups_with_different_members_meet_at_one_hour_in_two_rooms(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    people = await branch_with_people()
    await second_group(people)
    await say(client, peer, LEADER, "安排 党小组会 明天下午3点 学习党章 地点 一楼会议室")
    assert "已安排" in await say(client, peer, LEADER, "确认")
    await say(client, peer, OTHER, "安排 党小组会 明天下午3点 学习党章 地点 二楼活动室")
    assert "已安排" in await say(client, peer, OTHER, "确认")
    assert await Meeting.all().count() == 2
    # The same room at the same hour is another matter, however the room is typed.
    refused = await say(
        client, peer, OTHER, "安排 党小组会 明天下午3点半 交流心得 地点 一楼 会议室"
    )
    first = await Meeting.filter(place="一楼会议室").first()
    assert first is not None
    assert f"和编号 {first.id} 的党小组会（11月26日 15:00–16:30，学习党章）冲突" in refused
    assert "地点「一楼会议室」那时已有安排" in refused and "或地点" in refused


async def test_a_committee_and_a_group_sharing_a_member_cannot_both_be_booked(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    people = await branch_with_people()
    people["secretary"].group_id = people["leader"].group_id  # type: ignore[attr-defined]
    await people["secretary"].save()  # the secretary is also in the first group
    await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员 地点 书记室")
    await say(client, peer, SECRETARY, "确认")
    first = await Meeting.get()
    # The group's meeting at 4, in another room, overlaps the committee's 3:00–4:30.
    reply = await say(client, peer, LEADER, "安排 党小组会 明天下午4点 学习党章 地点 活动室")
    assert f"和编号 {first.id} 的支委会（11月26日 15:00–16:30，研究发展党员）冲突" in reply
    assert "李书记都要参加那个会" in reply and "地点" not in reply.split("冲突")[1]
    # Right after it ends is no clash: 16:30 is free again.
    assert "请确认" in await say(client, peer, LEADER, "安排 党小组会 明天16:30 学习党章")


async def test_a_committee_meeting_and_a_group_without_shared_members_but_one_room(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员 地点 会议室")
    await say(client, peer, SECRETARY, "确认")
    refused = await say(client, peer, LEADER, "安排 党小组会 明天下午3点半 学习党章 地点 会议室")
    assert "地点「会议室」那时已有安排" in refused and "都要参加" not in refused
    assert "请确认" in await say(client, peer, LEADER, "安排 党小组会 明天下午3点半 学习党章")


async def test_a_cancelled_meeting_clashes_with_nothing_and_a_move_follows_the_rule(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员")
    await say(client, peer, SECRETARY, "确认")
    await say(client, peer, SECRETARY, "安排 党课 明天上午9点 学习党章")
    await say(client, peer, SECRETARY, "确认")
    committee, lecture = await Meeting.all().order_by("id")
    # Moving the lecture onto the committee's hour: the secretary would be at both.
    moved = await say(client, peer, SECRETARY, f"改期 {lecture.id} 明天下午4点")
    assert f"和编号 {committee.id} 的支委会" in moved and "李书记、周委员都要参加" in moved
    await lecture.refresh_from_db()
    assert lecture.starts_at == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # not moved
    await say(client, peer, SECRETARY, f"取消会议 {committee.id} 改到下周")
    assert "已改期" in await say(client, peer, SECRETARY, f"改期 {lecture.id} 明天下午4点")


async def test_a_busy_member_is_not_invited_to_an_overlapping_meeting(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    await say(client, peer, LEADER, "安排 党小组会 明天下午3点 学习党章 地点 活动室")
    await say(client, peer, LEADER, "确认")
    await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员 地点 书记室")
    await say(client, peer, SECRETARY, "确认")
    group_meeting, committee = await Meeting.all().order_by("id")
    refused = await say(client, peer, SECRETARY, f"列席 {committee.id} 王芳")
    assert f"王芳那时要参加编号 {group_meeting.id} 的党小组会" in refused
    assert "已请郑七列席" in await say(client, peer, SECRETARY, f"列席 {committee.id} 郑七")


async def test_a_group_and_a_committee_booked_at_the_same_moment_leave_one(
    aiohttp_client: Any, make_settings: Any
) -> None:
    await app(aiohttp_client, make_settings)
    people = await branch_with_people()
    people["secretary"].group_id = people["leader"].group_id  # type: ignore[attr-defined]
    await people["secretary"].save()
    at_three = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    committee = await scheduling.prepare(
        people["secretary"], "支委会", at_three, "研究", "甲", NOW, 90
    )
    group = await scheduling.prepare(people["leader"], "党小组会", at_three, "学习", "乙", NOW, 90)
    results = await asyncio.gather(
        scheduling.schedule(people["secretary"], committee, NOW),
        scheduling.schedule(people["leader"], group, NOW),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Meeting) for r in results) == 1, results
    assert await Meeting.all().count() == 1


async def test_cancelling_the_preview_writes_nothing(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员")
    assert "已取消" in await say(client, peer, SECRETARY, "取消")
    assert "没有待确认" in await say(client, peer, SECRETARY, "确认")
    assert await Meeting.all().count() == 0


async def test_members_see_their_meetings_and_other_branches_see_nothing(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    await say(client, peer, SECRETARY, "安排 党员大会 12月1日15:00 第四季度党员大会 地点 会议室")
    await say(client, peer, SECRETARY, "确认")
    await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员")
    await say(client, peer, SECRETARY, "确认")
    general, committee = await Meeting.all().order_by("id")
    mine = await say(client, peer, MEMBER, "会议")
    assert f"【{general.id}】" in mine and f"【{committee.id}】" not in mine
    branch = await say(client, peer, SECRETARY, "会议")
    assert branch.index(f"【{committee.id}】") < branch.index(f"【{general.id}】")  # soonest first
    detail = await say(client, peer, MEMBER, f"会议 {general.id}")
    assert "支部党员大会" in detail and "地点：会议室" in detail and "应到 5 人" in detail
    stranger = await make_member(
        "赵书记",
        "13800000009",
        role=Role.SECRETARY,
        org=await make_branch("示范街道党工委/第二社区党总支/第二社区第一党支部"),
    )
    await bind(stranger, OTHER)
    there = await say(client, peer, OTHER, f"会议 {general.id}")
    nowhere = await say(client, peer, OTHER, "会议 999999")
    assert there == nowhere.replace("999999", str(general.id))
    assert "没有找到" in await say(client, peer, MEMBER, f"会议 {committee.id}")


async def test_cancel_and_reschedule_are_kept_with_who_did_them(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    people = await branch_with_people()
    await say(client, peer, SECRETARY, "安排 党员大会 明天下午3点 第四季度党员大会")
    await say(client, peer, SECRETARY, "确认")
    meeting = await Meeting.get()
    moved = await say(client, peer, SECRETARY, f"改期 {meeting.id} 12月3日上午9点")
    assert "12月3日（周四）09:00–10:30" in moved
    assert "改动这个会议" in await say(client, peer, MEMBER, f"取消会议 {meeting.id}")
    gone = await say(client, peer, SECRETARY, f"取消会议 {meeting.id} 书记出差")
    assert "已取消" in gone
    await meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.CANCELLED
    changes = await MeetingChange.filter(meeting=meeting).order_by("id")
    assert [c.action for c in changes] == ["scheduled", "rescheduled", "cancelled"]
    assert all(c.by_id == people["secretary"].id for c in changes)  # type: ignore[attr-defined]
    assert changes[2].detail == {"reason": "书记出差"}
    assert "已经取消" in await say(client, peer, SECRETARY, f"改期 {meeting.id} 12月4日上午9点")
    assert "近期没有" in await say(client, peer, MEMBER, "会议")


async def test_two_confirmations_at_once_cannot_both_take_the_same_hour(
    aiohttp_client: Any, make_settings: Any
) -> None:
    await app(aiohttp_client, make_settings)
    people = await branch_with_people()
    secretary = people["secretary"]
    draft = await scheduling.prepare(
        secretary, "支委会", datetime(2026, 11, 26, 7, 0, tzinfo=UTC), "研究", None, NOW, 90
    )
    results = await asyncio.gather(
        scheduling.schedule(secretary, draft, NOW),
        scheduling.schedule(secretary, draft, NOW),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Meeting) for r in results) == 1
    assert await Meeting.all().count() == 1


async def test_a_branch_adds_its_own_meeting_type(aiohttp_client: Any, make_settings: Any) -> None:
    clock_client, peer, _ = await frozen_app(
        aiohttp_client,
        lambda **kw: make_settings(extra_meeting_types="读书会，组织生活会", **kw),
        NOW,
    )
    await branch_with_people()
    preview = await say(clock_client, peer, SECRETARY, "安排 读书会 明天晚上7点 共读党史")
    assert "类型：读书会" in preview and "应到 5 人" in preview


def test_a_meeting_type_that_is_not_a_word_stops_the_start() -> None:
    from server.errors import ConfigError
    from server.settings import load_settings

    try:
        load_settings(
            DANGJIAN_EXTRA_MEETING_TYPES="读书会,这是一个非常非常非常非常非常长的会议类型名称啊"
        )
    except ConfigError as exc:
        assert "DANGJIAN_EXTRA_MEETING_TYPES" in str(exc)
    else:
        raise AssertionError("an over-long meeting type was accepted")


async def test_an_invitee_attends_without_being_expected(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员")
    await say(client, peer, SECRETARY, "确认")
    meeting = await Meeting.get()
    assert "没有找到党员「赵大」" in await say(client, peer, SECRETARY, f"列席 {meeting.id} 赵大")
    done = await say(client, peer, SECRETARY, f"列席 {meeting.id} 王芳")
    assert "已请王芳列席" in done
    assert "已经在" in await say(client, peer, SECRETARY, f"列席 {meeting.id} 王芳")
    row = await MeetingAttendee.get(meeting=meeting, member__name="王芳")
    assert row.role == "invited"
    assert "应到 2 人" in await say(client, peer, SECRETARY, f"会议 {meeting.id}")
    assert f"【{meeting.id}】" in await say(client, peer, MEMBER, "会议")  # she sees it now
    assert "改动这个会议" in await say(client, peer, MEMBER, f"列席 {meeting.id} 郑七")


async def test_a_lecture_names_its_speaker_whichever_comes_first_and_counts_as_study(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    preview = await say(
        client, peer, SECRETARY, "安排 党课 下周三下午3点 学习党章 地点 会议室 主讲人 张教授"
    )
    assert "地点：会议室\n" in preview and "主讲人：张教授" in preview
    assert "计入组织学习：是" in preview and "应到 5 人（本支部全体党员）" in preview
    await say(client, peer, SECRETARY, "确认")
    lecture = await Meeting.get()
    assert (lecture.place, lecture.speaker, lecture.study) == ("会议室", "张教授", True)
    detail = await say(client, peer, SECRETARY, f"会议 {lecture.id}")
    assert "主讲人：张教授" in detail
    swapped = await say(
        client, peer, SECRETARY, "安排 党课 下周四下午3点 学习党史 主讲人：李书记，地点：二楼"
    )
    assert "地点：二楼\n" in swapped and "主讲人：李书记" in swapped
    await say(client, peer, SECRETARY, "取消")
    bare = await say(client, peer, SECRETARY, "安排 党课 下周四下午3点 学习党史")
    assert "主讲人：（未填，可在末尾加上 主讲人 姓名）" in bare


async def test_the_preview_says_whether_it_is_study_and_which_group_it_is_for(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    committee = await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员")
    assert "计入组织学习：否" in committee and "应到 2 人（支部委员会成员）" in committee
    assert "党小组：" not in committee and "主讲人" not in committee
    await say(client, peer, SECRETARY, "取消")
    studying = await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 学习新修订的条例")
    assert "计入组织学习：是" in studying
    await say(client, peer, SECRETARY, "取消")
    group = await say(client, peer, LEADER, "安排 党小组会 明天下午3点 交流工作")
    assert "党小组：第一网格党小组" in group and "应到 2 人（第一网格党小组全体党员）" in group
    assert "已安排第一网格党小组党小组会" in await say(client, peer, LEADER, "确认")


async def test_the_yearly_types_expect_the_whole_branch(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer = await app(aiohttp_client, make_settings)
    await branch_with_people()
    for kind, study in (("集中学习", "是"), ("组织生活会", "否"), ("民主评议党员", "否")):
        preview = await say(client, peer, SECRETARY, f"安排 {kind} 12月10日下午3点 年度工作")
        assert f"类型：{kind}" in preview and "应到 5 人（本支部全体党员）" in preview, preview
        assert f"计入组织学习：{study}" in preview
        await say(client, peer, SECRETARY, "取消")


async def test_an_invitee_is_listed_apart_and_those_who_came_are_named(
    aiohttp_client: Any, make_settings: Any
) -> None:
    from server.services.meetings import attendance

    client, peer = await app(aiohttp_client, make_settings)
    people = await branch_with_people()
    await say(client, peer, SECRETARY, "安排 支委会 明天下午3点 研究发展党员")
    await say(client, peer, SECRETARY, "确认")
    meeting = await Meeting.get()
    await say(client, peer, SECRETARY, f"列席 {meeting.id} 王芳")
    detail = await say(client, peer, SECRETARY, f"会议 {meeting.id}")
    assert "应到 2 人：实到 0，请假 0，未签到 2" in detail
    assert (
        "未签到 2 人：李书记、周委员" in detail
        and "列席 1 人（不计入应到）：王芳（未签到）" in detail
    )
    # Once people sign in, who came is shown, not only who did not.
    await MeetingAttendee.filter(meeting=meeting).update(attendance="present")
    detail = await say(client, peer, SECRETARY, f"会议 {meeting.id}")
    assert "应到 2 人：实到 2，请假 0，未签到 0" in detail
    assert "实到 2 人：李书记、周委员" in detail and "王芳（已签到）" in detail
    assert "未签到 2 人" not in detail
    # The guest herself sees the counts and her own line, not everyone's names.
    mine = await say(client, peer, MEMBER, f"会议 {meeting.id}")
    assert "您：已签到" in mine and "李书记" not in mine
    assert await attendance.may_decide(people["member"], meeting) is False
