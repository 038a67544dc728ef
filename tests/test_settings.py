"""Configuration is validated once at start-up, and a bad value names its variable."""

from __future__ import annotations

import pytest

from server.cli import main
from server.errors import ConfigError
from server.settings import DEV_TOKEN, SERVICE_FIELD_SOURCES, load_settings, parse_fields


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in (
        "DANGJIAN_ENV",
        "WECHAT_TOKEN",
        "WECHAT_AES_KEY",
        "WECHAT_APPID",
        "WECHAT_SECRET",
        "DANGJIAN_DB_URL",
        "DANGJIAN_REDIS_URL",
        "WECHAT_API_BASE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_start_in_development_mode() -> None:
    s = load_settings()
    assert s.development and s.token == DEV_TOKEN
    assert s.database_url.endswith("data/dangjian.sqlite3")
    assert s.redis_url is None and s.port == 8080 and s.tz == "Asia/Shanghai"
    assert s.embedded_fake_wechat and s.api_base == "http://127.0.0.1:8080/fake-wechat"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DANGJIAN_PORT", "eighty", "DANGJIAN_PORT"),
        ("DANGJIAN_PORT", "70000", "DANGJIAN_PORT"),
        ("DANGJIAN_TZ", "Mars/Olympus", "DANGJIAN_TZ"),
        ("DANGJIAN_DB_URL", "mysql://x", "DANGJIAN_DB_URL"),
        ("DANGJIAN_REDIS_URL", "localhost:6379", "DANGJIAN_REDIS_URL"),
        ("WECHAT_AES_KEY", "short", "WECHAT_AES_KEY"),
        ("WECHAT_TOKEN", "has spaces!", "WECHAT_TOKEN"),
        ("WECHAT_API_BASE", "ftp://x", "WECHAT_API_BASE"),
        ("DANGJIAN_ENV", "staging", "DANGJIAN_ENV"),
        ("DANGJIAN_METRICS_TOKEN", "short", "DANGJIAN_METRICS_TOKEN"),
        ("DANGJIAN_METRICS_TOKEN", "a token with spaces in it", "DANGJIAN_METRICS_TOKEN"),
        ("WECHAT_TEMPLATE_SERVICE", "a template id", "WECHAT_TEMPLATE_SERVICE"),
        ("WECHAT_TEMPLATE_SERVICE_FIELDS", "thing1=topic", "WECHAT_TEMPLATE_SERVICE_FIELDS"),
        ("WECHAT_TEMPLATE_SERVICE_FIELDS", "thing=title", "WECHAT_TEMPLATE_SERVICE_FIELDS"),
        ("WECHAT_TEMPLATE_SERVICE_FIELDS", " , ", "WECHAT_TEMPLATE_SERVICE_FIELDS"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert expected in str(err.value)


def test_the_service_template_is_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WECHAT_TEMPLATE_SERVICE", raising=False)
    monkeypatch.delenv("WECHAT_TEMPLATE_SERVICE_FIELDS", raising=False)
    s = load_settings()
    assert s.service_template is None
    assert s.service_template_fields == "thing1=title,time2=time,thing3=note"
    monkeypatch.setenv("WECHAT_TEMPLATE_SERVICE", " ")
    assert load_settings().service_template is None
    monkeypatch.setenv("WECHAT_TEMPLATE_SERVICE", "Zp1_x-2ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27")
    monkeypatch.setenv("WECHAT_TEMPLATE_SERVICE_FIELDS", "phrase1=title, time3=time")
    s = load_settings()
    assert s.service_template == "Zp1_x-2ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27"
    assert parse_fields(s.service_template_fields, SERVICE_FIELD_SOURCES) == {
        "phrase1": "title",
        "time3": "time",
    }


def test_secrets_are_not_echoed_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECHAT_AES_KEY", "S3cr3t-but-wrong-length")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "S3cr3t" not in str(err.value)


def test_production_requires_the_wechat_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANGJIAN_ENV", "production")
    monkeypatch.setenv("WECHAT_TOKEN", "abc123")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "WECHAT_APPID" in str(err.value) and "WECHAT_SECRET" in str(err.value)


def test_production_with_everything_is_not_development(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DANGJIAN_ENV": "production",
        "WECHAT_TOKEN": "abc123",
        "WECHAT_APPID": "wx1",
        "WECHAT_SECRET": "s",
        "DANGJIAN_DATA_DIR": "/var/lib/dangjian",
    }.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert not s.development and s.api_base == "https://api.weixin.qq.com"


@pytest.mark.parametrize(
    ("name", "value"),
    [("DANGJIAN_DATA_DIR", "data"), ("DANGJIAN_DB_URL", "sqlite://data/dangjian.sqlite3")],
)
def test_production_data_in_a_relative_place_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """Relative to wherever a command is run, another folder would mean another database."""
    for key, given in {
        "DANGJIAN_ENV": "production",
        "WECHAT_TOKEN": "abc123",
        "WECHAT_APPID": "wx1",
        "WECHAT_SECRET": "s",
        name: value,
    }.items():
        monkeypatch.setenv(key, given)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_dotenv_file_in_the_working_directory_is_read(tmp_path) -> None:
    (tmp_path / ".env").write_text("DANGJIAN_PORT=9090\nDANGJIAN_TZ=Asia/Urumqi\n")
    s = load_settings()
    assert s.port == 9090 and s.tz == "Asia/Urumqi"


def test_the_cli_refuses_to_start_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DANGJIAN_PORT", "eighty")
    assert main(["migrate"]) == 2
    assert "DANGJIAN_PORT" in capsys.readouterr().err
