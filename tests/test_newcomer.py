"""The README's promise: start on the demo street, bind as a demo member, see the help menu."""

from __future__ import annotations

import io
import socket
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.chat_cli import ChatOptions, run_chat
from server.cli import main
from server.db import close_database, open_database
from server.services.demo import seed_demo
from server.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def demo_server(aiohttp_server: Any, tmp_path: Path) -> tuple[Settings, Any]:
    """A development-mode server (no WeChat settings at all) on the seeded demo street."""
    port = _free_port()
    settings = Settings(_env_file=None, data_dir=tmp_path, port=port)
    assert settings.development and settings.embedded_fake_wechat
    await open_database(settings.database_url)
    report = await seed_demo()
    await close_database()
    server = await aiohttp_server(create_app(settings), port=port)
    return settings, (server, report)


async def _chat(
    settings: Settings, lines: list[str], *, encrypt: bool = False, user: str = "newcomer"
) -> str:
    out = io.StringIO()
    options = ChatOptions(
        server=f"http://127.0.0.1:{settings.port}",
        api_base=f"http://127.0.0.1:{settings.port}/fake-wechat",
        user=user,
        token=settings.token,
        aes_key=settings.aes_keys[0],
        appid=settings.appid,
        encrypt=encrypt,
        script=lines,
        wait_seconds=2,
    )
    assert await run_chat(options, stdout=out) == 0, out.getvalue()
    return out.getvalue()


async def test_newcomer_binds_as_a_demo_member_and_sees_the_menu(demo_server: Any) -> None:
    settings, (_, report) = demo_server
    secretary = next(m for m in report.sample_members if m.role.value == "支部书记")
    transcript = await _chat(settings, ["帮助", secretary.bind_line, "帮助"])
    assert "绑定 姓名 手机号后四位" in transcript  # the unbound menu first
    assert "绑定成功" in transcript and secretary.name in transcript
    assert f"{secretary.name}同志，您可以发送" in transcript
    assert secretary.phone not in transcript  # only ever the masked number


async def test_the_same_works_in_safe_mode(demo_server: Any) -> None:
    settings, (_, report) = demo_server
    member = report.sample_members[2]
    transcript = await _chat(
        settings, [member.bind_line, "我的身份"], encrypt=True, user="safe-mode-user"
    )
    assert "绑定成功" in transcript and "您绑定的党员信息" in transcript


def test_seed_demo_command_prints_bind_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    assert main(["seed-demo", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "1231" in out and "绑定 " in out


def test_import_members_command_exits_nonzero_on_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "姓名,手机号,性别,出生日期,学历,入党日期,所在组织,党小组,职务\n"
        "张三,13800001234,男,1980-01-02,本科,2005-07-01,示范街道党工委/第一支部,,党员\n"
        "李四,12345,女,1990-01-02,大专,2015-07-01,示范街道党工委/第一支部,,党员\n",
        encoding="utf-8",
    )
    assert main(["import-members", str(roster)]) == 1
    out = capsys.readouterr().out
    assert "3" in out and "手机号" in out  # line 3, the phone column
    assert main(["import-members", str(roster), "--dry-run"]) == 1


@pytest.mark.parametrize(("name", "content"), [("roster.txt", "x"), ("roster.csv", "")])
def test_import_members_refuses_an_unusable_file_clearly(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DANGJIAN_DATA_DIR", str(tmp_path))
    (tmp_path / name).write_text(content)
    assert main(["import-members", str(tmp_path / name)]) == 1
    err = capsys.readouterr().err
    assert "\ndangjian: " in "\n" + err and "Traceback" not in err
