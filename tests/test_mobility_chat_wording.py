"""流动党员 in chat, the rough edges a tester found on the demo: two members with one name, a
flow that took any word for an answer, a second 流出 that threw away what was new, the words
secretaries and members actually use, questions taken for commands.  Each happy path next to
the slip of the hand that must change nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from server.models.meetings import Meeting, MeetingAttendee, MeetingType
from server.models.mobility import (
    DuesPaid,
    FlowReason,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.people import Role
from server.services.mobility.due import todo
from server.services.mobility.standing import standings
from tests.conftest import make_branch, make_group, make_member
from tests.test_meetings_chat import bind
from tests.test_mobility_chat import BRANCH, OUT, SECRETARY, STRANGER, SUN, WANG, at, say, story
from tests.wechat_peer import openid_for

XIA = openid_for("m-xia")


async def test_two_members_of_one_name_are_told_apart_by_group_role_and_phone_tail(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, people = await story(aiohttp_client, make_settings)
    branch = await make_branch(BRANCH)
    second = await make_group(branch, "第二党小组")
    leader = await make_member(
        "熊忠", "13711111234", role=Role.GROUP_LEADER, org=branch, group=second
    )
    plain = await make_member("熊忠", "13722225678", org=branch)
    xia = await make_member("夏荣", "13733330000", role=Role.COMMITTEE_MEMBER, org=branch)
    await bind(xia, XIA)

    # Two of one name: each labelled so the secretary knows which, and nothing is written.
    asked = await say(client, peer, SECRETARY, "流出 熊忠 北京 其他")
    assert "熊忠（党小组长，第二党小组，尾号1234）" in asked
    assert "熊忠（党员，尾号5678）" in asked and "熊忠 尾号1234" in asked
    assert "没有「熊忠 尾号9999」" in await say(
        client, peer, SECRETARY, "流出 熊忠 尾号9999 北京 其他"
    )
    assert await MobileMember.all().count() == 0
    done = await say(client, peer, SECRETARY, "流出 熊忠 尾号5678 北京 其他")
    assert "已登记：熊忠 流出，去向北京（其他）" in done
    assert (await MobileMember.get()).member_id == plain.id
    # 流出 again may mean the other one: still asked, each said with what the branch keeps.
    again = await say(client, peer, SECRETARY, "流出 熊忠 北京 经商")
    assert (
        "熊忠（党员，尾号5678，已登记流出）" in again
        and "（党小组长，第二党小组，尾号1234）" in again
    )

    # Once one is 流出, what needs his record (联系人, 查找 …) finds him without the tail; a
    # contact or 党费, which may be anyone's, is asked — logged against the wrong namesake it
    # would hide the other's silence.
    assert "熊忠的联系人：夏荣" in await say(client, peer, SECRETARY, "联系人 熊忠 夏荣")
    asked = await say(client, peer, SECRETARY, "联系 熊忠 电话 了解近况")
    assert "有 2 位同名的同志" in asked and "已登记流出" in asked
    assert "已记录" in await say(client, peer, SECRETARY, "联系 熊忠 尾号5678 电话 了解近况")
    assert "已记录" in await say(client, peer, XIA, "联系 熊忠 微信 问了近况")  # the one he keeps
    assert "熊忠党费交至2026年11月" in await say(
        client, peer, SECRETARY, "收党费 熊忠 尾号5678 交至2026年11月"
    )
    assert await MobileContact.filter(member_id=plain.id).count() == 2
    assert not await MobileContact.filter(member_id=leader.id).exists()
    searched = await say(client, peer, SECRETARY, "查找 熊忠 电话 拨打两次无人接听")
    assert "对熊忠的第 1 次查找（电话）：拨打两次无人接听" in searched
    found = await say(client, peer, SECRETARY, "恢复联系 熊忠 已取得联系")
    assert "熊忠已恢复联系（已取得联系）" in found
    # The other one by his tail or his full number; the note never keeps the tail.
    logged = await say(client, peer, SECRETARY, "联系 熊忠 尾号1234 电话 问问情况")
    assert "联系熊忠：问问情况" in logged
    assert "已记录" in await say(client, peer, SECRETARY, "联系 13711111234 电话 再问问")
    assert await MobileContact.filter(member_id=leader.id).count() == 2
    assert people["wang"].id not in {c.member_id for c in await MobileContact.all()}


async def test_the_report_in_takes_only_answers_and_asks_to_confirm(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, _ = await story(aiohttp_client, make_settings)
    assert "流入报到" in await say(client, peer, STRANGER, "帮助")
    await say(client, peer, STRANGER, "流入报到")
    await say(client, peer, STRANGER, "陈明 13900000011")
    await say(client, peer, STRANGER, "安徽省XX县XX镇XX村党支部")

    # The phone step takes a number or 无, not a name.
    assert "电话号码请写数字" in await say(client, peer, STRANGER, "金桥村")
    # 帮助 and other commands midway: said, not stored; the flow still waits for the phone.
    helped = await say(client, peer, STRANGER, "帮助")
    assert "（流入报到还在进行，请回复该党组织的联系电话" in helped and "回复 取消 放弃" in helped
    held = await say(client, peer, STRANGER, "打卡")
    assert "「打卡」没有当作回答" in held and "流入报到还在进行" in held
    assert "请回复您要报到的本街道党支部" in await say(client, peer, STRANGER, "(0550)1234567")
    held = await say(client, peer, STRANGER, "社区")
    assert "「社区」没有当作回答" in held and "请回复您要报到的本街道党支部" in held
    await say(client, peer, STRANGER, "第一社区第一")
    await say(client, peer, STRANGER, "第一社区3栋")
    summary = await say(client, peer, STRANGER, "做生意")
    assert "组织关系所在党组织：安徽省XX县XX镇XX村党支部（电话 0550-1234567）" in summary
    assert "流动原因：外出务工经商" in summary and "确认" in summary

    # Anything else: the summary again; 重填 from the start; 确认 sends it.
    assert "请核对" in await say(client, peer, STRANGER, "好的吧")
    assert "从头填写" in await say(client, peer, STRANGER, "重填")
    await say(client, peer, STRANGER, "陈明 13900000011")
    await say(client, peer, STRANGER, "安徽省XX县XX镇XX村党支部")
    await say(client, peer, STRANGER, "无")
    await say(client, peer, STRANGER, "第一社区第一")
    await say(client, peer, STRANGER, "第一社区3栋")
    assert "（电话" not in await say(client, peer, STRANGER, "打工")
    assert not await MobileMember.exists(openid=STRANGER)
    assert "已提交流入报到" in await say(client, peer, STRANGER, "确认")
    record = await MobileMember.get(openid=STRANGER)
    assert (record.other_contact, record.reason) == ("", FlowReason.WORK)

    # Waiting for the branch: 帮助 and 我的 say so.
    assert "正在等待支部确认" in await say(client, peer, STRANGER, "帮助")
    assert "正在等待支部确认" in await say(client, peer, STRANGER, "我的")


async def test_a_second_out_updates_what_differs_and_says_so(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, people = await story(aiohttp_client, make_settings)
    await say(client, peer, SECRETARY, OUT)
    changed = await say(
        client, peer, SECRETARY, "流出 王强 广东东莞 外出务工经商 电话同号 外出时间 2026年4月"
    )
    assert (
        "已更新王强的流出信息：去向 江苏苏州 → 广东东莞；联系方式 微信同号 → 电话同号；"
        "外出时间 2026年3月1日 → 2026年4月1日。" == changed
    )
    record = await MobileMember.get(member_id=people["wang"].id)
    assert (record.place, record.reach, record.since) == ("广东东莞", "电话同号", date(2026, 4, 1))
    assert record.keeper_id == people["committee"].id  # not said: kept
    assert "没有改动" in await say(client, peer, SECRETARY, "流出 王强 广东东莞 务工")
    # A day in the future changes nothing.
    assert "不能晚于今天" in await say(
        client, peer, SECRETARY, "流出 王强 浙江杭州 务工 外出时间 2027年1月"
    )
    assert (await MobileMember.get(id=record.id)).place == "广东东莞"
    assert await MobileMember.all().count() == 1


async def test_everyday_words_for_dues_reasons_and_months(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, people = await story(aiohttp_client, make_settings)
    branch = await make_branch(BRANCH)
    zhang = await make_member("张成平", "13744440000", org=branch)
    swapped = await say(client, peer, SECRETARY, "流出 张成平 居住地改变 浙江杭州")
    assert "已登记：张成平 流出，去向浙江杭州（居住地改变）" in swapped
    assert (await MobileMember.get(member_id=zhang.id)).reason == FlowReason.RESIDENCE
    await say(client, peer, SECRETARY, OUT)

    # A month without its year: the latest such month less than a year ahead.
    at(clock, date(2026, 12, 7))
    paid = await say(client, peer, SECRETARY, "收党费 王强 交到12月 60元")
    assert "王强党费交至2026年12月（60.00元）" in paid
    assert "2027年1月" in await say(client, peer, SECRETARY, "收党费 王强 交到1月")
    # Earlier than what is recorded: a slip, said, not recorded.
    earlier = await say(client, peer, SECRETARY, "收党费 王强 交至2026年3月")
    assert "已登记交至2027年1月，2026年3月比它早，请核对" in earlier
    assert await DuesPaid.filter(member_id=people["wang"].id).count() == 2
    assert "请写明交至哪个月" in await say(client, peer, SECRETARY, "收党费 王强 120元")

    # 年度报告's dues in a member's own words.
    for said, recorded in (("交了", "已交清"), ("交了一部分", "部分交纳"), ("都交了", "已交清")):
        await say(client, peer, WANG, "年度报告")
        await say(client, peer, WANG, "在苏州参加支部主题党日")
        await say(client, peer, WANG, said)
        assert "请核对" in await say(client, peer, WANG, "交给本支部")
        assert "已收到" in await say(client, peer, WANG, "提交")
        report = await YearlyReport.get(member_id=people["wang"].id, year=2026)
        assert report.dues == recorded


async def test_questions_about_flowing_members_are_not_commands(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, people = await story(aiohttp_client, make_settings)
    await say(client, peer, SECRETARY, "流出 王强 江苏苏州 务工 微信同号")
    listed = await say(client, peer, SECRETARY, "流出党员有哪些")
    assert "流动党员 1 人（流出 1，流入 0）" in listed
    # No 联系人 yet: a to-do, with how.
    assert "未指定联系人 1 人（发送 联系人 姓名 联系人姓名）" in listed
    record = await MobileMember.get(member_id=people["wang"].id)
    [line] = await standings([record], [], clock.today(), clock.now(), clock.zone, 30)
    assert todo(line, clock.today()) == ["未指定联系人：发送 联系人 王强 联系人姓名"]
    assert "流出 姓名 去向 原因" not in await say(client, peer, SECRETARY, "流出的党员怎么管理")
    assert "联系人 王强 赵委员" in await say(client, peer, SECRETARY, "流动党员 帮助")
    # A plain member's questions go on to 问, not to "由支部书记办理".
    assert "由支部书记" not in await say(client, peer, SUN, "流出的党员怎么管理")
    asked = await say(client, peer, SUN, "联系人是谁")
    assert "由支部书记" not in asked and "联系人是" not in asked.replace("「联系人是谁」", "")
    # The 流出 member's own 联系人, and whom to reach besides.
    await say(client, peer, SECRETARY, "联系人 王强 赵委员")
    for asked in ("我的联系人", "联系人是谁"):
        told = await say(client, peer, WANG, asked)
        assert "您的联系人是赵委员" in told and "支部书记（李书记）" in told
    await record.refresh_from_db()
    [line] = await standings([record], [], clock.today(), clock.now(), clock.zone, 30)
    assert todo(line, clock.today()) == []
    assert await MobileMember.filter(member_id=people["sun"].id).count() == 0


async def test_small_words_out_unbound_a_committee_meeting_and_a_meeting_from_afar(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, people = await story(aiohttp_client, make_settings)
    branch = await make_branch(BRANCH)
    await make_member("刘芳", "13755550000", org=branch)  # never bound
    told = await say(client, peer, SECRETARY, "流出 刘芳 江苏苏州 务工")
    assert "本人未绑定微信，请当面或电话告知" in told and "绑定后会议通知会发给本人" in told
    assert "照常发送" not in told

    # 停止党籍 on a 支委会: said what it is, and that it takes a 支部党员大会.
    await say(client, peer, SECRETARY, OUT)
    at(clock, date(2027, 6, 1))
    await say(client, peer, SECRETARY, "查找 王强 电话 无人接听")
    committee = await Meeting.create(
        organisation_id=branch.id,
        kind=MeetingType.COMMITTEE_MEETING,
        topic="研究失联党员",
        starts_at=datetime(2027, 6, 1, 0, tzinfo=UTC),
        ends_at=datetime(2027, 6, 1, 1, tzinfo=UTC),
    )
    stop = await say(client, peer, SECRETARY, f"停止党籍 王强 {committee.id} 决定停止其党籍")
    assert f"编号 {committee.id} 是支委会，停止党籍须经支部党员大会讨论决定" in stop
    assert "请先查找" not in stop
    await say(client, peer, SECRETARY, "恢复联系 王强 已取得联系")

    # 会议 N without an online part: a 流出 member is shown how to take part from afar.
    meeting = await Meeting.create(
        organisation_id=branch.id,
        kind=MeetingType.BRANCH_MEETING,
        topic="学习党章",
        starts_at=datetime(2027, 6, 5, 1, tzinfo=UTC),
        ends_at=datetime(2027, 6, 5, 3, tzinfo=UTC),
    )
    for person in (people["wang"], people["sun"]):
        await MeetingAttendee.create(meeting=meeting, member=person, organisation_id=branch.id)
    assert f"心得 {meeting.id} 内容" in await say(client, peer, WANG, f"会议 {meeting.id}")
    assert f"心得 {meeting.id}" not in await say(client, peer, SUN, f"会议 {meeting.id}")
