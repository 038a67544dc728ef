"""The README's promise: start on the demo street, bind as a demo member, see the help menu."""

from __future__ import annotations

import io
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.chat_cli import ChatOptions, run_chat
from server.cli import main
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.models.people import Role
from server.models.study import PointsEntry
from server.services.demo.street import seed_demo
from server.settings import Settings
from tests.demo_street import DAY, NOW, seeded_street
from tests.wechat_peer import WeChatPeer, openid_for


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
    assert "绑定 绑定码" in transcript  # the unbound menu first
    assert secretary.bind_line == f"绑定 {secretary.code}"  # leadership binds by code
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
    assert re.search(r"dangjian admin-link 1700000\d{4}\s+党工委工作人员", out)


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


async def test_a_newcomer_on_the_lived_in_street_makes_a_first_check_in(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> None:
    """`serve --demo` on Thursday evening: eight weeks of activity, and a sixth of the street
    has checked in today.  A newcomer binds as the member printed for them: their first 打卡
    is a first, and 我的 adds up; bound as the printed secretary, there are 心得 waiting."""
    url, street, _ = seeded_street(tmp_path / "street.sqlite3")
    clock = FrozenClock(NOW)
    settings = make_settings(identity_ttl=0, db_url=url)
    client = await aiohttp_client(create_app(settings, clock=clock))
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    member = next(s for s in street.sample_members if s.role is Role.MEMBER)
    newcomer = openid_for("newcomer")

    assert "绑定成功" in ((await peer.say(client, newcomer, member.bind_line)).text or "")
    first = (await peer.say(client, newcomer, "打卡")).text or ""
    assert "打卡成功" in first and "已经打过卡" not in first
    mine = (await peer.say(client, newcomer, "我的")).text or ""
    earned = sum(
        await PointsEntry.filter(
            member__phone=member.phone, day__gte=DAY.replace(day=1), day__lte=DAY
        ).values_list("points", flat=True)
    )
    assert f"本月 {earned} 分" in mine

    secretary = next(s for s in street.sample_members if s.role is Role.SECRETARY)
    boss = openid_for("newcomer-secretary")
    assert "绑定成功" in ((await peer.say(client, boss, secretary.bind_line)).text or "")
    assert "打卡成功" in ((await peer.say(client, boss, "打卡")).text or "")
    assert "待审核的心得共" in ((await peer.say(client, boss, "审核")).text or "")
