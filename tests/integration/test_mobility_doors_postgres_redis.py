"""流动党员 through its doors on the real PostgreSQL and Redis: the chat stories (a secretary, a
stranger reporting 流入, six silent months to 停止党籍) and the API's (marking out, what is due,
the figures and the forms), told exactly as on SQLite, with the conversation state and the
identity cache in Redis; and the dashboard's page and forms."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from server.app import create_app
from server.clock import FrozenClock
from server.settings import Settings
from tests import test_admin_mobile as desk
from tests import test_api_mobility as api
from tests import test_mobility_chat as chat

pytestmark = pytest.mark.integration

Story = Callable[..., Coroutine[Any, Any, None]]


@pytest.fixture
def on_postgres(
    make_settings: Callable[..., Settings],
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
) -> Callable[..., Settings]:
    """`make_settings` with the scale-out database and cache underneath."""

    def make(**overrides: Any) -> Settings:
        backing = {"db_url": pg_url, "redis_url": redis_url, "redis_prefix": redis_prefix}
        return make_settings(**(backing | overrides))

    return make


async def test_six_silent_months_in_chat(aiohttp_client: Any, on_postgres: Any) -> None:
    await chat.test_a_silent_member_is_a_question_then_searched_for_then_stopped(
        aiohttp_client, on_postgres
    )


@pytest.mark.parametrize(
    "story",
    [
        chat.test_the_secretary_marks_a_member_out_and_the_list_says_what_is_due,
        chat.test_a_stranger_reports_in_and_the_branch_confirms,
    ],
    ids=lambda f: f.__name__.removeprefix("test_"),
)
async def test_chat_stories(
    aiohttp_client: Any, on_postgres: Any, fake_wechat: Any, story: Story
) -> None:
    await story(aiohttp_client, on_postgres, fake_wechat)


@pytest.mark.parametrize(
    "story",
    [
        api.test_a_member_is_marked_out_kept_in_touch_and_what_is_due_is_listed,
        api.test_bad_input_names_the_field_and_changes_nothing,
        api.test_staff_see_counts_by_branch_and_download_the_forms,
    ],
    ids=lambda f: f.__name__.removeprefix("test_"),
)
async def test_api_stories(
    aiohttp_client: Any, on_postgres: Any, fake_wechat: Any, story: Story
) -> None:
    await story(aiohttp_client, on_postgres, fake_wechat)


@pytest.mark.parametrize(
    "story",
    [
        desk.test_staff_read_every_branchs_figures_in_the_trees_order,
        desk.test_a_secretary_reads_her_branchs_list_and_to_dos,
        desk.test_a_contact_a_search_and_a_confirmed_report,
        desk.test_another_branchs_member_or_report_is_refused_and_nothing_changes,
    ],
    ids=lambda f: f.__name__.removeprefix("test_"),
)
async def test_dashboard_stories(aiohttp_client: Any, on_postgres: Any, story: Story) -> None:
    client = await aiohttp_client(
        create_app(on_postgres(identity_ttl=0), clock=FrozenClock(desk.NOW))
    )
    await story(desk.Street(client, **await desk.build()))
