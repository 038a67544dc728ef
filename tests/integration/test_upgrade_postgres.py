"""Upgrading a PostgreSQL deployment from the oldest schema, with a street in it.

A committee that deployed the first release (migration 0001: organisations, members, their
WeChat identities) upgrades by running the new version's `dangjian migrate`, with two servers
starting at the same moment as a careless restart would.  Every member, role and binding
survives; the columns added since are filled by the database; the upgraded street works: a
bound member checks in and the committee's figures count everyone.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from server.db import close_database, open_database
from server.models.people import Member, Organisation, WeChatIdentity
from server.services.tallies.report import tally_report
from tests.conftest import APPID
from tests.test_checkin_chat import frozen_app
from tests.test_meetings_chat import NOW

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
OLDEST = "0001_initial"
MEMBERS = 30

_AT_OLDEST = """
import asyncio, sys
from tortoise import Tortoise, connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from server.db import tortoise_config

async def run(url, target):
    config = tortoise_config(url)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        executor = MigrationExecutor(connections.get("default"), config["apps"])
        await executor.migrate([MigrationTarget(app_label="models", name=target)])
    finally:
        await Tortoise.close_connections()

asyncio.run(run(sys.argv[1], sys.argv[2]))
"""


def dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def a_street_as_the_first_release_kept_it(url: str) -> None:
    """What 0001's tables held: the committee, a branch and its 党小组, members with roles
    (one transferred away), and the WeChat users bound to them."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            "INSERT INTO organisation (id, name, kind, parent_id, path, created_at) VALUES"
            " (1, '示范街道党工委', 'committee', NULL, '示范街道党工委', now()),"
            " (2, '第一党支部', 'branch', 1, '示范街道党工委/第一党支部', now()),"
            " (3, '第一党小组', 'group', 2, '示范街道党工委/第一党支部/第一党小组', now())"
        )
        roles = ["支部书记", "支委委员", "党小组长"] + ["党员"] * (MEMBERS - 3)
        for n, role in enumerate(roles, start=1):
            await conn.execute(
                "INSERT INTO member (id, name, phone, gender, joined_on, organisation_id,"
                " group_id, role, status, is_mobile, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, 2, $6, $7, $8, false, now(), now())",
                n,
                f"党员{n:02d}",
                f"1370000{n:04d}",
                "女" if n % 2 else "男",
                date(2000 + n % 20, 7, 1),
                3 if n > 3 and n % 3 == 0 else None,
                role,
                "transferred" if n == MEMBERS else "active",
            )
            if n <= 10:
                await conn.execute(
                    "INSERT INTO wechat_identity (appid, openid, channel, member_id, bound_at)"
                    " VALUES ($1, $2, 'oa', $3, now())",
                    APPID,
                    f"o_upgrade_member_{n:04d}_xxxxxxxx",
                    n,
                )
        await conn.execute("SELECT setval('member_id_seq', $1)", MEMBERS)
        await conn.execute("SELECT setval('organisation_id_seq', 3)")
    finally:
        await conn.close()


def migrate(url: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DANGJIAN_DB_URL": url}
    env["DANGJIAN_DATA_DIR"] = str(tmp_path)
    return subprocess.Popen(
        [sys.executable, "-m", "server", "migrate"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_the_first_release_s_street_upgrades_to_this_one_intact(
    pg_empty_url: str, tmp_path: Path, aiohttp_client: Any, make_settings: Any
) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _AT_OLDEST, pg_empty_url, OLDEST],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    await a_street_as_the_first_release_kept_it(pg_empty_url)

    # Two servers' start-up migrations at once: the advisory lock lets one apply them.
    both = [migrate(pg_empty_url, tmp_path), migrate(pg_empty_url, tmp_path)]
    for proc in both:
        _, err = await asyncio.to_thread(proc.communicate, timeout=240)
        assert proc.returncode == 0, err[-3000:]

    conn = await asyncpg.connect(dsn(pg_empty_url))
    try:
        applied = await conn.fetch("SELECT name FROM tortoise_migrations ORDER BY name")
    finally:
        await conn.close()
    on_disk = sorted(p.stem for p in (REPO / "migrations").glob("0*.py"))
    assert [r["name"] for r in applied] == on_disk  # each applied once, none missing

    await open_database(pg_empty_url, migrate=False)
    try:
        members = await Member.all().order_by("id")
        assert len(members) == MEMBERS
        assert [m.name for m in members] == [f"党员{n:02d}" for n in range(1, MEMBERS + 1)]
        assert members[0].role == "支部书记" and members[2].group_id is None
        assert not any(m.incoming or m.probationary for m in members)  # filled by the database
        assert await WeChatIdentity.all().count() == 10
        committee = await Organisation.get(id=1)
        report = await tally_report(
            committee,
            date(2026, 1, 1),
            NOW.date(),
            by="branch",
            today=NOW.date(),
            zone=ZoneInfo("Asia/Shanghai"),
            now=NOW,
        )
        assert report.total.active_members == MEMBERS - 1  # not the one transferred away
    finally:
        await close_database()

    # The upgraded street at work: a member bound under the first release checks in.
    client, peer, _ = await frozen_app(
        aiohttp_client, lambda **kw: make_settings(db_url=pg_empty_url, **kw), NOW
    )
    reply = await peer.say(client, "o_upgrade_member_0004_xxxxxxxx", "打卡")
    assert "打卡成功" in (reply.text or "")
