"""流动党员 and 三会一课: a branch's meetings reach the members it cannot see.

李书记's branch has 王强 working in Suzhou and 王芳 gone to her daughter's in Hangzhou (流出), and
刘军 and 陈红 who live in the street but belong elsewhere (流入).  A 支部党员大会 gets an online
part; 王强 signs in from Suzhou with the code read out there, 王芳 sends a 心得 on the topic the
next day and the branch approves it.  Both count as present, and say how, in the ledger and in
会议 N; 刘军 and 陈红 take part without a vote: never in 应到, the quorum or the tallies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.cache import MemoryCache
from server.channels import Channel
from server.db import close_database, open_database
from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.meetings import (
    Attendance,
    Meeting,
    MeetingAttendee,
    MeetingChange,
)
from server.models.mobility import FlowReason
from server.models.notices import Notice
from server.models.people import Member, MemberStatus, Organisation, Role
from server.models.study import Submission, SubmissionStatus
from server.services.delivery.outbox import Outbox, Templates
from server.services.meetings import attendance, scheduling
from server.services.meetings.ledger import ledger_xlsx
from server.services.mobility import incoming, outgoing
from server.services.mobility.outgoing import Outgoing
from server.services.study import submissions
from server.services.study.points import PointsRules
from server.services.tallies.report import tally_report
from server.services.tallies.snapshot import fresh_days, snapshot_day
from tests.conftest import make_branch, make_group, make_member, migrated
from tests.test_api_branch import TOMORROW_3PM
from tests.test_api_branch import schedule as api_schedule
from tests.test_api_branch import world as branch_world
from tests.test_api_member import people as member_people
from tests.test_api_member import start as member_world
from tests.test_attendance_chat import code_in
from tests.test_checkin_chat import frozen_app
from tests.test_ledger import book_of, table
from tests.test_meetings_chat import (
    LEADER,
    MEMBER,
    NOW,
    OTHER,
    SECRETARY,
    bind,
    branch_with_people,
    say,
)
from tests.test_notices import outbox
from tests.wechat_peer import openid_for

ZONE = ZoneInfo("Asia/Shanghai")
BRANCH = "示范街道党工委/第一社区党总支/第一社区第一党支部"
NEIGHBOUR = "示范街道党工委/第一社区党总支/第一社区第二党支部"
ROTATION = 300
ONLINE = "腾讯会议 123-456-789"
# What 王芳 writes from Hangzhou on the meeting's topic: well over the 50 characters a 心得 needs.
THOUGHTS = (
    "通过学习二十大精神，我深刻体会到党员无论身在何处，都要牢记自己的身份，"
    "在杭州也要主动联系当地社区，参加志愿服务，按时交纳党费，和支部保持联系。"
)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


MEETING_AT = at(11, 10, 15)  # Tuesday 10 November, 15:00–16:30


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "mobile-meetings.sqlite3"))
    yield
    await close_database()


async def a_branch() -> dict[str, Member]:
    """李书记's branch: a committee, a 党小组 of two, two more members, one whose 党籍 was stopped,
    and a member of the neighbouring branch."""
    branch = await make_branch(BRANCH)
    group = await make_group(branch, "第一网格党小组")
    people = {
        "secretary": await make_member("李书记", "13700000001", role=Role.SECRETARY, org=branch),
        "committee": await make_member("周委员", "13700000002", role=Role.COMMITTEE_MEMBER,
                                       org=branch),
        "wu": await make_member("吴组长", "13700000003", role=Role.GROUP_LEADER, org=branch,
                                group=group),
        "wang": await make_member("王芳", "13700000004", org=branch, group=group),
        "zheng": await make_member("郑七", "13700000005", org=branch),
        "qiang": await make_member("王强", "13700000006", org=branch),
        "stopped": await make_member("钱停", "13700000007", org=branch,
                                     status=MemberStatus.STOPPED),
    }  # fmt: skip
    people["neighbour"] = await make_member("赵六", "13700000008", org=await make_branch(NEIGHBOUR))
    return people


async def report_in(branch: Organisation, name: str, phone: str) -> Member:
    """流入 报到 from WeChat, and the secretary confirms: a member here without a vote."""
    secretary = await Member.get(organisation_id=branch.id, role=Role.SECRETARY)
    record = await incoming.report_in(
        "wx-oa",
        f"openid-{phone}",
        Channel.OFFICIAL_ACCOUNT,
        branch,
        incoming.Incoming(name, phone, "XX县XX镇XX村党支部", "0571-12345678", "红星村3组",
                          FlowReason.WORK),
        date(2026, 11, 2),
        at(11, 2, 9),
    )  # fmt: skip
    await incoming.decide_in(secretary, record.id, True, "", at(11, 2, 10))
    return await Member.get(phone=phone)


async def newcomers(people: dict[str, Member]) -> dict[str, Member]:
    """刘军 reports in to the branch; 陈红 too, and is put in the first 党小组."""
    branch = await Organisation.get(path=BRANCH)
    liu = await report_in(branch, "刘军", "13900000001")
    chen = await report_in(branch, "陈红", "13900000002")
    chen.group_id = people["wang"].group_id
    await chen.save()
    return {"liu": liu, "chen": chen}


async def mark_out(people: dict[str, Member], *keys: str) -> None:
    places = {"qiang": "江苏苏州", "wang": "浙江杭州", "wu": "上海浦东"}
    for key in keys:
        await outgoing.mark_out(
            people["secretary"],
            people[key],
            Outgoing(places[key], FlowReason.WORK),
            date(2026, 11, 2),
            at(11, 2, 9),
        )
        await people[key].refresh_from_db()


async def schedule(
    who: Member, kind: str, starts: datetime, topic: str, online: str | None = None
) -> Meeting:
    now = at(11, 5, 9)
    draft = await scheduling.prepare(who, kind, starts, topic, "会议室", now, 90, online=online)
    return await scheduling.schedule(who, draft, now)


async def sign_in(meeting: Meeting, *who: Member) -> list[attendance.SignedIn]:
    now = meeting.starts_at.astimezone(ZONE) + timedelta(minutes=5)
    chair = await Member.get(id=meeting.chair_id)
    code = (await attendance.signin_code(chair, meeting.id, now, ROTATION)).code
    return [
        await attendance.sign_in(m, code, now, now.date(), ROTATION, MemoryCache(), PointsRules())
        for m in who
    ]


async def roles(meeting: Meeting) -> dict[str, str]:
    rows = await MeetingAttendee.filter(meeting_id=meeting.id).prefetch_related("member")
    return {r.member.name: str(r.role) for r in rows}


async def report_figures(now: datetime, *, snapshots: bool = True) -> tuple[int, int]:
    """The branch's 应到 and 实到 for November at `now`, as the staff report counts them."""
    branch = await Organisation.get(path=BRANCH)
    report = await tally_report(
        branch, date(2026, 11, 1), date(2026, 11, 30), by=None, today=now.date(), zone=ZONE,
        now=now, use_snapshots=snapshots, service=False,
    )  # fmt: skip
    return report.total.expected, report.total.present


# --- 流入: taking part without a vote --------------------------------------------------------


async def test_incoming_members_take_part_but_are_never_expected_nor_in_the_quorum(
    db: None,
) -> None:
    people = await a_branch()
    came = await newcomers(people)
    sec = people["secretary"]

    draft = await scheduling.prepare(
        sec, "支部党员大会", MEETING_AT, "学习二十大精神", "会议室", at(11, 5, 9), 90
    )
    assert (draft.expected, draft.incoming) == (6, 2)  # not 钱停 (停止党籍), not the newcomers
    general = await scheduling.schedule(sec, draft, at(11, 5, 9))
    assert await roles(general) == {
        "李书记": "expected", "周委员": "expected", "吴组长": "expected", "王芳": "expected",
        "郑七": "expected", "王强": "expected", "刘军": "incoming", "陈红": "incoming",
    }  # fmt: skip
    committee = await schedule(sec, "支委会", at(11, 11, 9), "研究发展党员")
    assert set((await roles(committee)).values()) == {"expected"}  # the committee's own
    group = await schedule(people["wu"], "党小组会", at(11, 12, 19), "学习党章")
    assert await roles(group) == {"吴组长": "expected", "王芳": "expected", "陈红": "incoming"}

    # Three of the six expected sign in, and both newcomers: exactly half is no quorum.  Were
    # the newcomers counted, five of eight would pass.
    signed = await sign_in(general, sec, people["committee"], people["zheng"], *came.values())
    assert all(s.mode is None for s in signed)
    after = at(11, 10, 17)
    await attendance.close(general, after)
    roster = await scheduling.roster(general, after)
    assert [r.member.name for r in roster.incoming] == ["刘军", "陈红"]
    assert all(r.attendance == Attendance.PRESENT for r in roster.incoming)
    assert (len(roster.expected), len(roster.present)) == (6, 3)
    assert roster.counts["present"] == 3 and sum(roster.counts.values()) == 6
    assert attendance.quorum(general, roster.counts) is False
    # Nor in the tallies: 应到 6, 实到 3 for the branch (the other two meetings still to come).
    assert await report_figures(after, snapshots=False) == (6, 3)

    book = book_of(await ledger_xlsx(await Organisation.get(path=BRANCH), 2026, ZONE, after))
    [row] = table(book["支部党员大会"])
    assert (row["应到"], row["实到"]) == (6, 3)
    assert row["流入党员（无表决权）"] == "刘军（出席）、陈红（出席）"
    assert "刘军" not in row["实到人员"]
    assert "流入党员（无表决权）" not in table(book["支委会"])[0]  # a sheet without any


async def test_an_incoming_member_is_never_made_expected_by_a_later_meeting_type(
    db: None,
) -> None:
    """Every type but the committee's: a 党课 or 主题党日 lists them apart too."""
    people = await a_branch()
    await newcomers(people)
    for kind in ("党课", "主题党日", "组织生活会"):
        meeting = await schedule(people["secretary"], kind, at(11, 20, 9), f"{kind}学习")
        found = await roles(meeting)
        assert (found["刘军"], found["陈红"]) == ("incoming", "incoming")
        assert "钱停" not in found
        await scheduling.cancel(people["secretary"], meeting.id, "另行安排", at(11, 6, 9))


# --- 流出: taking part from afar -----------------------------------------------------------


async def test_online_from_suzhou_and_a_心得_from_hangzhou_both_count_and_say_how(
    db: None,
) -> None:
    people = await a_branch()
    await mark_out(people, "qiang", "wang")
    sec = people["secretary"]
    general = await schedule(sec, "支部党员大会", MEETING_AT, "学习二十大精神", online=ONLINE)
    assert general.online == ONLINE
    booked = await MeetingChange.get(meeting_id=general.id, action="scheduled")
    assert booked.detail["online"] == ONLINE

    # The code read out in the online part: 王强 in Suzhou takes part online; 郑七 in the room.
    qiang, zheng, _ = await sign_in(general, people["qiang"], people["zheng"], sec)
    assert (qiang.mode, zheng.mode) == ("online", None)

    # 王芳 writes the next day; nothing counts before the branch approves it.
    written = await submissions.submit(
        people["wang"], THOUGHTS, date(2026, 11, 11), [], meeting_id=general.id,
        now=at(11, 11, 20),
    )  # fmt: skip
    assert (written.meeting_id, written.status) == (general.id, SubmissionStatus.PENDING)
    over = at(11, 12, 9)
    await attendance.close(general, over)
    wang_row = await MeetingAttendee.get(meeting_id=general.id, member_id=people["wang"].id)
    assert wang_row.attendance == Attendance.ABSENT

    # The day was taken by the nightly snapshot: 应到 6, 实到 3.
    await snapshot_day(date(2026, 11, 10), ZONE, now=over)
    assert date(2026, 11, 10) in await fresh_days(date(2026, 11, 10), date(2026, 11, 10))
    assert await report_figures(over) == (6, 3)

    approved = await submissions.approve(sec, written.id, at(11, 12, 10), date(2026, 11, 12),
                                         PointsRules())  # fmt: skip
    assert approved.attended
    await wang_row.refresh_from_db()
    assert (wang_row.attendance, wang_row.mode) == (Attendance.PRESENT, "writing")
    change = await MeetingChange.get(meeting_id=general.id, action="writing")
    assert change.detail == {"member": people["wang"].id, "submission": written.id,
                             "from": "absent"}  # fmt: skip
    # A late change reaches the figures as a 补录 does: the day is counted afresh.
    assert await fresh_days(date(2026, 11, 10), date(2026, 11, 10)) == set()
    assert await report_figures(over) == (6, 4)

    book = book_of(await ledger_xlsx(await Organisation.get(path=BRANCH), 2026, ZONE, over))
    [row] = table(book["支部党员大会"])
    assert row["地点"] == f"会议室\n线上：{ONLINE}"
    assert "王强（线上参加）" in row["实到人员"] and "王芳（以心得参加）" in row["实到人员"]
    assert "郑七（" not in row["实到人员"]
    rows = list(book["变更记录"].iter_rows(min_row=3, values_only=True))
    log = {r[2]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert (
        log["以心得参加"]["变更内容"] == f"王芳：缺席 → 出席，以心得参加（心得编号 {written.id}）"
    )
    assert log["以心得参加"]["操作人"] == "李书记"


async def test_a_心得_outside_the_rules_is_refused_and_a_returned_one_counts_for_nothing(
    db: None,
) -> None:
    people = await a_branch()
    await mark_out(people, "qiang", "wang")
    sec, wang = people["secretary"], people["wang"]
    general = await schedule(sec, "支部党员大会", MEETING_AT, "学习二十大精神")
    committee = await schedule(sec, "支委会", at(11, 11, 9), "研究发展党员")
    neighbour_sec = await make_member(
        "赵书记", "13700000009", role=Role.SECRETARY,
        org=await Organisation.get(path=NEIGHBOUR),
    )  # fmt: skip
    theirs = await schedule(neighbour_sec, "支部党员大会", at(11, 10, 9), "学习党章")

    async def hand_in(member: Member, number: int, now: datetime, text: str = THOUGHTS) -> Any:
        return await submissions.submit(member, text, now.date(), [], meeting_id=number, now=now)

    with pytest.raises(PermissionDenied) as refused:  # 郑七 lives here: he comes to meetings
        await hand_in(people["zheng"], general.id, at(11, 11, 9))
    assert "仅适用于流动党员" in refused.value.user_message
    with pytest.raises(Conflict) as early:
        await hand_in(wang, general.id, at(11, 9, 9))
    assert "还没有开始" in early.value.user_message
    with pytest.raises(Conflict) as late:
        await hand_in(wang, general.id, at(11, 18, 9))  # 7 days after the end is 17 Nov 16:30
    assert "超过 7 天" in late.value.user_message
    # A meeting she is not on (the committee's, another branch's) is no different from none.
    for other in (committee, theirs):
        with pytest.raises(NotFound):
            await hand_in(wang, other.id, at(11, 11, 10))
    with pytest.raises(ValidationFailed):  # 学习了 is no 心得, whatever meeting it is for
        await hand_in(wang, general.id, at(11, 11, 9), text="学习了")
    assert await Submission.all().count() == 0

    # In time: one 心得 a meeting while it waits; returned, it counts for nothing.
    first = await hand_in(wang, general.id, at(11, 17, 16))  # on the last afternoon
    with pytest.raises(Conflict) as twice:
        await hand_in(wang, general.id, at(11, 17, 16), text=THOUGHTS + "再补充一点。")
    assert "已交过" in twice.value.user_message
    await submissions.return_for_revision(sec, first.id, "请结合本支部实际谈谈", at(11, 17, 17))
    row = await MeetingAttendee.get(meeting_id=general.id, member_id=wang.id)
    assert row.attendance != Attendance.PRESENT and row.mode is None
    assert not await MeetingChange.exists(meeting_id=general.id, action="writing")

    # Signed in online already: no 心得 in its place is needed.
    online = await schedule(sec, "党课", at(11, 20, 15), "践行初心使命", online=ONLINE)
    await sign_in(online, people["qiang"])
    with pytest.raises(Conflict) as present:
        await hand_in(people["qiang"], online.id, at(11, 20, 17))
    assert "已计入" in present.value.user_message and "线上参加" in present.value.user_message


async def test_a_correction_says_what_is_so_now_and_forgets_the_mode(db: None) -> None:
    people = await a_branch()
    await mark_out(people, "qiang")
    sec = people["secretary"]
    general = await schedule(sec, "支部党员大会", MEETING_AT, "学习二十大精神", online=ONLINE)
    await sign_in(general, people["qiang"])
    await attendance.correct(
        sec, general.id, people["qiang"].id, Attendance.ABSENT, "线上只停留了一分钟", at(11, 10, 17)
    )
    row = await MeetingAttendee.get(meeting_id=general.id, member_id=people["qiang"].id)
    assert (row.attendance, row.mode) == (Attendance.ABSENT, None)


# --- the online part -----------------------------------------------------------------------


async def test_the_online_part_is_set_changed_and_cleared_until_the_end_with_its_history(
    db: None,
) -> None:
    people = await a_branch()
    sec = people["secretary"]
    general = await schedule(sec, "支部党员大会", MEETING_AT, "学习二十大精神")
    now = at(11, 6, 9)
    meeting, before = await scheduling.set_online(sec, general.id, f"  {ONLINE}  ", now)
    assert (meeting.online, before) == (ONLINE, None)
    meeting, before = await scheduling.set_online(sec, general.id, "腾讯会议 987-654-321", now)
    assert (meeting.online, before) == ("腾讯会议 987-654-321", ONLINE)
    meeting, _ = await scheduling.set_online(sec, general.id, None, now)
    assert meeting.online is None
    changes = await MeetingChange.filter(meeting_id=general.id, action="online").order_by("id")
    assert [c.detail for c in changes] == [
        {"online": ONLINE, "was": ""},
        {"online": "腾讯会议 987-654-321", "was": ONLINE},
        {"online": "", "was": "腾讯会议 987-654-321"},
    ]
    with pytest.raises(ValidationFailed) as long:
        await scheduling.set_online(sec, general.id, "会" * 101, now)
    assert long.value.field == "online"
    with pytest.raises(PermissionDenied):
        await scheduling.set_online(people["zheng"], general.id, ONLINE, now)
    with pytest.raises(Conflict):
        await scheduling.set_online(sec, general.id, ONLINE, at(11, 10, 17))
    await general.refresh_from_db()
    assert general.online is None
    assert await MeetingChange.filter(meeting_id=general.id, action="online").count() == 3


# --- notices -------------------------------------------------------------------------------


def test_a_notice_to_a_mobile_member_says_how_to_take_part_from_afar() -> None:
    box = Outbox({}, Templates(), ZONE)
    starts = MEETING_AT.astimezone(UTC)
    meeting = Meeting(
        id=12, kind="支部党员大会", topic="学习二十大精神", place="会议室",
        starts_at=starts, ends_at=starts + timedelta(minutes=90), online=ONLINE,
    )  # fmt: skip
    notice = Notice(kind="scheduled")
    far = box.text(notice, meeting, mobile=True)
    assert f"可以线上参加（{ONLINE}）" in far and "签到码" in far
    assert "心得 12 内容" in far and "结束后 7 天内" in far
    assert far.endswith("不能参加请回复：请假 12 原因")
    home = box.text(notice, meeting)
    assert "线上" not in home and "心得" not in home
    meeting.online = None
    only_writing = box.text(notice, meeting, mobile=True)
    assert "线上" not in only_writing and "心得 12 内容" in only_writing
    cancelled = box.text(Notice(kind="cancelled:3"), meeting, "场地停电", mobile=True)
    assert "心得" not in cancelled


# --- in chat -------------------------------------------------------------------------------

CHAT_STARTS = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # the chat stories': tomorrow 15:00
LIU = openid_for("liu-jun")


async def mark_out_in_chat_world(clock: Any, people: dict[str, Member], *keys: str) -> None:
    for key in keys:
        await outgoing.mark_out(
            people["secretary"],
            people[key],
            Outgoing("浙江杭州", FlowReason.WORK),
            clock.today(),
            clock.now(),
        )


async def test_a_secretary_gives_the_meeting_an_online_part_in_chat_and_the_far_away_are_told(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    fake, _ = fake_wechat
    client, peer, clock = await frozen_app(
        aiohttp_client, lambda **kw: make_settings(scheduler=False, **kw), NOW
    )
    people = await branch_with_people()
    await mark_out_in_chat_world(clock, people, "member")  # 王芳 is in Hangzhou
    preview = await say(
        client,
        peer,
        SECRETARY,
        f"安排 党员大会 明天下午3点 学习二十大精神 地点 会议室 线上 {ONLINE}",
    )
    assert "地点：会议室" in preview and "主题：学习二十大精神" in preview
    assert f"线上：{ONLINE}（流动党员可线上参加）" in preview
    await say(client, peer, SECRETARY, "确认")
    meeting = await Meeting.get()
    assert (meeting.place, meeting.online) == ("会议室", ONLINE)

    fake.interact(MEMBER)
    fake.interact(LEADER)
    await outbox(client).deliver_due(clock.now())
    [far] = fake.messages_to(MEMBER)
    [home] = fake.messages_to(LEADER)
    assert far.text and home.text
    assert f"可以线上参加（{ONLINE}）" in far.text and f"心得 {meeting.id} 内容" in far.text
    assert "线上" not in home.text and "心得" not in home.text

    number = meeting.id
    # Hostile first: each refused politely, nothing changed.
    assert "请写上线上参会方式" in await say(client, peer, SECRETARY, f"线上 {number}")
    assert "最多 100 字" in await say(client, peer, SECRETARY, f"线上 {number} {'会' * 101}")
    assert "只有安排会议的书记" in await say(client, peer, MEMBER, f"线上 {number} 腾讯会议 1")
    assert "没有找到编号为 999" in await say(client, peer, SECRETARY, "线上 999 腾讯会议 1")
    assert (await Meeting.get()).online == ONLINE
    changed = await say(client, peer, SECRETARY, f"线上 {number} 腾讯会议：987-654-321")
    assert "已设置" in changed and "腾讯会议：987-654-321" in changed
    assert "线上：腾讯会议：987-654-321" in await say(client, peer, SECRETARY, f"会议 {number}")
    assert "已去掉" in await say(client, peer, SECRETARY, f"线上 {number} 取消")
    assert "本来就没有" in await say(client, peer, SECRETARY, f"线上 {number} 取消")
    assert (await Meeting.get()).online is None
    assert "线上：" not in await say(client, peer, SECRETARY, f"会议 {number}")
    online = MeetingChange.filter(meeting_id=number, action="online").order_by("id")
    assert [c.detail["online"] for c in await online] == ["腾讯会议：987-654-321", ""]

    # A topic about online study is a topic, not an online part.
    preview = await say(client, peer, SECRETARY, "安排 主题党日 12月1日15:00 开展线上学习交流")
    assert "主题：开展线上学习交流" in preview and "线上：" not in preview


async def test_far_away_members_take_part_online_or_by_心得_and_会议_N_says_how(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client, peer, clock = await frozen_app(aiohttp_client, make_settings, NOW)
    people = await branch_with_people()
    await mark_out_in_chat_world(clock, people, "member", "leader")  # 王芳 and 吴组长 away
    await bind(people["other"], OTHER)  # 郑七 lives here
    liu = await make_member("刘军", "13900000001", org=await Organisation.get(path=BRANCH))
    liu.incoming = True  # 流入: his relationship is with his home village's branch
    await liu.save()
    await bind(liu, LIU)

    preview = await say(
        client, peer, SECRETARY, f"安排 党员大会 明天下午3点 学习二十大精神 线上 {ONLINE}"
    )
    assert "应到 5 人" in preview and "另有流入党员 1 人参加（无表决权，不计入应到）" in preview
    await say(client, peer, SECRETARY, "确认")
    meeting = await Meeting.get()
    number = meeting.id

    clock.set(CHAT_STARTS + timedelta(minutes=5))
    code = code_in(await say(client, peer, SECRETARY, f"签到码 {number}"))
    assert (await say(client, peer, MEMBER, f"签到 {code}")).startswith("签到成功（线上参加）：")
    assert (await say(client, peer, OTHER, f"签到 {code}")).startswith("签到成功：")
    assert (await say(client, peer, LIU, f"签到 {code}")).startswith("签到成功：")

    # The next day 吴组长 writes from Shanghai; 郑七, who was here, may not do the same.
    clock.set(CHAT_STARTS + timedelta(days=1))
    handed = await say(client, peer, LEADER, f"心得 {number} {THOUGHTS}")
    assert "会议心得已提交" in handed and f"对应编号 {number} 的会议" in handed
    written = await Submission.get(member_id=people["leader"].id)
    assert written.meeting_id == number and written.content == THOUGHTS
    refused = await say(client, peer, OTHER, f"心得 {number} {THOUGHTS}")
    assert "会议心得替代参会仅适用于流动党员" in refused
    assert not await Submission.exists(member_id=people["other"].id)
    assert "仅适用于流动党员" in await say(client, peer, OTHER, f"心得 {number}")
    assert "请在会议编号后写上" in await say(client, peer, LEADER, f"心得 {number}")
    # A 心得 that merely begins with a year is an ordinary one.
    ordinary = await say(client, peer, OTHER, f"心得 2026年{THOUGHTS}")
    assert "心得已提交" in ordinary and "会议心得" not in ordinary
    assert (await Submission.get(member_id=people["other"].id)).meeting_id is None

    assert f"会议 {number} 的心得，待审核" in await say(client, peer, LEADER, "我的心得")
    leader_row = await MeetingAttendee.get(meeting_id=number, member_id=people["leader"].id)
    assert leader_row.attendance != Attendance.PRESENT  # not before the branch approves it
    # The reviewer sees what the 心得 is for, and what approving it does.
    listed = await say(client, peer, SECRETARY, "审核")
    assert f"会议 {number} 心得，通过即记为以心得参加" in listed
    approved = await say(client, peer, SECRETARY, f"通过 {written.id}")
    assert f"已记为以心得参加编号 {number} 的会议" in approved
    await leader_row.refresh_from_db()
    assert (leader_row.attendance, leader_row.mode) == (Attendance.PRESENT, "writing")

    shown = await say(client, peer, SECRETARY, f"会议 {number}")
    assert "应到 5 人：实到 3，请假 0，缺席 2" in shown
    assert "吴组长（以心得参加）" in shown and "王芳（线上参加）" in shown
    assert "流入党员（无表决权） 1 人（不计入应到）：刘军（已签到）" in shown
    assert "您：线上参加" in await say(client, peer, MEMBER, f"会议 {number}")
    assert "流入党员（无表决权） 1 人" in await say(client, peer, LIU, f"会议 {number}")


# --- through the API -----------------------------------------------------------------------


async def test_the_branch_api_sets_the_online_part_and_lists_newcomers_apart(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await branch_world(aiohttp_client, make_settings, fake_wechat)
    liu = await make_member("刘军", "13900000001", org=w.branch)
    liu.incoming = True
    await liu.save()
    status, created = await api_schedule(w, kind="支部党员大会", online=f" {ONLINE} ")
    assert status == 200 and created["online"] == ONLINE, created
    number = created["id"]
    path = f"/meetings/{number}"

    status, body = await w.call("PATCH", path, "secretary", json={"online": "腾讯会议 987"})
    assert status == 200 and body["online"] == "腾讯会议 987"
    assert body["starts_at"] == TOMORROW_3PM  # only the online part changed
    for bad, field in (
        ({}, "starts_at"),
        ({"minutes": 60, "online": ONLINE}, "starts_at"),
        ({"online": "会" * 101}, "online"),
        ({"online": 3}, "online"),
    ):
        status, body = await w.call("PATCH", path, "secretary", json=bad)
        assert (status, body.get("field")) == (400, field), (bad, body)
    status, body = await w.call("PATCH", path, "zheng", json={"online": ONLINE})
    assert status == 403  # 郑七 runs no meetings
    status, body = await w.call("PATCH", path, "secretary", json={"online": None})
    assert status == 200 and body["online"] is None
    moved = {"starts_at": "2026-12-02T15:00:00", "online": ONLINE}
    status, body = await w.call("PATCH", path, "secretary", json=moved)
    assert status == 200 and body["starts_at"] == "2026-12-02T15:00:00+08:00"
    assert body["online"] == ONLINE
    actions = (
        MeetingChange.filter(meeting_id=number).order_by("id").values_list("action", flat=True)
    )
    assert list(await actions) == ["scheduled", "online", "online", "rescheduled", "online"]

    status, roster = await w.call("GET", f"{path}/roster", "secretary")
    assert status == 200, roster
    by_name = {p["name"]: p for p in roster["people"]}
    assert by_name["刘军"]["role"] == "incoming" and by_name["刘军"]["mode"] is None
    assert roster["counts"]["expected"] == 4 and roster["counts"]["incoming"] == 1
    assert roster["meeting"]["online"] == ONLINE


async def test_a_mobile_member_hands_in_a_meetings_心得_in_the_mini_program(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    world = await member_world(aiohttp_client, make_settings, fake_wechat)
    folk = await member_people()
    draft = await scheduling.prepare(
        folk["secretary"], "支部党员大会", CHAT_STARTS, "学习二十大精神", "会议室", NOW, 90
    )
    meeting = await scheduling.schedule(folk["secretary"], draft, NOW)
    await outgoing.mark_out(
        folk["secretary"], folk["wang"], Outgoing("浙江杭州", FlowReason.WORK),
        NOW.date(), NOW,
    )  # fmt: skip
    wang, zheng = await world.headers(folk["wang"]), await world.headers(folk["zheng"])
    status, shown = await world.call("GET", f"/meetings/{meeting.id}", wang)
    assert status == 200 and shown["may_write"] is False  # not yet begun

    world.clock.set(CHAT_STARTS + timedelta(days=2))
    wang, zheng = await world.headers(folk["wang"]), await world.headers(folk["zheng"])
    status, shown = await world.call("GET", f"/meetings/{meeting.id}", wang)
    assert status == 200 and shown["may_write"] is True
    status, theirs = await world.call("GET", f"/meetings/{meeting.id}", zheng)
    assert theirs["may_write"] is False  # 郑七 lives here

    body = {"text": THOUGHTS, "meeting_id": meeting.id}
    status, answer = await world.call("POST", "/submissions", zheng, json=body)
    assert status == 403 and "仅适用于流动党员" in answer["error"]
    status, answer = await world.call(
        "POST", "/submissions", wang, json={"text": THOUGHTS, "meeting_id": 999_999}
    )
    assert (status, answer.get("field")) == (400, "meeting_id")
    status, answer = await world.call(
        "POST", "/submissions", wang, json={"text": THOUGHTS, "meeting_id": "十二"}
    )
    assert (status, answer.get("field")) == (400, "meeting_id")
    assert await Submission.all().count() == 0
    status, handed = await world.call("POST", "/submissions", wang, json=body)
    assert status == 200 and handed["meeting_id"] == meeting.id, handed
    status, again = await world.call("POST", "/submissions", wang, json=body)
    assert status == 409 and "已交过" in again["error"]
    status, mine = await world.call("GET", f"/submissions/{handed['id']}", wang)
    assert status == 200 and mine["meeting_id"] == meeting.id
