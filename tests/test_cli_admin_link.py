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
from server.models.people import Member, Role
from server.settings import load_settings
from tests.conftest import make_branch, make_member, migrated


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
    assert await asyncio.to_thread(main, ["make-admin", "13900000009"]) == 0
    assert "赵主任 is now 系统管理员 (was 党员)" in capsys.readouterr().out
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


def test_a_link_for_a_plain_member_is_refused_and_their_role_left_alone(
    roster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A mistyped phone must not make a stranger an administrator without a word.
    assert main(["admin-link", "13900000009"]) == 2
    err = capsys.readouterr().err
    assert "dangjian make-admin 13900000009" in err

    async def role() -> Role:
        await open_database(f"sqlite://{roster / 'dangjian.sqlite3'}")
        try:
            return (await Member.get(phone="13900000009")).role
        finally:
            await close_database()

    assert asyncio.run(role()) is Role.MEMBER


def test_the_operator_unbinds_re_roles_and_moves_by_phone(
    roster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.models.people import Channel, MemberChange, WeChatIdentity

    async def bind() -> None:
        await open_database(f"sqlite://{roster / 'dangjian.sqlite3'}")
        zhao = await Member.get(phone="13900000009")
        await WeChatIdentity.create(
            appid="wx-test", openid="o-zhao", channel=Channel.OFFICIAL_ACCOUNT, member=zhao
        )
        await make_branch("示范街道党工委/第一社区党总支/第一社区第二党支部")
        await close_database()

    asyncio.run(bind())

    with pytest.raises(SystemExit):
        main(["unbind", "13900000009"])  # --reason is required
    assert main(["unbind", "13900000009", "--reason", " "]) == 2
    assert "reason: 请写明原因" in capsys.readouterr().err
    assert main(["unbind", "13900000009", "--reason", "本人要求"]) == 0
    assert "unbound 赵主任: 1 WeChat identities removed" in capsys.readouterr().out
    assert main(["set-role", "13900000009", "支部书记"]) == 0
    assert "赵主任: 党员 → 支部书记" in capsys.readouterr().out
    assert main(["set-role", "13900000009", "皇帝"]) == 2
    assert main(["transfer", "13900000009", "--to", "第一社区第二党支部"]) == 0
    out = capsys.readouterr().out
    assert "→ 示范街道党工委/第一社区党总支/第一社区第二党支部, now 党员" in out

    async def changes() -> list[tuple[str, str | None]]:
        await open_database(f"sqlite://{roster / 'dangjian.sqlite3'}")
        try:
            return [(str(c.kind), c.reason) for c in await MemberChange.all().order_by("id")]
        finally:
            await close_database()

    assert [kind for kind, _ in asyncio.run(changes())] == ["unbind", "role", "transfer", "role"]
