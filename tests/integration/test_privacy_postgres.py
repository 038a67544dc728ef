"""Personal information on the real PostgreSQL: the same stories as on SQLite (refusals, a
namesake, the retention periods), a full erasure and a night's purge, and the race only a pool
can run — two staff erasing one member at the same moment leave one erasure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from server.db import close_database, open_database
from server.errors import Conflict
from server.models.community import CommunityMessage, MessageStatus, Resident
from server.models.meetings import Meeting, MeetingAttendee, MeetingChange
from server.models.people import Member, MemberStatus, Role, WeChatIdentity
from server.models.privacy import Erasure
from server.models.study import Submission
from server.services.privacy.erase import erase_member
from server.services.privacy.retention import purge_expired
from tests import test_privacy as privacy
from tests import test_retention as retention
from tests.conftest import APPID, make_member
from tests.demo_street import NOW

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url, pool_size=10)
    yield pg_url
    await close_database()


@pytest.mark.parametrize(
    "story",
    [
        privacy.test_a_member_is_handed_their_own_records_and_nobody_elses,
        privacy.test_a_member_still_on_the_roster_is_refused_and_nothing_changes,
        privacy.test_only_the_committees_staff_erase_and_they_say_why,
        privacy.test_with_a_namesake_on_record_their_name_stays_in_what_others_wrote,
        retention.test_what_is_younger_than_the_period_stays_whole,
        retention.test_a_resident_who_posts_again_within_the_period_is_kept,
    ],
)
async def test_the_sqlite_stories_hold_on_postgres(db: str, story: object) -> None:
    await story(db)  # type: ignore[operator]


async def test_an_erasure_on_postgres_reaches_every_row_tied_to_the_member(db: str) -> None:
    a, b = await privacy.two_members()
    meeting = await Meeting.create(
        organisation_id=a.organisation_id, kind="支部党员大会", topic="学习", starts_at=NOW,
        ends_at=NOW + timedelta(hours=1), minutes="欧阳明轩同志发言，司马青云同志补充。",
    )  # fmt: skip
    for m in (a, b):
        await MeetingAttendee.create(
            meeting=meeting, member=m, organisation_id=m.organisation_id, reason=f"{m.name}请假"
        )
        await MeetingChange.create(
            meeting=meeting, action="leave_granted", detail={"member": m.id, "reason": "家中有事"}
        )
    await Member.filter(id=a.id).update(status=MemberStatus.TRANSFERRED)
    done = await erase_member(a.id, None, privacy.REASON, now=NOW)

    assert done.changes["identities"] == 1 and done.changes["meeting_changes"] == 1
    assert (await Meeting.get(id=meeting.id)).minutes == (
        f"已删除党员#{a.id}同志发言，司马青云同志补充。"
    )
    assert (await Submission.get(member_id=a.id)).content == ""
    assert (await Submission.get(member_id=b.id)).content.startswith("青云读了")
    reasons = dict(await MeetingAttendee.all().values_list("member_id", "reason"))
    assert reasons == {a.id: None, b.id: "司马青云请假"}
    details = {c.detail["member"]: c.detail["reason"] for c in await MeetingChange.all()}
    assert details == {a.id: "", b.id: "家中有事"}
    assert not await WeChatIdentity.filter(member_id=a.id).exists()
    assert await WeChatIdentity.filter(member_id=b.id, appid=APPID).exists()


async def test_two_staff_erasing_one_member_at_once_leave_one_erasure(db: str) -> None:
    a, _ = await privacy.two_members()
    await Member.filter(id=a.id).update(status=MemberStatus.TRANSFERRED)
    staff = [
        await make_member(f"王干事{n}", f"1390000000{n}", role=Role.STAFF,
                          org=await privacy.committee())
        for n in (1, 2)
    ]  # fmt: skip
    outcomes = await asyncio.gather(
        *(erase_member(a.id, s, privacy.REASON, now=NOW) for s in staff), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 1 and "无需再删" in refused[0].user_message
    assert await Erasure.filter(member_id=a.id).count() == 1


async def test_a_nights_purge_on_postgres(db: str) -> None:
    s = await retention.a_year_of_the_community()
    purged = await purge_expired(retention.night(retention.PAST), retention.DAYS)
    assert purged.residents == 1 and purged.messages >= 1
    assert (await Resident.get(id=s.resident.id)).name == "已删除居民"
    sent = await CommunityMessage.filter(status=MessageStatus.SENT)
    assert sent and all(m.text == "" for m in sent)
    again = await purge_expired(retention.night(retention.PAST), retention.DAYS)
    assert again.total == 0
