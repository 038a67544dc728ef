"""`dangjian admin-link`: the first administrator signs in with a link printed on the console.

The link is printed by one process and used in the server, another one, with the embedded
in-process cache: it lives in the database, so it works.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.cli import main
from server.db import close_database, open_database
from server.models import Member, Role
from server.settings import load_settings
from tests.conftest import make_member, migrated


@pytest.fixture
def roster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DANGJIAN_DB_URL", "DANGJIAN_REDIS_URL", "DANGJIAN_ENV", "DANGJIAN_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    async def seed() -> None:
        await open_database(migrated(tmp_path / "dangjian.sqlite3"))
        await make_member("赵主任", "13900000009")
        await close_database()

    asyncio.run(seed())
    return tmp_path


async def test_the_console_link_signs_the_first_admin_in_to_a_running_server(
    roster: Path, capsys: pytest.CaptureFixture[str], aiohttp_client: Any
) -> None:
    # The command runs as its own process would, beside the server's event loop.
    assert await asyncio.to_thread(main, ["admin-link", "13900000009"]) == 0
    printed = capsys.readouterr().out
    token = re.search(r"/admin/login\?t=([\w-]+)", printed)
    assert token is not None, printed

    client = await aiohttp_client(create_app(load_settings()))
    first = await client.post("/admin/login", data={"t": token.group(1)}, allow_redirects=False)
    again = await client.post("/admin/login", data={"t": token.group(1)}, allow_redirects=False)
    assert first.status == 303  # signed in, on to /admin
    assert again.status == 403  # a link works once
    assert (await Member.get(phone="13900000009")).role is Role.ADMIN


def test_an_unknown_phone_is_refused_naming_it(
    roster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin-link", "13999999999"]) == 2
    assert "phone: 没有这个手机号的在册党员" in capsys.readouterr().err
