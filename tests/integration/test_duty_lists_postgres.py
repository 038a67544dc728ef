"""五张清单 on the real PostgreSQL: the same stories as on SQLite, and the races only a pool of
connections can run — two staff members carrying a year over at once, two taps on 标记完成,
two reminder runs at once — each leaving exactly one copy, one completion, one letter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from scheduler.duty_lists import duty_reminders
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.errors import Conflict
from server.models.community import CommunityMessage
from server.models.duty_lists import DutyItem, DutyNote, NoteKind
from server.models.people import Role
from server.services.duty_lists import carry, items
from server.settings import Settings
from tests import test_duty_lists as stories
from tests.conftest import make_member
from tests.duty_lists_helpers import NOW, TODAY, bind, make_item, street

pytestmark = pytest.mark.integration
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url, pool_size=10)
    yield pg_url
    await close_database()


@pytest.mark.parametrize(
    "story",
    [
        stories.test_staff_write_items_and_the_states_follow_the_records,
        stories.test_hostile_items_are_refused_naming_the_field_and_nothing_is_written,
        stories.test_a_branch_reads_what_concerns_it_and_changes_nothing,
        stories.test_the_unfinished_are_carried_into_the_next_year_once,
        stories.test_the_export_is_the_committees_table,
    ],
    ids=lambda f: f.__name__.removeprefix("test_"),
)
async def test_the_stories_hold_on_postgres(db: str, story) -> None:  # type: ignore[no-untyped-def]
    await story(None)


async def test_races_leave_one_of_each(db: str, make_settings) -> None:  # type: ignore[no-untyped-def]
    s = await street()
    other = await make_member("黄干事", "13900000008", role=Role.STAFF, org=s.committee)
    await bind(s.owner, "o-owner")
    first = await make_item(s, owner_id=s.owner.id, deadline=date(2026, 12, 2))
    await make_item(s, owner_org_id=s.west.id)
    january = date(2027, 1, 4)

    made = await asyncio.gather(
        *(
            carry.carry_over(who, s.committee, 2026, date(2027, 6, 30), NOW, january)
            for who in (s.staff, other) * 3
        )
    )
    assert sum(len(m) for m in made) == 2
    assert await DutyItem.filter(year=2027).count() == 2

    done = await asyncio.gather(
        *(items.complete(s.staff, first, "已完成", NOW, TODAY) for _ in range(6)),
        return_exceptions=True,
    )
    assert sum(r is None for r in done) == 1 and all(
        r is None or isinstance(r, Conflict) for r in done
    )
    assert await DutyNote.filter(item_id=first.id, kind=NoteKind.DONE).count() == 1

    fresh = await make_item(s, owner_id=s.owner.id, deadline=date(2026, 12, 2))
    settings: Settings = make_settings(db_url=db, scheduler=False)
    clock = FrozenClock(datetime.combine(date(2026, 11, 25), time(9, 30), ZONE))
    await asyncio.gather(*(duty_reminders(clock, settings) for _ in range(5)))
    assert await CommunityMessage.filter(key__startswith=f"duty:{fresh.id}:").count() == 1
