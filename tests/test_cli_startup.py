"""Starting up with something wrong: one line that names the variable, and a clean exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import main
from server.errors import ConfigError
from server.settings import load_settings


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DANGJIAN_", "WECHAT_"))}
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env={**clean, "DANGJIAN_DATA_DIR": str(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_redis_unreachable_names_the_variable_and_exits(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "serve", "--port", "18071", DANGJIAN_REDIS_URL="redis://127.0.0.1:1/0")
    assert done.returncode == 2, done.stderr
    assert "DANGJIAN_REDIS_URL: cannot reach Redis" in done.stderr
    assert "Traceback" not in done.stderr


def test_migrate_with_postgres_unreachable_names_the_variable(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "migrate", DANGJIAN_DB_URL="postgres://postgres@127.0.0.1:1/x")
    assert done.returncode == 2
    assert "DANGJIAN_DB_URL: cannot open the database" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(tmp_path, "serve", "--port", str(port))
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_serve_port_flag_is_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--port", "70000"]) == 2
    assert "DANGJIAN_PORT" in capsys.readouterr().err


def test_chat_with_a_malformed_server_url_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "--server", "http://[::1", "-c", "帮助"]) == 2
    assert "--server" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DANGJIAN_DB_URL", "postgres://"),
        ("DANGJIAN_DB_URL", "postgres://postgres@127.0.0.1:5432"),
        ("DANGJIAN_DB_URL", "sqlite://"),
        ("DANGJIAN_REDIS_URL", "redis://127.0.0.1:6379/abc"),
        ("DANGJIAN_HOST", "no such host"),
    ],
)
def test_incomplete_addresses_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert name in str(err.value)


def test_a_dotenv_that_is_not_utf8_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes("DANGJIAN_TZ=亚洲\n".encode("gb18030"))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert ".env" in str(err.value)


async def test_fake_wechat_command_serves_the_fake_api(tmp_path: Path) -> None:
    import asyncio

    import aiohttp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "fake-wechat", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    body = {"grant_type": "client_credential", "appid": "wx1", "secret": "s"}
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # until the process listens
                try:
                    async with session.post(f"{base}/cgi-bin/stable_token", json=body) as resp:
                        answer = await resp.json(content_type=None)
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            assert answer["errcode"] == 0 and answer["access_token"]
            async with session.get(f"{base}/_fake/calls?since=0") as resp:
                calls = (await resp.json())["calls"]
        assert calls[0]["path"] == "/cgi-bin/stable_token"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_command_run_from_another_folder_makes_no_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dangjian admin-link` in the wrong folder once made ./data/dangjian.sqlite3, empty, and
    said the member was not found: now it says where it looked, and makes nothing."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith(("DANGJIAN_", "WECHAT_"))]:
        monkeypatch.delenv(name)
    assert main(["admin-link", "13800000000"]) == 2
    said = capsys.readouterr().err
    assert "没有找到数据库" in said and "DANGJIAN_DATA_DIR" in said and str(tmp_path) in said
    assert not (tmp_path / "data").exists()
    for command in (["tally"], ["mobile", "report"], ["ledger", "--branch", "1"]):
        assert main(command) == 2
    assert not (tmp_path / "data").exists()
    # What sets a database up still does, and then the others find it.
    assert main(["migrate"]) == 0
    assert (tmp_path / "data" / "dangjian.sqlite3").exists()
    capsys.readouterr()
    main(["mobile", "report"])  # an empty street: nothing to report, but it looked here
    assert "没有找到数据库" not in capsys.readouterr().err


def test_production_serves_no_database_it_did_not_make(tmp_path: Path) -> None:
    """In production only `dangjian migrate` makes the database: a server started with a
    mistyped DANGJIAN_DATA_DIR refuses rather than serving an empty street."""
    production = {
        "DANGJIAN_ENV": "production",
        "WECHAT_TOKEN": "abc123",
        "WECHAT_APPID": "wx1",
        "WECHAT_SECRET": "s",
        "WECHAT_ENCRYPT_MODE": "plain",
    }
    done = run_cli(tmp_path, "serve", **production)
    assert done.returncode == 2, done.stderr
    assert "没有找到数据库" in done.stderr and "dangjian migrate" in done.stderr
    assert not (tmp_path / "dangjian.sqlite3").exists()
    for command in (["seed-demo"], ["import-members", "members.csv"]):  # nor these
        refused = run_cli(tmp_path, *command, **production)
        assert refused.returncode == 2 and "没有找到数据库" in refused.stderr, refused.stderr
    assert not (tmp_path / "dangjian.sqlite3").exists()
    relative = run_cli(tmp_path, "serve", **production, DANGJIAN_DATA_DIR="data")
    assert relative.returncode == 2 and "DANGJIAN_DATA_DIR" in relative.stderr
