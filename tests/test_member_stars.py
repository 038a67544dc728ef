"""星级党员 as a branch lives it, at the service layer.

The first branch keeps its 2026 ledger.  王芳 (第一党小组) came to three of four meetings, had a
心得 approved and completed a 双报到 service; 李明 came to one of four; 赵大爷, 88 and bedridden,
came to none.  The ledger gathers that evidence from the records — the same attendance the
tallies count — and suggests a level by the documented rule.  李书记 sets 王芳's star as
suggested (no reason needed), sets 李明's higher than suggested (a reason is required, and
refused without one), exempts 赵大爷 (免评, with a reason), and confirms the year at the 民主
评议党员 meeting; a later change needs a reason and is logged after the year was final.

Hostile: a star of 6, a missing reason, another branch's member, another branch's secretary,
a plain member, confirming with members pending or at another branch's meeting — each refused,
naming the field where there is one, with nothing changed.  Points set no star, however many.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from server.db import close_database, open_database
from server.errors import Conflict, PermissionDenied, ValidationFailed
from server.models.community import (
    ClaimStatus,
    Community,
    OrderClaim,
    OrderStatus,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    MeetingType,
)
from server.models.member_stars import MemberStar, MemberStarChange, StarStatus, StarYear
from server.models.people import Member, MemberStatus, Organisation, Role
from server.models.study import PointsEntry, PointsReason, Submission, SubmissionStatus
from server.services.member_stars import evidence, ledger
from server.services.people.access import Hidden, NotAllowed
from server.services.privacy.erase import erase_member
from server.services.privacy.export import member_data
from server.services.tallies.report import tally_report
from server.settings import Settings, load_settings
from tests.conftest import make_branch, make_group, make_member, migrated

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
LATER = datetime(2027, 1, 20, 2, 0, tzinfo=UTC)
ONE = "示范街道党工委/第一社区党总支/第一社区第一党支部"
TWO = "示范街道党工委/第一社区党总支/第一社区第二党支部"


def settings() -> Settings:
    return Settings(_env_file=None, db_url="sqlite://:memory:")


def at(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZONE).astimezone(UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "stars.sqlite3"))
    yield
    await close_database()


@dataclass
class Branch:
    one: Organisation
    two: Organisation
    secretary: Member  # 李书记
    wang: Member  # 王芳, 第一党小组
    li: Member  # 李明
    zhao: Member  # 赵大爷
    other: Member  # 孙强, the second branch's
    other_secretary: Member  # 钱书记
    appraisal: Meeting  # the first branch's 民主评议党员, January 2027
    elsewhere: Meeting  # the second branch's 支部党员大会


async def meeting(
    branch: Organisation, kind: str, starts: datetime, came: dict[Member, str]
) -> Meeting:
    m = await Meeting.create(
        organisation=branch, kind=kind, topic=f"{kind}（{starts:%m月}）", starts_at=starts,
        ends_at=starts.replace(hour=starts.hour + 2),
    )  # fmt: skip
    for who, state in came.items():
        await MeetingAttendee.create(
            meeting=m, member=who, organisation_id=who.group_id or who.organisation_id,
            role=AttendeeRole.EXPECTED, attendance=state,
        )  # fmt: skip
    return m


async def build() -> Branch:
    one, two = await make_branch(ONE), await make_branch(TWO)
    group = await make_group(one, "第一党小组")
    secretary = await make_member("李书记", "13800000001", role=Role.SECRETARY, org=one)
    wang = await make_member("王芳", "13800000002", org=one, group=group)
    li = await make_member("李明", "13800000003", org=one)
    zhao = await make_member("赵大爷", "13800000004", org=one)
    other = await make_member("孙强", "13800000005", org=two)
    other_secretary = await make_member("钱书记", "13800000006", role=Role.SECRETARY, org=two)
    p, a, lv = Attendance.PRESENT, Attendance.ABSENT, Attendance.LEAVE
    people = (secretary, wang, li, zhao)
    for month, states in ((3, (p, p, a, a)), (6, (p, p, a, a)), (9, (p, lv, p, a))):
        await meeting(
            one, MeetingType.BRANCH_MEETING, at(month, 10), dict(zip(people, states, strict=True))
        )
    # Never closed: an undecided attendee of a held meeting counts as absent, as in the tallies.
    await meeting(one, MeetingType.PARTY_LECTURE, at(11, 5), {wang: p, li: Attendance.UNKNOWN})
    # Not held: cancelled, and one still to come — in no count.
    gone = await meeting(one, MeetingType.BRANCH_MEETING, at(4, 2), {wang: a, li: a})
    gone.status = MeetingStatus.CANCELLED
    await gone.save()
    await meeting(one, MeetingType.GROUP_MEETING, at(12, 20), {wang: a})
    elsewhere = await meeting(two, MeetingType.BRANCH_MEETING, at(10, 9), {other: p})
    for n, status in enumerate((SubmissionStatus.APPROVED, SubmissionStatus.RETURNED)):
        await Submission.create(
            member=wang, organisation_id=group.id, day=date(2026, 5, 1 + n),
            content="学习体会" * 30, length=120, digest=f"d{n}", status=status,
        )  # fmt: skip
    community = await Community.create(
        organisation=await make_branch("示范街道党工委/红星社区党总支"), name="红星社区"
    )
    volunteer = await Volunteer.create(
        name="王芳", phone=wang.phone, member=wang, community=community,
        status=VolunteerStatus.CONFIRMED, registered_at=at(2, 1),
    )  # fmt: skip
    order = await ServiceOrder.create(
        community=community, kind="助老", title="为独居老人换灯泡", starts_at=at(7, 1),
        ends_at=at(7, 1, 11), status=OrderStatus.COMPLETED, created_at=at(6, 28),
        completed_at=at(7, 2),
    )  # fmt: skip
    await OrderClaim.create(
        order=order, volunteer=volunteer, status=ClaimStatus.DONE, claimed_at=at(6, 29),
        done_at=at(7, 1, 11), hours=Decimal("1.5"),
    )  # fmt: skip
    appraisal = await meeting(
        one, MeetingType.APPRAISAL, at(1, 15, year=2027), {secretary: p, wang: p, li: p}
    )
    return Branch(one, two, secretary, wang, li, zhao, other, other_secretary, appraisal, elsewhere)


async def test_the_ledger_gathers_the_years_records_and_suggests_by_the_rule(db: None) -> None:
    b = await build()
    book = await ledger.ledger(b.one, 2026, NOW, settings())
    # By 党小组 (第一党小组 first, then those in none) and by name — never by stars.
    assert [(e.group, e.member.name) for e in book.entries] == [
        ("第一党小组", "王芳"), ("", "李书记"), ("", "李明"), ("", "赵大爷"),
    ]  # fmt: skip
    wang, secretary, li, zhao = (e.evidence for e in book.entries)
    assert (wang.expected, wang.present, wang.leave, wang.absent) == (4, 3, 1, 0)
    assert (wang.submitted, wang.approved) == (2, 1)
    assert (wang.services, wang.service_hours) == (1, Decimal("1.5"))
    assert wang.duties == []  # a plain member, serving without a post
    assert (li.expected, li.present, li.leave, li.absent) == (4, 1, 0, 3)  # the 党课: absent
    assert (zhao.expected, zhao.present) == (3, 0)
    assert secretary.duties == ["支部书记"]
    # 2 + 组织生活 (3 of 4 is under 80%: no) + 心得 + 服务 = 4; 李书记 3 of 3 + a duty = 4.
    assert [e.suggestion.level for e in book.entries] == [4, 4, 2, 2]
    assert all(e.row.status == StarStatus.PENDING for e in book.entries)

    # The evidence is the tallies' attendance for the branch and the year, to the row.
    report = await tally_report(
        b.one, date(2026, 1, 1), date(2026, 12, 31), by=None, today=NOW.astimezone(ZONE).date(),
        zone=ZONE, now=NOW,
    )  # fmt: skip
    summed = [
        sum(getattr(e.evidence, k) for e in book.entries)
        for k in ("expected", "present", "leave", "absent")
    ]
    total = report.total
    assert summed == [total.expected, total.present, total.leave, total.absent] == [14, 7, 1, 6]
    # … and each figure lists its records.
    lines = await evidence.lines(b.wang, 2026, NOW, ZONE)
    assert len(lines["meetings"]) == 4 and len(lines["writings"]) == 2
    assert [line.text for line in lines["services"]] == ["服务单 1「为独居老人换灯泡」，1.5 小时"]


async def test_the_secretary_sets_adjusts_exempts_confirms_and_a_later_change_is_logged(
    db: None,
) -> None:
    b = await build()
    await ledger.ledger(b.one, 2026, NOW, settings())
    decide = ledger.decide

    # As suggested: no reason needed.
    row = await decide(
        b.secretary, b.one, b.wang.id, 2026, star=4, exempt=False, reason="", now=NOW
    )
    assert (row.status, row.star, row.decided_by_id) == (StarStatus.RATED, 4, b.secretary.id)
    # Higher than suggested: a reason, or nothing changes.
    with pytest.raises(ValidationFailed) as refused:
        await decide(b.secretary, b.one, b.li.id, 2026, star=3, exempt=False, reason=" ", now=NOW)
    assert refused.value.field == "reason" and "2 星" in refused.value.user_message
    assert (await MemberStar.get(member_id=b.li.id, year=2026)).status == StarStatus.PENDING
    await decide(
        b.secretary, b.one, b.li.id, 2026, star=3, exempt=False,
        reason="年内照顾重病家属，其余时间积极参加社区服务", now=NOW,
    )  # fmt: skip
    # 免评 needs a reason too, and is no star.
    with pytest.raises(ValidationFailed) as refused:
        await decide(
            b.secretary, b.one, b.zhao.id, 2026, star=None, exempt=True, reason="", now=NOW
        )
    assert refused.value.field == "reason"
    row = await decide(
        b.secretary, b.one, b.zhao.id, 2026, star=None, exempt=True,
        reason="年老体弱，长期卧床，经支部党员大会同意免评", now=NOW,
    )  # fmt: skip
    assert (row.status, row.star) == (StarStatus.EXEMPT, None)

    # Confirming waits until everyone is decided.
    with pytest.raises(Conflict) as early:
        await ledger.confirm(b.secretary, b.one, 2026, b.appraisal.id, LATER, ZONE)
    assert "1 名党员待评定" in early.value.user_message
    await decide(b.secretary, b.one, b.secretary.id, 2026, star=4, exempt=False, reason="", now=NOW)
    # … and names a meeting of its own branch that was held.
    with pytest.raises(ValidationFailed) as wrong:
        await ledger.confirm(b.secretary, b.one, 2026, b.elsewhere.id, LATER, ZONE)
    assert wrong.value.field == "meeting"
    assert not await StarYear.exists(branch_id=b.one.id, confirmed_at__isnull=False)
    year = await ledger.confirm(b.secretary, b.one, 2026, b.appraisal.id, LATER, ZONE)
    assert (year.confirmed_by_id, year.meeting_id) == (b.secretary.id, b.appraisal.id)
    with pytest.raises(Conflict):
        await ledger.confirm(b.secretary, b.one, 2026, None, LATER, ZONE)
    assert (await MemberStar.get(member_id=b.wang.id, year=2026)).meeting_id == b.appraisal.id

    # Final: the ledger keeps what was decided on, and a change needs a reason.
    with pytest.raises(ValidationFailed) as final:
        await decide(
            b.secretary, b.one, b.wang.id, 2026, star=4, exempt=False, reason="", now=LATER
        )
    assert final.value.field == "reason" and "已确认" in final.value.user_message
    await decide(
        b.secretary, b.one, b.wang.id, 2026, star=5, exempt=False,
        reason="民主评议后群众反映其长期义务照看邻居老人，经支委会复核", now=LATER,
    )  # fmt: skip
    [(row, changes)] = await ledger.history(b.wang.id)
    assert [(c.before, c.after, c.by_id, c.after_final) for c in changes] == [
        ("待评定", "已评定 ★★★★", b.secretary.id, False),
        ("已评定 ★★★★", "已评定 ★★★★★", b.secretary.id, True),
    ]
    assert changes[1].reason.startswith("民主评议后") and changes[1].at == LATER
    assert await MemberStarChange.all().count() == 5  # four decisions and the later change

    # The member's own: the latest confirmed year.
    mine = await ledger.my_star(b.wang)
    assert mine.decided is not None and (mine.decided.year, mine.decided.star) == (2026, 5)
    assert mine.meeting is not None and mine.meeting.id == b.appraisal.id


async def test_hostile_decisions_are_refused_and_change_nothing(db: None) -> None:
    b = await build()
    await ledger.ledger(b.one, 2026, NOW, settings())
    await ledger.ledger(b.two, 2026, NOW, settings())
    for star in (6, 0, -1, None):
        with pytest.raises(ValidationFailed) as bad:
            await ledger.decide(
                b.secretary, b.one, b.wang.id, 2026, star=star, exempt=False, reason="x", now=NOW
            )
        assert bad.value.field == "star"
    with pytest.raises(ValidationFailed) as long:
        await ledger.decide(
            b.secretary, b.one, b.wang.id, 2026, star=4, exempt=False, reason="长" * 201, now=NOW
        )
    assert long.value.field == "reason"
    # Another branch's member, through one's own branch: as if there were no such member.
    with pytest.raises(Hidden):
        await ledger.decide(
            b.secretary, b.one, b.other.id, 2026, star=3, exempt=False, reason="", now=NOW
        )
    # Another branch's ledger: the same.
    with pytest.raises(Hidden):
        await ledger.decide(
            b.other_secretary, b.one, b.wang.id, 2026, star=3, exempt=False, reason="", now=NOW
        )
    with pytest.raises(Hidden):
        await ledger.branch_led_by(b.other_secretary, b.one.id)
    # A plain member keeps no ledger, not even their own.
    with pytest.raises(NotAllowed):
        await ledger.decide(
            b.wang, b.one, b.wang.id, 2026, star=5, exempt=False, reason="", now=NOW
        )
    with pytest.raises(PermissionDenied):
        await ledger.confirm(b.li, b.one, 2026, None, NOW, ZONE)
    with pytest.raises(ValidationFailed) as future:
        ledger.check_year(2027, NOW.astimezone(ZONE).date())
    assert future.value.field == "year"
    assert await MemberStarChange.all().count() == 0
    assert not await MemberStar.exclude(status=StarStatus.PENDING).exists()


async def test_points_make_no_star(db: None) -> None:
    b = await build()
    for n in range(100):
        await PointsEntry.create(
            member=b.wang, organisation_id=b.one.id, day=date(2026, 1, 1 + n % 28),
            reason=PointsReason.QUIZ, deed=f"q{n}", points=10,
        )  # fmt: skip
    assert (await ledger.my_star(b.wang)).decided is None
    # Decided but not yet confirmed: still the branch's work in hand, not the member's star.
    await ledger.ledger(b.one, 2026, NOW, settings())
    await ledger.decide(
        b.secretary, b.one, b.wang.id, 2026, star=4, exempt=False, reason="", now=NOW
    )
    assert (await ledger.my_star(b.wang)).decided is None


async def test_committee_staff_see_counts_per_branch_not_stars(db: None) -> None:
    b = await build()
    await ledger.ledger(b.one, 2026, NOW, settings())
    await ledger.decide(
        b.secretary, b.one, b.wang.id, 2026, star=4, exempt=False, reason="", now=NOW
    )
    seen = await ledger.progress([b.one, b.two], 2026)
    assert [
        (p.branch.name, p.members, p.rated, p.exempt, p.pending, p.confirmed) for p in seen
    ] == [
        ("第一社区第一党支部", 4, 1, 0, 3, False),
        ("第一社区第二党支部", 2, 0, 0, 2, False),
    ]


def test_an_old_env_that_still_sets_the_star_thresholds_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DANGJIAN_STAR_THRESHOLDS=100,250,500,800\n")
    monkeypatch.setenv("DANGJIAN_STAR_THRESHOLDS", "not even numbers")
    assert not hasattr(load_settings(), "star_thresholds")  # read by nothing, refused by nothing


async def test_a_members_data_holds_their_stars_and_erasure_takes_the_reasons(db: None) -> None:
    b = await build()
    await ledger.ledger(b.one, 2026, NOW, settings())
    await ledger.decide(
        b.secretary, b.one, b.zhao.id, 2026, star=None, exempt=True, reason="长期卧床", now=NOW
    )
    book = openpyxl.load_workbook(io.BytesIO(await member_data(b.zhao.id, zone=ZONE, now=NOW)))
    rows = [r for r in book["星级评定"].iter_rows(values_only=True) if r[0] == 2026]
    assert [r[2:] for r in rows] == [("待评定", "免评", "长期卧床")]

    b.zhao.status = MemberStatus.TRANSFERRED  # 转出: only then may the data be erased
    await b.zhao.save()
    erased = await erase_member(b.zhao.id, None, "本人申请删除", now=NOW, zone=ZONE)
    assert erased.changes["star_reasons"] == 2
    row = await MemberStar.get(member_id=b.zhao.id, year=2026)
    assert (row.status, row.reason) == (StarStatus.EXEMPT, "")  # the decision stays
    assert await MemberStarChange.filter(row_id=row.id, reason="").count() == 1
