"""A member's personal information on request (个人信息保护法): they are handed everything held
about them, and once they have left the roster the committee's staff erase it — everywhere in
the database, without changing one figure already reported upward.

The main story is on the demo street with its eight weeks and its year of 双报到: a member
who reported to his community, claimed orders, moved away to 苏州 and was kept in touch with,
then had his relationship moved (转出 in the roll) and asked for his data to be deleted.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from server.cache import MemoryCache
from server.channels import Channel
from server.cli import main
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.dispatch.state import Conversation
from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.community import CommunityMessage, OrderClaim, ServiceEvent, Volunteer
from server.models.meetings import Meeting, MeetingAttendee
from server.models.mobility import FlowReason
from server.models.people import (
    Member,
    MemberStatus,
    Organisation,
    Role,
    WeChatIdentity,
)
from server.models.privacy import Erasure
from server.models.study import CheckIn, Submission
from server.services.demo.community import seed_community
from server.services.mobility import contacts, outgoing
from server.services.mobility.outgoing import Outgoing
from server.services.people.bind_codes import issue_code
from server.services.people.binding import Binder, BindLimits, BindRequest
from server.services.people.identities import IdentityDirectory
from server.services.people.roster.command import import_members
from server.services.people.roster_export import roster_workbook
from server.services.privacy.erase import erase_member, preview
from server.services.privacy.export import member_data
from server.services.study.checkin import check_in
from server.services.study.points import PointsRules
from server.services.study.submissions import submit
from server.services.tallies.report import tally_report
from tests.conftest import APPID, make_branch, make_member, migrated
from tests.demo_street import DAY, NOW, ZONE, seeded_street

OPENID = "oDangjianPrivacyTest00000001"  # 28 characters, as WeChat's
UNIONID = "uDangjianPrivacyUnion0000001"
REASON = "本人书面申请删除个人信息（2026年11月26日）"


@pytest.fixture
async def street(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "street.sqlite3"
    url, _, _ = seeded_street(path)
    await open_database(url)
    await seed_community(DAY, ZONE, seed=2023, now=NOW)
    yield path
    await close_database()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "small.sqlite3"
    await open_database(migrated(path))
    yield path
    await close_database()


def dump(path: Path) -> str:
    """Every row of every table, as SQL text: what a copy of the database would give away."""
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


def spellings(text: str) -> list[str]:
    """The text as it is, and as a JSON column stores it (\\uXXXX escapes)."""
    return [text, json.dumps(text)[1:-1]]


async def committee() -> Organisation:
    top = await Organisation.filter(parent_id=None).order_by("id").first()
    assert top is not None
    return top


async def figures(top: Organisation) -> list[object]:
    """The committee's reports, counted from the events themselves: by branch, by day."""
    year = date(DAY.year, 1, 1)
    return [
        await tally_report(
            top, year, DAY, by=by, today=DAY, zone=ZONE, now=NOW, use_snapshots=False
        )
        for by in (None, "branch", "day")
    ]


async def leave_by_the_roll(member: Member, tmp_path: Path) -> None:
    """转出: the roll imported with his 状态 as 转出 (his open 流出 record ends with it)."""
    org = await Organisation.get(id=member.organisation_id)
    roll = tmp_path / "roll.csv"
    roll.write_text(f"姓名,手机号,所在组织,状态\n{member.name},{member.phone},{org.path},转出\n")
    report = await import_members(roll)
    assert not report.errors


async def a_volunteer_of_the_street() -> tuple[Member, Volunteer]:
    volunteer = await Volunteer.filter(member_id__isnull=False).order_by("id").first()
    assert volunteer is not None and volunteer.member_id is not None
    member = await Member.get(id=volunteer.member_id)
    assert await Member.filter(name=member.name).count() == 1  # no namesake on the street
    assert await OrderClaim.filter(volunteer_id=volunteer.id).exists()
    return member, volunteer


async def test_a_member_who_left_is_erased_everywhere_and_no_reported_figure_moves(
    street: Path, tmp_path: Path
) -> None:
    member, volunteer = await a_volunteer_of_the_street()
    name, phone = member.name, member.phone
    assert await ServiceEvent.filter(actor=f"党员 {name}").exists()  # his claims' timeline

    # What the street came to hold about him besides the demo's year.
    await WeChatIdentity.create(
        appid=APPID, openid=OPENID, unionid=UNIONID, channel=Channel.OFFICIAL_ACCOUNT,
        member=member,
    )  # fmt: skip
    code = await issue_code(member, NOW, 86400, None)
    away = Outgoing("江苏苏州", FlowReason.WORK, reach=f"微信同号 {phone}")
    await outgoing.mark_out(None, member, away, DAY - timedelta(days=60), NOW)
    await contacts.log_contact(
        None, member, f"电话 {name}说在苏州一切都好", DAY - timedelta(days=30), NOW
    )
    await contacts.yearly_report(
        member, DAY.year, "在苏州园区党支部参加组织生活", "已交清", "", NOW
    )
    attended = await MeetingAttendee.filter(member_id=member.id).order_by("id").first()
    assert attended is not None
    await MeetingAttendee.filter(id=attended.id).update(reason=f"{name}在外地，请假")
    meeting = await Meeting.get(id=attended.meeting_id)
    await Meeting.filter(id=meeting.id).update(
        minutes=(meeting.minutes or "") + f"\n{name}同志谈了体会，电话{phone}。"
    )
    await CommunityMessage.create(
        key="privacy-test:1", kind="test", appid=APPID, openid=OPENID, text=f"{name}，您好",
        not_before=NOW, created_at=NOW,
    )  # fmt: skip
    clock = FrozenClock(NOW)
    cache = MemoryCache(clock)
    await cache.set(Conversation.key_for(APPID, OPENID), json.dumps({"name": "写心得"}), 600)
    check_ins = await CheckIn.filter(member_id=member.id).count()
    submissions = await Submission.filter(member_id=member.id).count()
    claims = await OrderClaim.filter(volunteer_id=volunteer.id).count()
    assert check_ins and submissions

    await leave_by_the_roll(member, tmp_path)
    staff = await make_member("党工委王干事", "13900000001", role=Role.STAFF, org=await committee())
    before = await figures(await committee())
    erased = await erase_member(
        member.id, staff, REASON, now=NOW,
        identities=IdentityDirectory(cache, clock, 0), cache=cache,
    )  # fmt: skip

    # The figures reported upward: the same, by branch and by day, 双报到's included.
    assert await figures(await committee()) == before
    assert await CheckIn.filter(member_id=member.id).count() == check_ins
    assert await Submission.filter(member_id=member.id).count() == submissions
    assert await OrderClaim.filter(volunteer_id=volunteer.id).count() == claims

    # Nothing of him anywhere: not his name, phone or WeChat identifiers, in any table.
    everything = dump(street)
    for gone in (name, phone, OPENID, UNIONID):
        for spelled in spellings(gone):
            assert spelled not in everything, gone
    assert await cache.get(Conversation.key_for(APPID, OPENID)) is None
    kept = await Member.get(id=member.id)
    assert kept.name == f"已删除党员#{member.id}" and kept.status is MemberStatus.TRANSFERRED
    assert await ServiceEvent.filter(actor=f"党员 已删除党员#{member.id}").exists()

    # The record of the erasure: who, when, why, how much — and nothing personal.
    record = await Erasure.get(member_id=member.id)
    assert record.by_id == staff.id and record.reason == REASON
    assert record.erased == erased.changes and erased.changes["identities"] == 1
    assert erased.changes["mentions"] >= 2 and not erased.namesake

    # Asked again: refused, saying it was done.
    with pytest.raises(Conflict, match="已于2026-11-26删除"):
        await erase_member(member.id, staff, REASON, now=NOW)
    assert await Erasure.all().count() == 1

    # His old number, name and code bind nobody.
    binder = Binder(cache, IdentityDirectory(cache, clock, 0), BindLimits(by_name=True), clock.now)
    stranger = BindRequest(APPID, "oSomeoneElseWithHisOldPhone0", Channel.OFFICIAL_ACCOUNT)
    with pytest.raises(ValidationFailed, match="不在党员名册中"):
        await binder.bind_verified_phone(stranger, phone)
    guess = BindRequest(
        APPID, "oSomeoneElseWithHisOldPhone0", Channel.OFFICIAL_ACCOUNT, name, phone[-4:]
    )
    with pytest.raises(ValidationFailed, match="没有找到匹配的党员信息"):
        await binder.bind(guess)
    with pytest.raises(ValidationFailed, match="绑定码无效"):
        await binder.bind_with_code(stranger, code)
    assert not await WeChatIdentity.filter(member_id=member.id).exists()


# --- a small branch ----------------------------------------------------------------------------


async def two_members() -> tuple[Member, Member]:
    branch = await make_branch()
    a = await make_member("欧阳明轩", "13912340001", org=branch)
    b = await make_member("司马青云", "13912340002", org=branch)
    for member, openid in (
        (a, "oMingxuanOpenid0000000000001"),
        (b, "oQingyunOpenid00000000000002"),
    ):
        await WeChatIdentity.create(
            appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=member
        )
        await check_in(member, DAY, PointsRules())
    await submit(a, "学习了党章，明轩体会到为人民服务要落在每一件小事上。" * 3, DAY, [])
    await submit(b, "青云读了新时代的文章，决心在社区服务中做得更好一些。" * 3, DAY, [])
    return a, b


def cells(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data))
    return "\n".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


async def test_a_member_is_handed_their_own_records_and_nobody_elses(db: Path) -> None:
    a, _ = await two_members()
    data = await member_data(a.id, zone=ZONE, now=NOW)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[:4] == ["基本信息", "微信绑定", "打卡", "学习记录"]
    text = cells(data)
    for theirs in ("欧阳明轩", "13912340001", "oMingxuanOpenid0000000000001", "明轩体会到"):
        assert theirs in text
    for someone_elses in ("司马青云", "13912340002", "oQingyunOpenid00000000000002", "青云读了"):
        assert someone_elses not in text
    assert DAY.isoformat() in book["打卡"]["A3"].value  # his check-in, under the header row
    with pytest.raises(NotFound):
        await member_data(99999, zone=ZONE, now=NOW)


async def test_a_member_still_on_the_roster_is_refused_and_nothing_changes(db: Path) -> None:
    a, _ = await two_members()
    with pytest.raises(Conflict, match=r"仍是在册党员.*请先办理转出"):
        await erase_member(a.id, None, REASON, now=NOW)
    assert (await Member.get(id=a.id)).name == "欧阳明轩"
    assert await WeChatIdentity.filter(member_id=a.id).exists()
    assert not await Erasure.exists()


async def test_only_the_committees_staff_erase_and_they_say_why(db: Path) -> None:
    a, _ = await two_members()
    await Member.filter(id=a.id).update(status=MemberStatus.TRANSFERRED)
    branch = await Organisation.get(id=a.organisation_id)
    secretary = await make_member("李书记", "13912340009", role=Role.SECRETARY, org=branch)
    with pytest.raises(PermissionDenied):
        await erase_member(a.id, secretary, REASON, now=NOW)
    for reason in ("", "   ", "理" * 201):
        with pytest.raises(ValidationFailed):
            await erase_member(a.id, None, reason, now=NOW)
    with pytest.raises(NotFound):
        await erase_member(99999, None, REASON, now=NOW)
    assert not await Erasure.exists() and (await Member.get(id=a.id)).phone == "13912340001"


async def test_with_a_namesake_on_record_their_name_stays_in_what_others_wrote(db: Path) -> None:
    branch = await make_branch()
    leaving = await make_member("张伟", "13912340011", org=branch, status=MemberStatus.TRANSFERRED)
    await make_member("张伟", "13912340012", org=branch)
    meeting = await Meeting.create(
        organisation=branch, kind="支部党员大会", topic="学习", starts_at=NOW, ends_at=NOW,
        minutes="张伟同志发言。联系电话13912340011。",
    )  # fmt: skip
    seen = await preview(leaving.id)
    assert seen.namesake and (seen.name, seen.status) == ("张伟", "已转出")
    erased = await erase_member(leaving.id, None, "本人申请，张伟 13912340011", now=NOW)
    assert erased.namesake
    minutes = (await Meeting.get(id=meeting.id)).minutes
    # Which 张伟 spoke cannot be told; the phone is one person's and goes.
    assert minutes == "张伟同志发言。联系电话（电话已删除）。"
    record = await Erasure.get(member_id=leaving.id)
    assert "张伟" not in record.reason and "13912340011" not in record.reason
    assert await Member.filter(name="张伟").count() == 1


async def test_the_roll_taken_out_after_an_erasure_imports_back_unchanged(
    db: Path, tmp_path: Path
) -> None:
    a, _ = await two_members()
    await Member.filter(id=a.id).update(status=MemberStatus.TRANSFERRED)
    await erase_member(a.id, None, REASON, now=NOW)
    roll = tmp_path / "roll.xlsx"
    roll.write_bytes(await roster_workbook(await committee(), DAY))
    assert "已删除" not in cells(roll.read_bytes())  # on no roll: a row kept for the counts
    report = await import_members(roll)
    assert not report.errors and (report.created, report.updated) == (0, 0)


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def roll(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_TZ", "DANGJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    async def seed() -> None:
        await open_database(migrated(tmp_path / "dangjian.sqlite3"))
        await two_members()
        await make_member("转出老党员", "13912340021", status=MemberStatus.TRANSFERRED)
        await close_database()

    asyncio.run(seed())
    return tmp_path


def test_the_operator_exports_and_erases_by_phone(
    roll: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["member-data", "13912340001", "--out", "a.xlsx"]) == 0
    assert "欧阳明轩" in cells((roll / "a.xlsx").read_bytes())
    capsys.readouterr()

    # Still 在册: refused, naming the way out.
    assert main(["erase-member", "13912340001", "--reason", REASON, "--yes"]) == 2
    assert "请先办理转出" in capsys.readouterr().err

    # No terminal to answer and no --yes: shown, not done.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["erase-member", "13912340021", "--reason", REASON]) == 2
    out = capsys.readouterr()
    assert "将删除 转出老党员" in out.out and "--yes" in out.err

    assert main(["erase-member", "13912340021", "--reason", REASON, "--yes"]) == 0
    assert "已删除党员 #" in capsys.readouterr().out
    # Again: the phone is no longer kept, so it finds nobody.
    assert main(["erase-member", "13912340021", "--reason", REASON, "--yes"]) == 2
    assert "手机号不再保存" in capsys.readouterr().err
    assert "13912340021" not in dump(roll / "dangjian.sqlite3")
