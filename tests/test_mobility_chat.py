"""流动党员 in chat, as the branch lives it: 李书记 marks 王强 流出 and names 赵委员 his 联系人;
赵委员 keeps in touch; months pass on the clock (no sleeping) and the list says what is due;
王强 sends his 年度报告 from afar; a member of another organisation reports in (流入 报到)
without being bound to anyone, and the branch confirms.  A silent member is searched for and,
after a branch meeting, his 党籍 stopped — two years on the list reminds of 除名.

Every message goes through the real endpoint, signed as WeChat sends them; what a step tells
goes through the outbox, sent by `say` after each message as the scheduler's wake does.  Next
to each happy path, what a stranger, a plain member or a slip of the hand gets: a polite
answer, and nothing changed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from server.clock import FrozenClock
from server.models.meetings import Meeting, MeetingType
from server.models.mobility import (
    FlowReason,
    FlowStatus,
    LostCase,
    LostStage,
    MobileContact,
    MobileMember,
    YearlyReport,
)
from server.models.people import Member, MemberStatus, Role, WeChatIdentity
from server.services.community.outbox import CommunitySender
from server.typedefs import CLOCK, SETTINGS, WECHAT_CLIENTS
from server.wechat.fake_state import FakeWeChat
from server.wechat.replies import MAX_TEXT_BYTES
from tests.conftest import make_branch, make_member
from tests.mobility_helpers import quorate
from tests.test_checkin_chat import frozen_app
from tests.test_leave_chat import texts_to
from tests.test_meetings_chat import bind
from tests.test_meetings_chat import say as say_only
from tests.wechat_peer import WeChatPeer, openid_for

# Wednesday 25 November 2026, 10:00 in Shanghai.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SECRETARY, COMMITTEE, WANG, SUN = (openid_for(n) for n in ("m-sec", "m-com", "m-wang", "m-sun"))
STRANGER, OTHER_STRANGER = openid_for("m-chen"), openid_for("m-fake")
BRANCH = "示范街道党工委/第一社区党总支/第一社区第一党支部"
OUT = "流出 王强 江苏苏州 外出务工经商 微信同号 联系人 赵委员 外出时间 2026年3月"


async def story(
    aiohttp_client: Any, make_settings: Any
) -> tuple[TestClient, WeChatPeer, FrozenClock, dict[str, Member]]:
    # No scheduler: the outbox is sent by `say`, at the moments the story chooses.
    client, peer, clock = await frozen_app(
        aiohttp_client, lambda **kw: make_settings(scheduler=False, **kw), NOW
    )
    branch = await make_branch(BRANCH)
    people = {
        "secretary": await make_member("李书记", "13700000001", role=Role.SECRETARY, org=branch),
        "committee": await make_member(
            "赵委员", "13700000002", role=Role.COMMITTEE_MEMBER, org=branch
        ),
        "wang": await make_member("王强", "13700000003", org=branch),
        "sun": await make_member("孙群", "13700000004", org=branch),
    }
    for key, openid in (
        ("secretary", SECRETARY),
        ("committee", COMMITTEE),
        ("wang", WANG),
        ("sun", SUN),
    ):
        await bind(people[key], openid)
    return client, peer, clock, people


async def say(client: TestClient, peer: WeChatPeer, openid: str, text: str) -> str:
    """Say it, then let the outbox's sender send what the step wrote."""
    reply = await say_only(client, peer, openid, text)
    app = client.app
    await CommunitySender.of(app[WECHAT_CLIENTS], app[SETTINGS]).deliver_due(app[CLOCK].now())
    return reply


def at(clock: FrozenClock, day: date) -> date:
    """Move the clock to 10:00 on `day` in Shanghai."""
    clock.set(datetime(day.year, day.month, day.day, 10, tzinfo=clock.zone))
    return day


async def test_the_secretary_marks_a_member_out_and_the_list_says_what_is_due(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, clock, people = await story(aiohttp_client, make_settings)
    for who in (SECRETARY, WANG, SUN):
        fake.interact(who)

    # A plain member may not; an unknown name, a reason not on the form, no place: told, and
    # nothing is written.
    assert "由支部书记" in await say(client, peer, SUN, "流出 王强 江苏苏州 外出务工经商")
    assert "没有「王五」" in await say(client, peer, SECRETARY, "流出 王五 江苏苏州 务工")
    wrong = await say(client, peer, SECRETARY, "流出 王强 江苏苏州 旅游")
    assert "外出务工经商、单位改制、毕业去向、工作单位改变、出国（境）、居住地改变、其他" in wrong
    assert "写上去向" in await say(client, peer, SECRETARY, "流出 王强 务工")
    assert "外出时间" in await say(client, peer, SECRETARY, "流出")
    assert await MobileMember.all().count() == 0

    done = await say(client, peer, SECRETARY, OUT)
    assert "已登记：王强 流出，去向江苏苏州（外出务工经商），自3月1日起。" in done
    assert (
        "联系方式：微信同号" in done and "联系人：赵委员。下次联系请在12月25日前（每30天）" in done
    )
    assert "已通知本人" in done
    record = await MobileMember.get(member_id=people["wang"].id)
    assert (record.place, record.reason, record.since) == (
        "江苏苏州",
        FlowReason.WORK,
        date(2026, 3, 1),
    )
    assert record.keeper_id == people["committee"].id
    assert (await Member.get(id=people["wang"].id)).is_mobile
    (told,) = texts_to(fake, WANG)
    assert "您的联系人是赵委员" in told and "线上参会" in told and "心得" in told
    assert "年度报告" in told
    assert texts_to(fake, SUN) == []  # nothing public
    again = await say(client, peer, SECRETARY, OUT)
    assert "信息与登记的相同，没有改动" in again and await MobileMember.all().count() == 1
    assert len(texts_to(fake, WANG)) == 1  # told once

    # 党费 received: the month and the amount; a month that is not one is refused.
    assert "没有这个月份" in await say(client, peer, SECRETARY, "收党费 王强 2026年13月")
    paid = await say(client, peer, SECRETARY, "收党费 王强 交至2026年12月 120元")
    assert "王强党费交至2026年12月（120.00元），收于11月25日" in paid

    listed = await say(client, peer, SECRETARY, "流动党员")
    assert "流动党员 1 人（流出 1，流入 0）" in listed and "待办：暂无" in listed
    assert "王强（流出·江苏苏州），最近联系 无，组织生活 无，党费交至 2026年12月" in listed

    # A month on the contact is due; the committee member logs one and the list is clear again.
    at(clock, date(2026, 12, 26))
    due = await say(client, peer, SECRETARY, "流动党员")
    assert "待办：联系到期 1 人" in due and "党费交至 2026年12月；联系到期" in due
    logged = await say(client, peer, COMMITTEE, "联系 王强 电话 了解近况，提醒按时参加线上学习")
    assert "已记录：12月26日 电话联系王强：了解近况，提醒按时参加线上学习" in logged
    assert "下次联系请在2027年1月25日前（每30天）" in logged
    assert "待办：暂无" in await say(client, peer, SECRETARY, "流动党员")

    # The 联系人 and the cadence change; 结束流动 when he comes back.
    changed = await say(client, peer, SECRETARY, "联系人 王强 赵委员 每月")
    assert changed.startswith("王强的联系人：赵委员。下次联系请在")
    assert "联系周期请写成天数" in await say(client, peer, SECRETARY, "联系人 王强 赵委员 常常")
    assert "7 到 366" in await say(client, peer, SECRETARY, "联系人 王强 赵委员 400天")
    ended = await say(client, peer, SECRETARY, "结束流动 王强 已返回本地居住")
    assert "已结束王强的流动党员记录（已返回本地居住）" in ended
    assert not (await Member.get(id=people["wang"].id)).is_mobile
    assert "流动党员 0 人" in await say(client, peer, SECRETARY, "流动党员")


async def test_a_committee_member_keeps_in_touch_and_only_that(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, people = await story(aiohttp_client, make_settings)
    await say(client, peer, SECRETARY, OUT)

    # The name may run into the note, as older members write.
    logged = await say(client, peer, COMMITTEE, "联系王强微信 问了近况")
    assert "已记录：11月25日 微信联系王强：问了近况" in logged
    # A sentence from a 心得 that begins with 联系 is not a contact.
    await say(client, peer, COMMITTEE, "联系实际谈体会")
    # Too long a note, and a name the branch does not have: told, nothing written.
    assert "最多 500 字" in await say(client, peer, COMMITTEE, "联系 王强 电话 " + "聊" * 501)
    assert "没有「王五」" in await say(client, peer, COMMITTEE, "联系 王五 电话 聊了聊")
    assert await MobileContact.all().count() == 1

    # Her own list is the members she keeps; the branch's business is the secretary's.
    kept = await say(client, peer, COMMITTEE, "流动党员")
    assert "您联系的流动党员" in kept and "王强（江苏苏州）最近联系 11月25日" in kept
    assert "由支部书记" in await say(client, peer, COMMITTEE, "流出 孙群 浙江杭州 务工")
    assert "由支部书记" in await say(client, peer, COMMITTEE, "收党费 王强 交至2026年12月")
    assert "由支部书记" in await say(client, peer, COMMITTEE, "查找 王强 电话 无人接听")
    assert await MobileMember.filter(member_id=people["sun"].id).count() == 0

    # A plain member neither logs a contact nor sees the list …
    assert "由支委委员、党小组长或指定的联系人" in await say(
        client, peer, SUN, "联系 王强 电话 聊了聊"
    )
    assert await MobileContact.all().count() == 1
    assert "由支部书记" in await say(client, peer, SUN, "流动党员")
    # … until the branch names her his 联系人: then his contacts are hers to log, and no one else's.
    await say(client, peer, SECRETARY, "联系人 王强 孙群")
    assert "已记录" in await say(client, peer, SUN, "联系 王强 视频 聊了工作近况")
    assert await MobileContact.filter(member_id=people["wang"].id, channel="视频").exists()
    assert "没有「赵委员」" in await say(client, peer, SUN, "联系 赵委员 电话 聊了聊")
    assert "您联系的流动党员" in await say(client, peer, SUN, "流动党员")


async def test_a_member_far_away_sends_the_yearly_report_step_by_step(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, _, people = await story(aiohttp_client, make_settings)
    # Not 流出: a polite word, and no questions.
    assert "没有登记为流出党员" in await say(client, peer, WANG, "年度报告")
    await say(client, peer, SECRETARY, OUT)
    await say(client, peer, COMMITTEE, "联系 王强 电话 了解近况")

    asked = await say(client, peer, WANG, "年度报告")
    assert "2026年度报告" in asked and "在哪里参加组织生活" in asked
    assert "已取消" in await say(client, peer, WANG, "取消")
    await say(client, peer, WANG, "年度报告")
    assert "最多 300 字" in await say(client, peer, WANG, "在" * 301)
    assert "已交清" in await say(
        client, peer, WANG, "在苏州XX公司党支部参加主题党日，线上参加支部党课"
    )
    assert "已交清、部分交纳 或 未交" in await say(client, peer, WANG, "也许吧")
    assert "交到了哪里" in await say(client, peer, WANG, "部分")
    check = await say(client, peer, WANG, "在苏州XX公司党支部交纳")
    assert "请核对您的年度报告" in check and "回复 提交" in check
    assert not await YearlyReport.exists(member_id=people["wang"].id)  # not before 提交
    done = await say(client, peer, WANG, "提交")
    assert (
        "已收到您2026年的年度报告" in done
        and "党费：部分交纳，交纳地：在苏州XX公司党支部交纳" in done
    )
    report = await YearlyReport.get(member_id=people["wang"].id, year=2026)
    assert report.org_life == "在苏州XX公司党支部参加主题党日，线上参加支部党课"  # as typed
    assert "再报一次会替换" in await say(client, peer, WANG, "年度报告")
    await say(client, peer, WANG, "取消")

    # 我的: his own record as the branch keeps it; 孙群's says nothing of anyone's 流动.
    mine = await say(client, peer, WANG, "我的")
    assert (
        "流出党员：2026年3月1日起在江苏苏州，联系人：赵委员；支部最近联系：2026年11月25日" in mine
    )
    assert "2026年度报告：已报告（党费部分交纳）" in mine
    assert "流出" not in await say(client, peer, SUN, "我的")
    assert "您的联系人是赵委员" in await say(client, peer, WANG, "联系人")
    assert "年度报告" in await say(client, peer, WANG, "帮助")
    assert "年度报告" not in await say(client, peer, SUN, "帮助")


async def incoming_report(client: TestClient, peer: WeChatPeer, who: str, phone: str) -> str:
    """A stranger's 流入 报到, one answer at a time; the last reply."""
    await say(client, peer, who, "流入报到")
    await say(client, peer, who, f"陈明 {phone}")
    await say(client, peer, who, "安徽省XX县XX镇XX村党支部")
    await say(client, peer, who, "0550-1234567")
    await say(client, peer, who, "第一社区第一")
    await say(client, peer, who, "第一社区3栋")
    await say(client, peer, who, "务工")
    return await say(client, peer, who, "确认")


async def test_a_stranger_reports_in_and_the_branch_confirms(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    client, peer, _, _ = await story(aiohttp_client, make_settings)
    # A stranger writing anything is told the ways in, 流入报到 among them.
    assert "「流入报到」" in await say(client, peer, STRANGER, "你好")
    await make_branch("示范街道党工委/第一社区党总支/第一社区第二党支部")
    for who in (SECRETARY, STRANGER, OTHER_STRANGER):
        fake.interact(who)

    # A bound member does not report in; a stranger is shown how in 帮助.
    assert "不用流入报到" in await say(client, peer, WANG, "流入报到")
    assert "流入报到" in await say(client, peer, STRANGER, "帮助")

    assert "姓名和手机号" in await say(client, peer, STRANGER, "流入 报到")
    assert "手机号" in await say(client, peer, STRANGER, "陈明")
    assert "11位" in await say(client, peer, STRANGER, "12345")
    assert "组织关系所在党组织" in await say(client, peer, STRANGER, "13900000011")
    assert "联系电话" in await say(client, peer, STRANGER, "安徽省XX县XX镇XX村党支部")
    assert "党支部" in await say(client, peer, STRANGER, "0550-1234567")
    assert "没有找到" in await say(client, peer, STRANGER, "火星")
    choose = await say(client, peer, STRANGER, "第一社区")
    assert "1. 第一社区第一党支部" in choose and "2. 第一社区第二党支部" in choose
    assert "1 到 2 之间" in await say(client, peer, STRANGER, "3")
    assert "报到支部：第一社区第一党支部" in await say(client, peer, STRANGER, "1")
    assert "流动原因" in await say(client, peer, STRANGER, "第一社区3栋")
    assert "外出务工经商" in await say(client, peer, STRANGER, "旅游")  # asked again
    summary = await say(client, peer, STRANGER, "务工")
    assert (
        "请核对您的流入报到" in summary
        and "组织关系所在党组织：安徽省XX县XX镇XX村党支部" in summary
    )
    assert "（电话 0550-1234567）" in summary and "流动原因：外出务工经商" in summary
    assert not await MobileMember.exists(openid=STRANGER)  # nothing sent before 确认
    sent = await say(client, peer, STRANGER, "确认")
    assert "报到到第一社区第一党支部" in sent and sent.endswith("等待支部确认。")
    record = await MobileMember.get(openid=STRANGER)
    assert (record.status, record.name, record.phone) == (
        FlowStatus.PENDING,
        "陈明",
        "13900000011",
    )
    assert "正在等待支部确认" in await say(client, peer, STRANGER, "流入报到")
    (asked,) = [t for t in texts_to(fake, SECRETARY) if "【流入报到】" in t]
    assert f"确认流入 {record.id}" in asked and "13900000011" not in asked

    # The branch looks, a plain member may not decide, the secretary confirms once.
    waiting = await say(client, peer, SECRETARY, "流入审核")
    assert f"【{record.id}】陈明 13900000011" in waiting and "0550-1234567" in waiting
    assert "由支部书记" in await say(client, peer, SUN, f"确认流入 {record.id}")
    assert "编号" in await say(client, peer, SECRETARY, "确认流入")
    confirmed = await say(client, peer, SECRETARY, f"确认流入 {record.id}")
    assert "已确认陈明为本支部的流入党员" in confirmed and "不参加表决和选举" in confirmed
    assert "将通知本人" in confirmed
    assert "已经处理过了" in await say(client, peer, SECRETARY, f"确认流入 {record.id}")
    (heard,) = [t for t in texts_to(fake, STRANGER) if "确认" in t]
    assert "已确认" in heard and "可以使用打卡、学习" in heard
    assert "在本支部参加组织生活，不参加表决和选举" in heard
    member = await Member.get(phone="13900000011")
    assert member.incoming and await WeChatIdentity.exists(openid=STRANGER, member_id=member.id)
    assert "打卡成功" in await say(client, peer, STRANGER, "打卡")
    assert "流入党员" in await say(client, peer, STRANGER, "我的")
    assert "流入 1" in await say(client, peer, SECRETARY, "流动党员")

    # A phone that is a member's already: the reporter learns nothing of whose it is (anyone
    # could look up who is a Party member); the secretary is warned and cannot confirm it.
    asked = await say(client, peer, OTHER_STRANGER, "流入报到")
    assert "党员" not in (await say(client, peer, OTHER_STRANGER, "假冒 13700000004")).replace(
        asked, ""
    ).replace("流入党员", "")
    await say(client, peer, OTHER_STRANGER, "取消")
    await incoming_report(client, peer, OTHER_STRANGER, "13900000012")
    second = await MobileMember.get(openid=OTHER_STRANGER)
    assert "写上内容" in await say(client, peer, SECRETARY, f"不确认流入 {second.id}")
    refused = await say(client, peer, SECRETARY, f"不确认流入 {second.id} 经联系原党组织，查无此人")
    assert "原因：经联系原党组织，查无此人" in refused
    assert any("查无此人" in t for t in texts_to(fake, OTHER_STRANGER))
    assert (await MobileMember.get(id=second.id)).status == FlowStatus.REFUSED
    assert not await Member.exists(phone="13900000012")

    # 陈明 leaves the street: the branch ends his record, and he hears where his life goes on.
    ended = await say(client, peer, SECRETARY, "结束流动 陈明 工作调回原籍")
    assert "已结束陈明的流入党员记录" in ended and "已告知本人" in ended
    (bye,) = [t for t in texts_to(fake, STRANGER) if "结束您的流入党员记录" in t]
    assert "组织关系所在党组织" in bye and "工作调回原籍" in bye


async def test_a_silent_member_is_a_question_then_searched_for_then_stopped(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, people = await story(aiohttp_client, make_settings)
    await say(client, peer, SECRETARY, OUT)

    # Six months and a day without a word: a question for the branch, not a status.
    at(clock, date(2027, 5, 26))
    listed = await say(client, peer, SECRETARY, "流动党员")
    assert "可能失联 1 人" in listed and "请核实" in listed
    assert (await Member.get(id=people["wang"].id)).status == MemberStatus.ACTIVE

    # No stopping without a search or on a meeting that is not a 支部党员大会 held.
    meeting = await Meeting.create(
        organisation_id=people["wang"].organisation_id,
        kind=MeetingType.BRANCH_MEETING,
        topic="研究失联党员处置",
        starts_at=datetime(2027, 5, 25, 1, 0, tzinfo=UTC),
        ends_at=datetime(2027, 5, 25, 3, 0, tzinfo=UTC),
    )
    await quorate(meeting, away=[people["wang"]])
    decision = "经支部党员大会讨论，决定停止其党籍"
    assert "请先查找" in await say(
        client, peer, SECRETARY, f"停止党籍 王强 {meeting.id} {decision}"
    )
    searched = await say(client, peer, SECRETARY, "查找 王强 电话 拨打两次无人接听")
    assert "第 1 次查找（电话）：拨打两次无人接听" in searched
    assert "第 2 次查找（亲属）" in await say(
        client, peer, SECRETARY, "查找 王强 亲属 其母亲不知去向"
    )
    assert "会议编号" in await say(client, peer, SECRETARY, "停止党籍 王强 决定停止")
    assert "不是王强所在支部的支部党员大会" in await say(
        client, peer, SECRETARY, f"停止党籍 王强 {meeting.id + 99} {decision}"
    )
    assert "查找中 1 人" in await say(client, peer, SECRETARY, "流动党员")
    # That meeting was held before the search began: it cannot have decided on it.
    assert "查找开始" in await say(
        client, peer, SECRETARY, f"停止党籍 王强 {meeting.id} {decision}"
    )
    meeting = await Meeting.create(
        organisation_id=people["wang"].organisation_id,
        kind=MeetingType.BRANCH_MEETING,
        topic="研究失联党员处置",
        starts_at=datetime(2027, 5, 28, 0, 0, tzinfo=UTC),
        ends_at=datetime(2027, 5, 28, 1, 30, tzinfo=UTC),
    )
    await quorate(meeting, away=[people["wang"]])
    at(clock, date(2027, 5, 28))  # 10:00, the 08:00 meeting over

    stopped = await say(client, peer, SECRETARY, f"停止党籍 王强 {meeting.id} {decision}")
    assert "停止王强的党籍" in stopped and "报上级党委备案" in stopped
    assert "2029年5月28日起会提醒支部按程序办理除名" in stopped
    assert (await Member.get(id=people["wang"].id)).status == MemberStatus.STOPPED
    assert "已停止党籍 1 人" in await say(client, peer, SECRETARY, "流动党员")

    # Two years on: the list reminds of 除名; the branch records it done.
    at(clock, date(2029, 5, 29))
    reminded = await say(client, peer, SECRETARY, "流动党员")
    assert "除名提醒 1 人" in reminded and "停止党籍满两年" in reminded
    assert "已办结王强的失联记录" in await say(
        client, peer, SECRETARY, "办结 王强 经党委批准，按自行脱党予以除名"
    )
    case = await MobileMember.get(member_id=people["wang"].id)
    assert case.status == FlowStatus.ENDED  # ended with 停止党籍: the case is the business now
    assert (await LostCase.get(member_id=people["wang"].id)).stage == LostStage.CLOSED


async def test_a_member_found_again_a_long_list_in_pages_and_a_group(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock, _ = await story(aiohttp_client, make_settings)
    branch = await make_branch(BRANCH)
    for i in range(30):
        name = f"流动{chr(0x4E00 + i)}{chr(0x4E50 + i)}"
        await make_member(name, f"1390000{i:04d}", org=branch)
        await say(client, peer, SECRETARY, f"流出 {name} 广东深圳市南山区 务工 电话同号")
    await say(client, peer, SECRETARY, OUT)
    at(clock, date(2027, 6, 1))
    await say(client, peer, SECRETARY, "查找 王强 电话 无人接听")
    found = await say(client, peer, SECRETARY, "恢复联系 王强 已取得联系，补交了党费")
    assert "王强已恢复联系（已取得联系，补交了党费）" in found
    assert "没有正在查找" in await say(client, peer, SECRETARY, "恢复联系 王强 再来一次")

    first = await say(client, peer, SECRETARY, "流动党员")
    assert "流动党员 31 人（流出 31，流入 0）" in first and "回复 继续" in first
    pages = [first]
    while "回复 继续" in pages[-1]:
        pages.append(await say(client, peer, SECRETARY, "继续"))
        assert len(pages) < 10
    assert all(len(p.encode()) <= MAX_TEXT_BYTES for p in pages)
    shown = "\n".join(pages)
    assert all(f"流动{chr(0x4E00 + i)}{chr(0x4E50 + i)}（流出" in shown for i in range(30))
    assert "后台" in first and "各项写法" in pages[-1]
    # 继续 after the list is the study's again, not the list's.
    assert "名单" not in await say(client, peer, SECRETARY, "继续")

    # Three or more in one place make a 流动党员党小组; two do not, nor a member not 流出.
    names = [f"流动{chr(0x4E00 + i)}{chr(0x4E50 + i)}" for i in range(3)]
    two = await say(client, peer, SECRETARY, f"流动党小组 深圳 {names[0]}、{names[1]}")
    assert "至少要有 3 名" in two
    assert "不是本支部登记的流动党员" in await say(
        client, peer, SECRETARY, f"流动党小组 深圳 {names[0]}、{names[1]}、孙群"
    )
    assert "由支部书记" in await say(client, peer, SUN, f"流动党小组 深圳 {'、'.join(names)}")
    formed = await say(client, peer, SECRETARY, f"流动党小组 深圳 {'、'.join(names)}")
    assert "已成立流动党员党小组（深圳）" in formed
    grouped = await Member.filter(name__in=names).prefetch_related("group")
    assert {m.group.name for m in grouped if m.group} == {"流动党员党小组（深圳）"}
    assert len(grouped) == 3
