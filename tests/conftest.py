"""Shared fixtures: a real app from the one factory, a fake WeChat API, and a WeChat peer."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.clock import Clock
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role
from server.settings import Settings
from server.typedefs import PROCESSOR
from server.wechat.fake import create_fake_app
from server.wechat.fake_state import FakeWeChat
from tests.wechat_peer import WeChatPeer

TOKEN = "testtoken2026"
APPID = "wxtestappid00001"


_TEMPLATE: list[Path] = []


_MIGRATE = (
    "import asyncio, sys\n"
    "from server.db import close_database, open_database\n"
    "async def main():\n"
    "    await open_database(sys.argv[1])\n"
    "    await close_database()\n"
    "asyncio.run(main())\n"
)


def migrate_apart(db_url: str) -> None:
    """Apply every migration to `db_url` in a process of its own: the ORM's context is global
    to a process, and a test may hold one open while a template is made."""
    root = Path(__file__).parent.parent
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-c", _MIGRATE, db_url], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def migrated(target: Path) -> str:
    """The URL of a SQLite file at `target` with every migration applied.

    Applying the migrations to an empty file takes about a second, copying one that has them a
    millisecond: the first call of a test run migrates a template, every call copies it.  (The
    migrations themselves are tested from scratch in test_migrations.py.)
    """
    if not _TEMPLATE:
        path = Path(tempfile.mkdtemp(prefix="dangjian-template-")) / "migrated.sqlite3"
        migrate_apart(f"sqlite://{path}")
        _TEMPLATE.append(path)
    shutil.copyfile(_TEMPLATE[0], target)
    return f"sqlite://{target}"


def new_aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()[:43]


@pytest.fixture
def aes_key() -> str:
    return new_aes_key()


@pytest.fixture
async def fake_wechat(aiohttp_server: Any) -> AsyncIterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat()
    server = await aiohttp_server(create_fake_app(fake))
    yield fake, str(server.make_url("")).rstrip("/")


# What the Prometheus scraper and the operators' health checks send (DANGJIAN_METRICS_TOKEN).
METRICS_TOKEN = "scrape-token-for-the-tests-0123456789"
OPERATOR = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def make_settings(
    tmp_path: Path, aes_key: str, fake_wechat: tuple[FakeWeChat, str]
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "db_url": migrated(tmp_path / "test.sqlite3"),
            "wechat_token": TOKEN,
            "wechat_aes_key": aes_key,
            "wechat_appid": APPID,
            "wechat_secret": "test-secret",
            "wechat_api_base": fake_wechat[1],
            # Most stories are told in plaintext; the encrypted ones say so per message.
            "wechat_encrypt_mode": "plain",
            "data_dir": tmp_path,
            "metrics_token": METRICS_TOKEN,
            # Every API answer a test sees is checked against its documented model.
            "api_check_replies": True,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def clock() -> Clock:
    return Clock("Asia/Shanghai")


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, clock: Clock) -> TestClient:
    return await aiohttp_client(create_app(settings, clock=clock))


@pytest.fixture
def peer(settings: Settings, aes_key: str) -> WeChatPeer:
    return WeChatPeer(token=TOKEN, aes_key=aes_key, appid=APPID)


async def drain(client: TestClient) -> None:
    """Wait for replies that go out through the API after the HTTP answer."""
    await client.app[PROCESSOR].drain()


async def make_branch(
    path: str = "示范街道党工委/第一社区党总支/第一社区第一党支部",
) -> Organisation:
    parent = None
    built = []
    for depth, name in enumerate(path.split("/")):
        built.append(name)
        kind = (
            OrgKind.COMMITTEE
            if depth == 0
            else OrgKind.GENERAL_BRANCH
            if name.endswith("总支")
            else OrgKind.BRANCH
        )
        parent, _ = await Organisation.get_or_create(
            path="/".join(built), defaults={"name": name, "kind": kind, "parent": parent}
        )
    assert parent is not None
    return parent


async def make_group(branch: Organisation, name: str) -> Organisation:
    """A 党小组 under `branch` (once: the same name again is the same group)."""
    group, _ = await Organisation.get_or_create(
        path=f"{branch.path}/{name}",
        defaults={"name": name, "kind": OrgKind.GROUP, "parent": branch},
    )
    return group


async def make_member(
    name: str,
    phone: str,
    *,
    role: Role = Role.MEMBER,
    org: Organisation | None = None,
    status: MemberStatus = MemberStatus.ACTIVE,
    group: Organisation | None = None,
) -> Member:
    org = org or await make_branch()
    return await Member.create(
        name=name,
        phone=phone,
        role=role,
        organisation=org,
        group=group,
        status=status,
        gender="女",
    )


def integration_required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


__all__ = ["TestServer"]
