"""`dangjian doctor` on SQLite and the fake WeChat: a healthy checkout passes, and each broken
configuration is named — a wrong secret by its errcode, a missing template, a migration not
applied, no database, a relative data folder, an unreachable or silent server — with nothing
changed.  (On the real PostgreSQL and Redis: tests/integration/test_doctor_postgres_redis.py.)"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server import doctor_database, doctor_host, doctor_redis, doctor_wechat
from server.cache import MemoryCache
from server.cli import main
from server.cli_doctor import render
from server.clock import Clock, FrozenClock
from server.doctor import Finding, bounded, examine, settings_findings
from server.doctor_host import Space
from server.doctor_wechat import field_problems
from server.errors import ConfigError
from server.settings import Settings
from server.wechat.client import WeChatClient
from server.wechat.fake import FakeWeChat, create_fake_app
from tests.conftest import METRICS_TOKEN, migrated, new_aes_key

APPID, SECRET = "wxdoctor000000001", "the-official-account-secret"
MP_APPID, MP_SECRET = "wxdoctor0000000mp", "the-mini-program-secret"
FIELDS = ["thing1", "time2", "thing3", "thing4"]  # what WECHAT_*_FIELDS name by default


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """The environment of a shell with no dangjian settings, in a folder with no .env."""
    for name in list(os.environ):
        if name.startswith(("DANGJIAN_", "WECHAT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield monkeypatch


@pytest.fixture
async def wechat(aiohttp_server: Any) -> AsyncIterator[tuple[FakeWeChat, str]]:
    """The fake WeChat API knowing both apps' secrets, as WeChat does."""
    fake = FakeWeChat(appid_secrets={APPID: SECRET, MP_APPID: MP_SECRET})
    server = await aiohttp_server(create_fake_app(fake))
    yield fake, str(server.make_url("")).rstrip("/")


def production(tmp_path: Path, api_base: str = "http://127.0.0.1:1", **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "production",
        "data_dir": tmp_path,
        "db_url": migrated(tmp_path / "dangjian.sqlite3"),
        "wechat_token": "doctortoken2026",
        "wechat_aes_key": new_aes_key(),
        "wechat_appid": APPID,
        "wechat_secret": SECRET,
        "wechat_api_base": api_base,
        "public_url": "https://dj.example.gov.cn",
        "metrics_token": METRICS_TOKEN,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def named(findings: list[Finding]) -> dict[str, Finding]:
    return {f.name: f for f in findings}


async def wechat_lines(settings: Settings) -> dict[str, Finding]:
    async with aiohttp.ClientSession() as session:
        apps = doctor_wechat.Apps(settings, session, MemoryCache(), Clock(), 5)
        return named(await doctor_wechat.check(apps, 5))


# --- a healthy checkout, through the command line -------------------------------------------


def test_a_development_checkout_passes_with_one_warning(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    migrated(tmp_path / "data" / "dangjian.sqlite3")
    env.setenv("DANGJIAN_DATA_DIR", str(tmp_path / "data"))

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert lines["settings"].split()[1] == "WARN" and "development mode" in lines["settings"]
    for name in ("database", "schema", "roster", "redis", "wechat", "clock", "disk", "content"):
        assert lines[name].split()[1] == "OK", lines[name]
    # One column for the statuses, whatever the names' lengths.
    checks = [line for name, line in lines.items() if name != "doctor:"]
    assert len({line.index(line.split()[1]) for line in checks}) == 1
    assert out.rstrip().endswith("doctor: 8 OK, 1 WARN (settings) — nothing to fix")


def test_json_for_machines_says_the_same(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrated(tmp_path / "dangjian.sqlite3")
    env.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    assert main(["doctor", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is True
    statuses = {c["name"]: c["status"] for c in body["checks"]}
    assert statuses["settings"] == "warn" and statuses["database"] == "ok"
    assert all(set(c) == {"name", "status", "detail", "fix"} for c in body["checks"])


def test_a_missing_database_is_reported_not_made(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("DANGJIAN_DATA_DIR", str(tmp_path / "nowhere"))
    assert main(["doctor"]) == 1  # the doctor runs where other commands would be refused
    out = capsys.readouterr().out
    assert f"database  FAIL  no database at {tmp_path / 'nowhere' / 'dangjian.sqlite3'}" in out
    assert "dangjian migrate" in out
    assert not (tmp_path / "nowhere").exists()


def _args(**kw: Any) -> Any:
    import argparse

    return argparse.Namespace(**({"json": False, "timeout": 5.0} | kw))


# --- settings ---------------------------------------------------------------------------------


async def test_a_relative_data_folder_in_production_is_named(env: pytest.MonkeyPatch) -> None:
    env.setenv("DANGJIAN_ENV", "production")
    env.setenv("WECHAT_TOKEN", "doctortoken2026")
    env.setenv("WECHAT_APPID", APPID)
    env.setenv("WECHAT_SECRET", SECRET)
    env.setenv("DANGJIAN_DATA_DIR", "data")
    findings = await examine(None)
    assert [(f.name, f.status) for f in findings] == [("settings", "fail")]
    assert "DANGJIAN_DATA_DIR=data must be an absolute path" in findings[0].detail


def test_the_command_reports_settings_that_do_not_load(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Settings that do not load stop every other command; the doctor reports why, and fails."""
    env.setenv("DANGJIAN_REDIS_URL", "redis://127.0.0.1:6379/cache")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("settings  FAIL  invalid configuration: DANGJIAN_REDIS_URL: the database")
    assert "correct the variables named" in out


def test_production_needs_its_public_address(tmp_path: Path) -> None:
    lines = named(settings_findings(production(tmp_path, public_url=None)))
    assert lines["public-url"].status == "fail"
    assert "http://127.0.0.1:8080" in lines["public-url"].detail
    plain = named(settings_findings(production(tmp_path, public_url="http://dj.example.gov.cn")))
    assert plain["public-url"].status == "warn"
    good = named(settings_findings(production(tmp_path)))
    assert {f.status for f in good.values()} == {"ok"}


def test_production_without_a_metrics_token_or_encryption_warns(tmp_path: Path) -> None:
    lines = named(settings_findings(production(tmp_path, metrics_token=None, wechat_aes_key=None)))
    assert lines["metrics"].status == "warn" and "DANGJIAN_METRICS_TOKEN" in lines["metrics"].fix
    assert lines["encryption"].status == "warn" and "WECHAT_AES_KEY" in lines["encryption"].fix


def test_development_mode_open_to_the_network_must_be_fixed() -> None:
    lines = named(settings_findings(Settings(_env_file=None, host="0.0.0.0")))
    assert lines["settings"].status == "fail"
    assert "0.0.0.0" in lines["settings"].detail


# --- WeChat: credentials ----------------------------------------------------------------------


async def test_right_credentials_fetch_a_token_without_knocking_out_the_servers(
    tmp_path: Path, wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = wechat
    async with aiohttp.ClientSession() as session:
        server = WeChatClient(
            session=session,
            base_url=base,
            appid=APPID,
            secret=SECRET,
            cache=MemoryCache(),
            clock=Clock(),
        )
        servers_token = await server.access_token()
        lines = await wechat_lines(production(tmp_path, base))
    assert lines["wechat-oa"].status == "ok"
    assert f"WECHAT_APPID={APPID}" in lines["wechat-oa"].detail
    asked = fake.calls_to("/cgi-bin/stable_token")
    assert len(asked) == 2 and asked[-1].body["force_refresh"] is False
    assert fake.check_token(servers_token) is None  # still good for the running servers


@pytest.mark.parametrize(
    ("overrides", "errcode", "variable"),
    [
        ({"wechat_secret": "not-the-secret"}, 40125, "WECHAT_SECRET"),
        ({"wechat_appid": "wxnosuchapp000000"}, 40013, "WECHAT_APPID"),
    ],
)
async def test_wrong_credentials_fail_naming_the_errcode_and_the_variable(
    tmp_path: Path,
    wechat: tuple[FakeWeChat, str],
    overrides: dict[str, str],
    errcode: int,
    variable: str,
) -> None:
    fake, base = wechat
    fake.add_template("MEETING", FIELDS)
    lines = await wechat_lines(production(tmp_path, base, oa_template="MEETING", **overrides))
    assert lines["wechat-oa"].status == "fail"
    assert lines["wechat-oa"].detail.startswith(f"{errcode}: ")
    assert variable in lines["wechat-oa"].fix
    assert fake.calls_to("/cgi-bin/stable_token")[-1].errcode == errcode
    # The templates cannot be listed without a token: said, not guessed.
    assert lines["meeting-template"].status == "warn"
    assert "not checked" in lines["meeting-template"].detail


async def test_an_ip_not_on_the_allow_list_says_where_to_add_it(
    tmp_path: Path, wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = wechat
    fake.fail_next("/cgi-bin/stable_token", errcode=40164)
    lines = await wechat_lines(production(tmp_path, base))
    assert lines["wechat-oa"].status == "fail"
    assert lines["wechat-oa"].detail.startswith("40164: ")
    assert "IP白名单" in lines["wechat-oa"].fix


async def test_the_mini_program_is_checked_with_its_own_secret(
    tmp_path: Path, wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = wechat
    fake.add_template("SUBSCRIBE", FIELDS)
    settings = production(
        tmp_path,
        base,
        wechat_mp_appid=MP_APPID,
        wechat_mp_secret="the-official-account-secret",
        subscribe_template="SUBSCRIBE",
    )
    lines = await wechat_lines(settings)
    assert lines["wechat-oa"].status == "ok"
    assert lines["wechat-mp"].status == "fail" and "WECHAT_MP_SECRET" in lines["wechat-mp"].fix
    assert lines["subscribe-template"].status == "warn"


async def test_an_unreachable_api_base_is_said(tmp_path: Path) -> None:
    lines = await wechat_lines(production(tmp_path, "http://127.0.0.1:1"))
    assert lines["wechat-oa"].status == "fail"
    assert lines["wechat-oa"].detail.startswith("cannot reach http://127.0.0.1:1")


# --- WeChat: templates -------------------------------------------------------------------------


async def test_configured_templates_that_exist_with_their_fields_pass(
    tmp_path: Path, wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = wechat
    fake.add_template("SUBSCRIBE", FIELDS)
    fake.add_template("MEETING", FIELDS)
    fake.add_template("SERVICE", ["thing1", "time2", "thing3"])
    settings = production(
        tmp_path,
        base,
        wechat_mp_appid=MP_APPID,
        wechat_mp_secret=MP_SECRET,
        subscribe_template="SUBSCRIBE",
        oa_template="MEETING",
        service_template="SERVICE",
    )
    lines = await wechat_lines(settings)
    assert {name: f.status for name, f in lines.items()} == {
        "wechat-oa": "ok",
        "wechat-mp": "ok",
        "subscribe-template": "ok",
        "meeting-template": "ok",
        "service-template": "ok",
    }
    # The official account's list is asked once for both of its templates.
    assert len(fake.calls_to("/cgi-bin/template/get_all_private_template")) == 1
    assert len(fake.calls_to("/wxaapi/newtmpl/gettemplate")) == 1


async def test_a_missing_subscribe_template_fails_and_a_missing_oa_one_warns(
    tmp_path: Path, wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = wechat
    fake.add_template("SOMETHING-ELSE", FIELDS)
    settings = production(tmp_path, base, subscribe_template="GONE", oa_template="GONE-TOO")
    lines = await wechat_lines(settings)
    assert lines["subscribe-template"].status == "fail"
    assert "WECHAT_SUBSCRIBE_TEMPLATE_MEETING=GONE" in lines["subscribe-template"].detail
    # WeChat's official-account list leaves 类目模板 out: absence there is a warning.
    assert lines["meeting-template"].status == "warn"
    assert "类目模板" in lines["meeting-template"].fix


async def test_fields_the_template_does_not_have_fail_naming_the_variable(
    tmp_path: Path, wechat: tuple[FakeWeChat, str]
) -> None:
    fake, base = wechat
    fake.add_template("SUBSCRIBE", ["thing1", "time2", "thing5"])
    lines = await wechat_lines(production(tmp_path, base, subscribe_template="SUBSCRIBE"))
    line = lines["subscribe-template"]
    assert line.status == "fail"
    assert "WECHAT_SUBSCRIBE_FIELDS names thing3, thing4" in line.detail
    assert "thing5 would be sent empty" in line.detail


async def test_no_template_in_production_warns_that_notices_may_not_arrive(
    tmp_path: Path, wechat: tuple[FakeWeChat, str]
) -> None:
    _, base = wechat
    lines = await wechat_lines(production(tmp_path, base))
    assert lines["templates"].status == "warn" and "48 hours" in lines["templates"].detail


def test_field_kinds_must_take_what_is_put_in_them() -> None:
    content = "{{thing1.DATA}}\n{{time2.DATA}}\n{{number3.DATA}}\n"
    assert field_problems(content, {"thing1": "topic", "time2": "time"}, "X")[0].startswith(
        "the template's number3 would be sent empty"
    )
    wrong = field_problems(content, {"thing1": "time", "time2": "topic", "number3": "note"}, "X")
    assert wrong == [
        "time2 is a time field but gets the topic",
        "number3 is a number field but gets the note",
    ]
    old_style = "{{first.DATA}}\n会议：{{keyword1.DATA}}\n{{remark.DATA}}"
    assert field_problems(old_style, {"keyword1": "topic"}, "X") == []


# --- database ---------------------------------------------------------------------------------


async def test_an_unapplied_migration_is_named_and_left_unapplied(tmp_path: Path) -> None:
    settings = production(tmp_path)
    path = settings.sqlite_file
    assert path is not None
    with sqlite3.connect(path) as conn:
        last = conn.execute("SELECT max(name) FROM tortoise_migrations").fetchone()[0]
        conn.execute("DELETE FROM tortoise_migrations WHERE name = ?", (last,))
    lines = named(await doctor_database.check(settings, 5))
    assert lines["database"].status == "ok"
    assert lines["schema"].status == "fail"
    assert lines["schema"].detail == f"1 migration(s) not applied: {last}"
    assert "dangjian migrate" in lines["schema"].fix
    with sqlite3.connect(path) as conn:  # the doctor applied nothing
        assert conn.execute(
            "SELECT count(*) FROM tortoise_migrations WHERE name = ?", (last,)
        ).fetchone() == (0,)


async def test_a_database_from_a_newer_dangjian_is_refused(tmp_path: Path) -> None:
    settings = production(tmp_path)
    assert settings.sqlite_file is not None
    with sqlite3.connect(settings.sqlite_file) as conn:
        conn.execute(
            "INSERT INTO tortoise_migrations (app, name, applied_at) "
            "VALUES ('models', '9999_from_the_future', '2030-01-01')"
        )
    lines = named(await doctor_database.check(settings, 5))
    assert lines["schema"].status == "fail"
    assert "newer dangjian (9999_from_the_future" in lines["schema"].detail


async def test_a_file_that_is_not_dangjians_database(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "other.sqlite3").close()
    settings = production(tmp_path, db_url=f"sqlite://{tmp_path / 'other.sqlite3'}")
    lines = named(await doctor_database.check(settings, 5))
    assert lines["schema"].status == "fail" and "no migrations applied" in lines["schema"].detail
    assert "roster" not in lines


async def test_an_empty_roster_in_production_warns_to_import_members(tmp_path: Path) -> None:
    lines = named(await doctor_database.check(production(tmp_path), 5))
    assert lines["roster"].status == "warn"
    assert lines["roster"].detail == "0 active members in 0 organisations"
    assert "import-members" in lines["roster"].fix


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word: a stalled server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


async def test_a_silent_database_times_out_and_the_rest_go_on(
    tmp_path: Path, wechat: tuple[FakeWeChat, str], silent_port: int
) -> None:
    _, base = wechat
    url = f"postgres://postgres@127.0.0.1:{silent_port}/dangjian"
    lines = named(await examine(production(tmp_path, base, db_url=url), seconds=0.5))
    assert lines["database"].status == "fail"
    assert lines["database"].detail == "timed out after 0.5 s"
    assert "DANGJIAN_DB_URL" in lines["database"].fix
    # The clock compared itself with the API base instead, and the others were not held up.
    assert lines["clock"].status == "ok" and "PostgreSQL did not answer" in lines["clock"].detail
    assert lines["wechat-oa"].status == "ok" and lines["content"].status == "ok"


# --- Redis ------------------------------------------------------------------------------------


async def test_redis_where_nothing_listens_fails_at_once(tmp_path: Path) -> None:
    settings = production(tmp_path, redis_url="redis://127.0.0.1:1/0", redis_timeout=0.2)
    [line] = await doctor_redis.check(settings)
    assert line.status == "fail" and "unreachable" in line.detail
    assert "DANGJIAN_REDIS_URL" in line.fix


def test_production_without_redis_warns_and_a_second_process_needs_it(tmp_path: Path) -> None:
    assert doctor_redis.without_redis(production(tmp_path)).status == "warn"
    split = doctor_redis.without_redis(production(tmp_path, scheduler=False))
    assert split.status == "fail" and "DANGJIAN_SCHEDULER=false" in split.detail
    assert doctor_redis.without_redis(Settings(_env_file=None)).status == "ok"


# --- clock, disk, content ---------------------------------------------------------------------


async def test_a_clock_a_minute_behind_wechats_fails(
    tmp_path: Path, wechat: tuple[FakeWeChat, str]
) -> None:
    _, base = wechat
    behind = FrozenClock(datetime.now(UTC) - timedelta(seconds=60))
    async with aiohttp.ClientSession() as session:
        [line] = await doctor_host.clock(production(tmp_path, base), session, behind, 5)
    assert line.status == "fail"
    # 60 s, give or take the Date header's whole seconds.
    assert re.fullmatch(
        r"this machine's clock is (59|60|61)\.\d s behind 127\.0\.0\.1:\d+'s", line.detail
    )
    assert "DANGJIAN_SIGNATURE_MAX_AGE (300 s)" in line.fix


async def test_a_clock_in_step_with_wechat_passes(
    tmp_path: Path, wechat: tuple[FakeWeChat, str]
) -> None:
    _, base = wechat
    async with aiohttp.ClientSession() as session:
        [line] = await doctor_host.clock(production(tmp_path, base), session, Clock(), 5)
    assert line.status == "ok" and "DANGJIAN_TZ=Asia/Shanghai (UTC+08:00" in line.detail


def test_little_disk_space_warns() -> None:
    gib = 1 << 30
    assert Space(free=500 * (1 << 20), total=2 * gib).low()  # under 1 GiB
    assert Space(free=5 * gib, total=100 * gib).low()  # under 10 %
    assert not Space(free=20 * gib, total=100 * gib).low()


async def test_the_data_folder_is_checked_for_space_and_writing(tmp_path: Path) -> None:
    [line] = await doctor_host.disk(production(tmp_path))
    assert line.status in ("ok", "warn")  # the machine's own free space decides which
    assert f"database {tmp_path}" in line.detail
    assert f"backups {tmp_path / 'backups'} (not made yet)" in line.detail


async def test_broken_study_content_fails_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "ours.md").write_text("no front matter at all\n", encoding="utf-8")
    settings = Settings(_env_file=None, content_dir=tmp_path / "units")
    [line] = await doctor_host.content(settings)
    assert line.status == "fail" and "ours.md" in line.detail
    assert "dangjian content check" in line.fix


# --- the output --------------------------------------------------------------------------------


async def test_a_check_that_hangs_is_cut_off_and_said() -> None:
    import asyncio

    async def hangs() -> list[Finding]:
        await asyncio.Event().wait()
        return []

    [line] = await bounded("redis", hangs(), 0.05)
    assert (line.status, line.detail) == ("fail", "timed out after 0.05 s")


def test_lines_are_aligned_and_the_summary_names_what_to_look_at() -> None:
    findings = [
        Finding("settings", "ok", "valid"),
        Finding("subscribe-template", "fail", "GONE is not listed", "add it"),
        Finding("metrics", "warn", "unset", "set it"),
    ]
    assert render(findings).splitlines() == [
        "settings            OK    valid",
        "subscribe-template  FAIL  GONE is not listed → add it",
        "metrics             WARN  unset → set it",
        "",
        "doctor: 1 OK, 1 WARN (metrics), 1 FAIL (subscribe-template) — must be fixed: exit 1",
    ]


async def test_the_standalone_fake_knows_the_accounts_it_is_given(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    """`dangjian fake-wechat --app APPID:SECRET`: the doctor's wrong secret is caught there too."""
    from server.cli import fake_accounts

    fake = FakeWeChat(appid_secrets=fake_accounts([f"{APPID}:{SECRET}"]))
    server = await aiohttp_server(create_fake_app(fake))
    base = str(server.make_url("")).rstrip("/")
    lines = await wechat_lines(production(tmp_path, base, wechat_secret="not-the-secret"))
    assert lines["wechat-oa"].status == "fail"
    assert lines["wechat-oa"].detail.startswith("40125: ")
    assert fake_accounts([]) is None  # no --app: any appid and secret
    with pytest.raises(ConfigError, match="APPID:SECRET"):
        fake_accounts(["wx-without-a-secret"])
