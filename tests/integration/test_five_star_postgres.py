"""五星支部 on the real PostgreSQL: the demo street seeded there, the same stories as on SQLite
(the records' figures equal the tallies, the whole year step by step, hostile input changing
nothing), and the race only a pool can run — the secretary and her deputy pressing 申报 at
once, and two reviewers' taps — each leaving one step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from server.db import close_database, open_database
from server.errors import Conflict
from server.models.five_star import AssessmentStep, BranchAssessment, Stage
from server.models.people import Member, Role
from server.services.demo.activity import seed_activity
from server.services.demo.street import seed_demo
from server.services.five_star import cycle as cycles
from server.settings import Settings
from tests import test_five_star as stories
from tests.demo_street import DAY, NOW, ZONE
from tests.five_star_helpers import basis, cast, score_every_own_item

pytestmark = pytest.mark.integration


@pytest.fixture
async def street(pg_url: str) -> AsyncIterator[str]:
    await open_database(pg_url, pool_size=10)
    await seed_demo(2023, today=DAY)
    await seed_activity(DAY, ZONE, now=NOW)
    yield pg_url
    await close_database()


async def test_the_stories_hold_on_postgres(street: str, settings: Settings) -> None:
    await stories.test_every_automatic_figure_equals_the_existing_counts(await cast(), settings)
    await stories.test_the_whole_cycle_each_step_by_a_person_with_who_and_when(await cast())


async def test_hostile_input_changes_nothing_on_postgres(street: str) -> None:
    await stories.test_out_of_turn_out_of_range_and_out_of_place_change_nothing(await cast())


async def test_two_presses_of_apply_and_of_review_leave_one_step_each(street: str) -> None:
    c = await cast()
    deputy = await Member.create(
        name="测试副书记", phone="17099990001", role=Role.DEPUTY_SECRETARY, organisation=c.branch
    )
    cycle = await cycles.open_cycle(c.staff, 2026, NOW)
    scheme = cycles.scheme_of(cycle)
    assessment = await cycles.assessment_of(cycle, c.branch)
    await score_every_own_item(c, assessment, scheme, NOW)
    pressed = await asyncio.gather(
        *(cycles.apply(who, assessment, 1, basis(DAY, NOW)) for who in (c.secretary, deputy) * 3),
        return_exceptions=True,
    )
    assert sum(isinstance(r, BranchAssessment) for r in pressed) == 1, pressed
    assert all(isinstance(r, BranchAssessment | Conflict) for r in pressed), pressed
    fresh = await BranchAssessment.get(id=assessment.id)
    reviewed = await asyncio.gather(
        *(cycles.review(c.general, fresh, "", NOW) for _ in range(4)), return_exceptions=True
    )
    assert sum(isinstance(r, BranchAssessment) for r in reviewed) == 1, reviewed
    assert (await BranchAssessment.get(id=assessment.id)).stage is Stage.GENERAL_REVIEWED
    actions = await AssessmentStep.filter(assessment_id=assessment.id).values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["党总支审核", "申报"]
