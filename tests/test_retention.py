"""What is kept only for a while is let go on time, by the nightly job, on the moved clock.

A resident whose need was served (and rated) half a year ago is forgotten — their row, and
their name, phone and address in the need, the order, its timeline and the messages about it
— while the community's figures stay as they were; a resident whose need still waits is kept.
A message sent half a year ago loses its text (the row stays, so it is never sent again); one
still waiting keeps it.  Expired bind codes and dashboard links go; a 流入 the branch did not
confirm and a 报到 the community sent back lose the reporter's details.  What is younger than
DANGJIAN_RETENTION_DAYS is untouched, and running the job again changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.leadership import Leadership
from scheduler.periodic import PeriodicRuns, leader_check
from scheduler.retention import retention
from scheduler.runner import timed_jobs
from server.cache import MemoryCache
from server.channels import Channel
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.models.community import (
    CommunityMessage,
    MessageStatus,
    Need,
    Resident,
    ServiceEvent,
    ServiceOrder,
    Volunteer,
)
from server.models.mobility import FlowReason, MobileMember
from server.models.people import AdminLink, BindCode, Member, Role, WeChatIdentity
from server.services.community import needs, notify, residents, volunteers
from server.services.community.counts import service_report
from server.services.mobility.incoming import Incoming, decide_in, report_in
from server.services.people.bind_codes import issue_code
from server.services.privacy.retention import purge_expired
from server.settings import Settings
from tests.community_world import RESIDENT, Street, served, street
from tests.conftest import APPID, make_branch, make_member, migrated

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime.combine(date(2026, 3, 2), time(10), ZONE)
DAYS = 180  # DANGJIAN_RETENTION_DAYS's default
# The served order was done, confirmed and rated the day after START: its period ends then.
PAST = DAYS + 3


def night(after_days: int) -> datetime:
    """03:30 on the night `after_days` after START: when the job is due."""
    return datetime.combine(START.date() + timedelta(days=after_days), time(3, 30), ZONE)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "retention.sqlite3"
    await open_database(migrated(path))
    yield path
    await close_database()


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(scheduler=False)


def dump(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


async def a_year_of_the_community() -> Street:
    """Served and rated in March; another resident's need still waiting; messages and codes."""
    s = await street(START)
    await WeChatIdentity.create(
        appid=APPID,
        openid="o-hong-manager",
        channel=Channel.OFFICIAL_ACCOUNT,
        member=s.people["hong"],
    )
    told = notify.Tidings(ZONE)
    # The need's message to the community names the resident and where they live.
    leak = await residents.post_need(s.resident, "水管漏水，厨房下面", START, tidings=told)
    await needs.refuse(s.people["hong"], leak.id, "请联系物业维修", START, tidings=told)
    await served(s, START)  # 张秀兰's 楼道灯: dispatched, claimed, done, confirmed, rated
    await residents.post_need(s.other_resident, "想请人帮忙看看电表", START)  # never answered
    await CommunityMessage.filter(status=MessageStatus.PENDING).update(
        status=MessageStatus.SENT, sent_at=START, channel="custom"
    )  # as the sender records them
    await CommunityMessage.create(
        key="later:1",
        kind="test",
        appid=APPID,
        openid="o-somebody",
        text="还在等待发送",
        not_before=START,
        created_at=START,
    )  # fmt: skip  — still waiting (the sender was down)
    return s


async def refused_reports(s: Street) -> tuple[MobileMember, Volunteer]:
    """A 流入 the branch did not confirm, and a unit's member the community sent back."""
    branch = await make_branch("示范街道党工委/红星社区党总支/红星社区第一党支部")
    secretary = await make_member("孙书记", "13700000009", role=Role.SECRETARY, org=branch)
    came = Incoming(
        "何晓东", "13655556666", "外省某县党委", "0571-88886666", "红星小区", FlowReason.WORK
    )
    record = await report_in(
        APPID, "o-incoming", Channel.OFFICIAL_ACCOUNT, branch, came, START.date(), START
    )
    await decide_in(secretary, record.id, False, "何晓东不在本支部区域居住", START)
    applied = volunteers.Application(
        name="韩立新", phone="13611112222", unit=s.unit, member=None, community=s.hongxing,
        skills="电脑维修",
    )  # fmt: skip
    v = await volunteers.apply(applied, START, appid=APPID, openid="o-volunteer")
    v = await volunteers.decide(
        s.people["staff"], v.id, START, confirm=False, reason="韩立新不在本社区居住"
    )
    return await MobileMember.get(id=record.id), v


async def figures(s: Street, at: datetime) -> object:
    top = await Member.get(id=s.people["staff"].id).prefetch_related("organisation")
    start = datetime(2026, 1, 1, tzinfo=ZONE)
    return await service_report(top.organisation, start, at, at)


async def test_what_is_past_its_period_is_let_go_and_the_rest_kept(
    db: Path, settings: Settings
) -> None:
    s = await a_year_of_the_community()
    incoming, volunteer = await refused_reports(s)
    member = s.people["plain"]
    await issue_code(member, START, 86400, None)  # expired the next day
    await AdminLink.create(token_hash="a" * 64, member=member, expires_at=START)
    order = await ServiceOrder.get(title="楼道灯维修")
    served_need = await Need.get(id=order.need_id)
    waiting = await Need.get(resident_id=s.other_resident.id)

    # Later in the year: a fresh code, and a 报到 refused in August — both inside the period.
    clock = FrozenClock(night(DAYS - 10))
    fresh = await issue_code(member, clock.now(), 86400, None)
    assert fresh
    figures_before = await figures(s, night(PAST))

    # The night before the period is over: nothing goes.
    leader = Leadership(MemoryCache(clock), ttl=30)
    runs = PeriodicRuns(clock, leader.me)
    jobs = timed_jobs(settings, clock, {}, leader.fence)
    assert "retention" in await leader_check(leader, runs, jobs)
    assert (await Resident.get(id=s.resident.id)).phone == RESIDENT[1]

    # Half a year and a night later, at 03:30: let go, once.
    clock.set(night(PAST))
    assert "retention" in await leader_check(leader, runs, jobs)
    clock.advance(60)
    assert "retention" not in await leader_check(leader, runs, jobs)

    gone = await Resident.get(id=s.resident.id)
    assert (gone.name, gone.phone, gone.place, gone.appid) == ("已删除居民", "", "", "")
    assert gone.openid == f"erased:{gone.id}"  # let go of the WeChat user: they register again
    assert await residents.resident_for("wxresident", "o-res-1") is None
    need = await Need.get(id=served_need.id)
    assert need.text == "楼道灯坏了，三单元五楼"  # what was asked stays; whose it was does not
    assert await ServiceEvent.filter(need_id=need.id, actor="居民").exists()
    everything = dump(db)
    for detail in RESIDENT:
        assert detail not in everything, detail

    kept = await Resident.get(id=s.other_resident.id)  # their need still waits
    assert kept.name == "吴桂芳" and (await Need.get(id=waiting.id)).text == "想请人帮忙看看电表"

    assert await figures(s, night(PAST)) == figures_before

    # Messages: the sent ones emptied, rows kept (their keys); the waiting one untouched.
    sent = await CommunityMessage.filter(status=MessageStatus.SENT)
    assert sent and all(m.text == "" and m.openid == "" for m in sent)
    waiting_letter = await CommunityMessage.get(key="later:1")
    assert waiting_letter.text == "还在等待发送" and waiting_letter.openid == "o-somebody"

    # One-time codes: the expired ones gone, the fresh one kept.
    assert await BindCode.filter(member_id=member.id).count() == 1
    assert not await AdminLink.exists()

    # The reporters the branch and the community did not take: their details gone.
    record = await MobileMember.get(id=incoming.id)
    assert (record.name, record.phone, record.openid) == ("已删除", None, None)
    assert record.refuse_reason == "已删除不在本支部区域居住"
    refused = await Volunteer.get(id=volunteer.id)
    assert (refused.name, refused.openid) == ("已删除报到人", None)
    assert refused.phone == f"已删除{refused.id}"
    for detail in ("何晓东", "13655556666", "韩立新", "13611112222"):
        assert detail not in everything, detail

    # Again, the same night or the next: nothing left to let go.
    assert (await retention(clock, settings)).total == 0
    clock.set(night(PAST + 1))
    assert (await retention(clock, settings)).total == 0


async def test_what_is_younger_than_the_period_stays_whole(db: Path) -> None:
    s = await a_year_of_the_community()
    incoming, volunteer = await refused_reports(s)
    text_before = sorted(await CommunityMessage.all().values_list("id", "text", "openid"))

    purged = await purge_expired(night(DAYS - 1).astimezone(UTC), DAYS)

    assert purged.residents == purged.messages == purged.incoming == purged.volunteers == 0
    assert sorted(await CommunityMessage.all().values_list("id", "text", "openid")) == text_before
    assert (await Resident.get(id=s.resident.id)).phone == RESIDENT[1]
    assert (await MobileMember.get(id=incoming.id)).phone == "13655556666"
    assert (await Volunteer.get(id=volunteer.id)).name == "韩立新"


async def test_a_resident_who_posts_again_within_the_period_is_kept(db: Path) -> None:
    s = await a_year_of_the_community()
    await residents.post_need(s.resident, "小区路灯又不亮了", START + timedelta(days=100))
    await Need.filter(resident_id=s.resident.id, status="new").update(
        status="refused", decided_at=START + timedelta(days=101)
    )
    purged = await purge_expired(night(PAST), DAYS)
    assert purged.residents == 0
    assert (await Resident.get(id=s.resident.id)).name == RESIDENT[0]


def test_the_period_is_checked_when_the_server_starts(
    make_settings: Callable[..., Settings],
) -> None:
    from pydantic import ValidationError

    assert make_settings().retention_days == 180
    assert make_settings(retention_days=30).retention_days == 30
    for wrong in (0, 29, 3651):
        with pytest.raises(ValidationError, match=r"retention_days|DANGJIAN_RETENTION_DAYS"):
            make_settings(retention_days=wrong)
