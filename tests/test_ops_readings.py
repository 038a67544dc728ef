"""What an operator's alerts read: the outbox's backlog and its age, how the day's notices
ended, who leads the scheduler and when each job last finished."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.models.jobs import JobRun
from server.typedefs import SCHEDULER
from server.wechat.fake import FakeWeChat
from tests.conftest import OPERATOR
from tests.test_meetings_chat import LEADER, MEMBER, NOW, SECRETARY
from tests.test_notice_delivery import until
from tests.test_notices import meeting_with_notices, outbox


async def scrape(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics", headers=OPERATOR)
    assert response.status == 200
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def notices(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"outbox": "notices", **labels}.items()))


async def test_the_backlog_grows_old_while_nobody_sends_and_clears_when_sent(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    fake, _ = fake_wechat
    # A meeting just confirmed: its notices are due now, and no scheduler runs here.
    client, _, clock, _, _ = await meeting_with_notices(aiohttp_client, make_settings)
    seen = await scrape(client)
    waiting = seen[("dangjian_outbox_backlog", notices())]
    assert waiting >= 3  # the secretary, the group leader, the members
    assert seen[("dangjian_outbox_oldest_due_seconds", notices())] == 0
    assert seen[("dangjian_scheduler_enabled", ())] == 0
    assert seen[("dangjian_scheduler_leader", ())] == 0

    clock.advance(600)  # ten minutes and still nothing sent: what an alert fires on
    seen = await scrape(client)
    assert seen[("dangjian_outbox_oldest_due_seconds", notices())] == 600
    assert seen[("dangjian_outbox_backlog", notices())] == waiting

    for openid in (SECRETARY, LEADER, MEMBER):
        fake.interact(openid)
    await outbox(client).deliver_due(clock.now())
    seen = await scrape(client)
    assert seen[("dangjian_outbox_backlog", notices())] == 0
    assert seen[("dangjian_outbox_oldest_due_seconds", notices())] == 0
    sent = seen[("dangjian_outbox_due_24h", notices(status="sent"))]
    unreachable = seen[("dangjian_outbox_due_24h", notices(status="unreachable"))]
    assert sent >= 3 and sent + unreachable == waiting
    assert seen[("dangjian_outbox_due_24h", notices(status="uncertain"))] == 0
    assert seen[("dangjian_outbox_backlog", (("outbox", "community"),))] == 0


async def test_the_leading_process_reports_its_lease_and_each_job_s_last_success(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings(scheduler=True)))
    jobs = client.app[SCHEDULER]

    async def ticked() -> bool:
        seen = await scrape(client)
        return (
            "dangjian_job_last_success_timestamp_seconds",
            (("job", "deliver-notices"),),
        ) in seen

    await until(ticked)  # the outbox tick runs at start
    seen = await scrape(client)
    assert jobs.running
    assert seen[("dangjian_scheduler_enabled", ())] == 1
    assert seen[("dangjian_scheduler_leader", ())] == 1

    # A periodic job finished by whichever process led then: read from job_run.
    finished = NOW - timedelta(days=3)
    await JobRun.create(
        job="compliance",
        period_key="2026-11-20",
        started_at=finished,
        finished_at=finished,
        owner="another-process",
    )
    await JobRun.create(job="digest", period_key="2026-11-23", started_at=finished, owner="x")
    seen = await scrape(client)
    compliance = ("dangjian_job_last_success_timestamp_seconds", (("job", "compliance"),))
    assert seen[compliance] == finished.timestamp()
    # A run started and never finished is not a success.
    assert ("dangjian_job_last_success_timestamp_seconds", (("job", "digest"),)) not in seen
