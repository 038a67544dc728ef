"""`dangjian doctor` on the real PostgreSQL and Redis with the fake WeChat: a production
configuration with everything right passes every check; a migration not applied, an empty
database, a stalled Redis and a clock out of step with PostgreSQL's are each named — and the
doctor changes nothing in the database."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from server import doctor_database, doctor_host, doctor_redis
from server.cli import main
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.doctor import Finding, examine
from server.doctor_database import postgres_dsn
from server.models.people import Role
from server.settings import Settings
from server.wechat.fake import FakeWeChat, create_fake_app
from tests.conftest import METRICS_TOKEN, make_branch, make_member, new_aes_key
from tests.integration.conftest import PrivateRedis

pytestmark = pytest.mark.integration

APPID, SECRET = "wxdoctor000000001", "the-official-account-secret"
MP_APPID, MP_SECRET = "wxdoctor0000000mp", "the-mini-program-secret"
FIELDS = ["thing1", "time2", "thing3", "thing4"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.startswith(("DANGJIAN_", "WECHAT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield monkeypatch


@pytest.fixture
async def wechat(aiohttp_server: Any) -> AsyncIterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat(appid_secrets={APPID: SECRET, MP_APPID: MP_SECRET})
    fake.add_template("SUBSCRIBE-MEETING", FIELDS)
    fake.add_template("OA-MEETING", FIELDS)
    fake.add_template("OA-SERVICE", ["thing1", "time2", "thing3"])
    server = await aiohttp_server(create_fake_app(fake))
    yield fake, str(server.make_url("")).rstrip("/")


def production_env(tmp_path: Path, pg: str, redis: str, prefix: str, api: str) -> dict[str, str]:
    """What a deployment's environment file holds, every value right."""
    return {
        "DANGJIAN_ENV": "production",
        "DANGJIAN_DATA_DIR": str(tmp_path / "data"),
        "DANGJIAN_DB_URL": pg,
        "DANGJIAN_REDIS_URL": redis,
        "DANGJIAN_REDIS_PREFIX": prefix,
        "DANGJIAN_PUBLIC_URL": "https://dj.example.gov.cn",
        "DANGJIAN_METRICS_TOKEN": METRICS_TOKEN,
        "WECHAT_TOKEN": "doctortoken2026",
        "WECHAT_AES_KEY": new_aes_key(),
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_MP_APPID": MP_APPID,
        "WECHAT_MP_SECRET": MP_SECRET,
        "WECHAT_API_BASE": api,
        "WECHAT_SUBSCRIBE_TEMPLATE_MEETING": "SUBSCRIBE-MEETING",
        "WECHAT_TEMPLATE_MEETING": "OA-MEETING",
        "WECHAT_TEMPLATE_SERVICE": "OA-SERVICE",
    }


async def roll_two_members(url: str) -> None:
    await open_database(url, migrate=False)
    try:
        branch = await make_branch()
        await make_member("张书记", "13800000001", role=Role.SECRETARY, org=branch)
        await make_member("李党员", "13800000002", org=branch)
    finally:
        await close_database()


async def applied(url: str) -> list[str]:
    conn = await asyncpg.connect(postgres_dsn(url))
    try:
        rows = await conn.fetch("SELECT name FROM tortoise_migrations ORDER BY name")
        return [r["name"] for r in rows]
    finally:
        await conn.close()


def named(findings: list[Finding]) -> dict[str, Finding]:
    return {f.name: f for f in findings}


async def test_a_production_deployment_with_everything_right_passes_every_check(
    env: pytest.MonkeyPatch,
    tmp_path: Path,
    pg_url: str,
    redis_url: str,
    redis_prefix: str,
    redis_cleanup: None,
    wechat: tuple[FakeWeChat, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, api = wechat
    await roll_two_members(pg_url)
    for name, value in production_env(tmp_path, pg_url, redis_url, redis_prefix, api).items():
        env.setenv(name, value)

    # As an operator runs it; `main` runs its own event loop, so in a thread of its own.
    assert await asyncio.to_thread(main, ["doctor", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is True
    statuses = {c["name"]: c["status"] for c in body["checks"]}
    assert statuses == {
        name: "ok"
        for name in (
            "settings",
            "public-url",
            "metrics",
            "encryption",
            "database",
            "schema",
            "roster",
            "redis",
            "wechat-oa",
            "wechat-mp",
            "subscribe-template",
            "meeting-template",
            "service-template",
            "clock",
            "disk",
            "content",
        )
    }
    details = {c["name"]: c["detail"] for c in body["checks"]}
    assert details["roster"] == "2 active members in 3 organisations"
    assert details["database"].startswith("PostgreSQL ")
    assert "claim and lease commands work" in details["redis"]
    assert "of PostgreSQL" in details["clock"]
    # Both apps' tokens came from stable_token, neither forced.
    asked = fake.calls_to("/cgi-bin/stable_token")
    assert sorted(c.body["appid"] for c in asked) == [APPID, MP_APPID]
    assert not any(c.body["force_refresh"] for c in asked)


async def test_an_unapplied_migration_on_postgres_is_named_and_not_applied(
    tmp_path: Path, pg_url: str
) -> None:
    last = (await applied(pg_url))[-1]
    conn = await asyncpg.connect(postgres_dsn(pg_url))
    await conn.execute("DELETE FROM tortoise_migrations WHERE name = $1", last)
    await conn.close()

    settings = Settings(_env_file=None, db_url=pg_url, data_dir=tmp_path)
    lines = named(await doctor_database.check(settings, 5))
    assert lines["database"].status == "ok"
    assert lines["schema"].status == "fail"
    assert lines["schema"].detail == f"1 migration(s) not applied: {last}"
    assert last not in await applied(pg_url)


async def test_an_empty_postgres_database_is_not_migrated_by_the_doctor(
    tmp_path: Path, pg_empty_url: str
) -> None:
    settings = Settings(_env_file=None, db_url=pg_empty_url, data_dir=tmp_path)
    lines = named(await doctor_database.check(settings, 5))
    assert lines["schema"].status == "fail"
    assert "no migrations applied" in lines["schema"].detail
    conn = await asyncpg.connect(postgres_dsn(pg_empty_url))
    try:
        assert await conn.fetchval("SELECT to_regclass('tortoise_migrations')") is None
    finally:
        await conn.close()


async def test_a_database_that_does_not_exist_is_named(tmp_path: Path, pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/dangjian_no_such_database"
    settings = Settings(_env_file=None, db_url=missing, data_dir=tmp_path)
    [line] = await doctor_database.check(settings, 5)
    assert line.status == "fail"
    assert "InvalidCatalogNameError" in line.detail and "DANGJIAN_DB_URL" in line.fix


async def test_a_stalled_redis_is_cut_off_and_named(
    tmp_path: Path, pg_url: str, private_redis: PrivateRedis
) -> None:
    settings = Settings(
        _env_file=None,
        db_url=pg_url,
        data_dir=tmp_path,
        redis_url=private_redis.url,
        redis_timeout=0.2,
    )
    assert (await doctor_redis.check(settings))[0].status == "ok"
    private_redis.stall()
    try:
        lines = named(await examine(settings, seconds=1))
    finally:
        private_redis.resume()
    assert lines["redis"].status == "fail"
    # Cut off by the servers' own Redis timeout, or by the doctor's: either says so.
    assert "timed out" in lines["redis"].detail
    assert lines["database"].status == "ok"


async def test_a_clock_out_of_step_with_postgres_fails(tmp_path: Path, pg_url: str) -> None:
    settings = Settings(_env_file=None, db_url=pg_url, data_dir=tmp_path)
    ahead = FrozenClock(datetime.now(UTC) + timedelta(seconds=30))
    async with aiohttp.ClientSession() as session:
        [line] = await doctor_host.clock(settings, session, ahead, 5)
    assert line.status == "fail"
    assert line.detail.startswith("this machine's clock is 3")  # 30 s, less the query's time
    assert line.detail.endswith("s ahead of PostgreSQL's")
