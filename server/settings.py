"""Configuration: read once at start-up from the environment (and ./.env), validated, immutable.

Nothing reads the environment at import time; `load_settings()` is called by the CLI and the
tests build `Settings(...)` directly.  A bad value raises `ConfigError` naming the variable.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.errors import ConfigError

# Used only in development mode, and logged loudly at start-up.  Public on purpose: the
# terminal chat and the newcomer's first run need to sign messages without any setup.
DEV_TOKEN = "dangjian-dev-token"
DEV_AES_KEY = "ZGFuZ2ppYW4tZGV2ZWxvcG1lbnQta2V5LTMyYnl0ZXM"
DEV_APPID = "wxdangjiandev0000"
DEV_SECRET = "dangjian-dev-secret"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_OAUTH_BASE = "https://open.weixin.qq.com"

_TOKEN_RE = re.compile(r"^[A-Za-z0-9]{3,32}$")
# Long enough not to be guessed, and what a Bearer header can carry as it is.
_METRICS_TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/=-]{16,200}$")
# A template's id as the console lists it (43 characters today; base64url letters).
_TEMPLATE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _env(name: str, default: Any = None, **kw: Any) -> Any:
    return Field(default, validation_alias=AliasChoices(name), **kw)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    env: Literal["development", "production"] = _env("DANGJIAN_ENV", "development")
    data_dir: Path = _env("DANGJIAN_DATA_DIR", Path("./data"))
    db_url: str | None = _env("DANGJIAN_DB_URL")
    # A branch's own study units, added to the shipped ones (study_content/units).
    content_dir: Path | None = _env("DANGJIAN_CONTENT_DIR")
    # Questions also matched by meaning (study_content/meaning.py, the `meaning` extra): more
    # questions put in members' own words are answered, at 12–60 ms more per question.
    qa_meaning: bool = _env("DANGJIAN_QA_MEANING", False)
    redis_url: str | None = _env("DANGJIAN_REDIS_URL")
    redis_prefix: str = _env("DANGJIAN_REDIS_PREFIX", "dangjian:")
    # Per process.  Too small a pool queues requests behind each other and stretches p99.
    db_pool_size: int = _env("DANGJIAN_DB_POOL_SIZE", 20, ge=1, le=500)
    redis_pool_size: int = _env("DANGJIAN_REDIS_POOL_SIZE", 200, ge=1, le=10_000)
    # One Redis command's wait, tried three times: a stalled Redis must fail a message well
    # inside WeChat's 5 s so it can answer with a retry status rather than be cut off.
    redis_timeout: float = _env("DANGJIAN_REDIS_TIMEOUT", 1.0, gt=0, le=1.2)
    host: str = _env("DANGJIAN_HOST", "127.0.0.1")
    port: int = _env("DANGJIAN_PORT", 8080, ge=1, le=65535)
    tz: str = _env("DANGJIAN_TZ", "Asia/Shanghai")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _env("DANGJIAN_LOG_LEVEL", "INFO")
    # WeChat gives up on a passive reply after 5 s; leave room for the network.
    reply_deadline: float = _env("DANGJIAN_REPLY_DEADLINE", 4.0, gt=0, le=4.8)
    max_body_bytes: int = _env("DANGJIAN_MAX_BODY_BYTES", 64 * 1024, ge=1024, le=1024 * 1024)
    signature_max_age: int = _env("DANGJIAN_SIGNATURE_MAX_AGE", 300, ge=10)
    bind_max_failures: int = _env("DANGJIAN_BIND_MAX_FAILURES", 5, ge=1, le=100)
    # Guessing spread over many WeChat accounts: failures against one member in a day lock that
    # member's guessable paths (and tell the secretary); failures by everyone in an hour stop
    # guessable binding for everyone until the hour is over.
    bind_target_max_failures: int = _env("DANGJIAN_BIND_TARGET_MAX_FAILURES", 5, ge=1, le=100)
    bind_global_max_failures: int = _env("DANGJIAN_BIND_GLOBAL_MAX_FAILURES", 200, ge=1, le=100_000)
    bind_code_ttl: int = _env("DANGJIAN_BIND_CODE_TTL", 86400, ge=300, le=7 * 86400)
    # 绑定 姓名 后四位, for plain 党员 only, where the committee allows it.  Unset: on unless
    # DANGJIAN_ENV=production (the demo's newcomers bind this way), off in production.
    bind_by_name: bool | None = _env("DANGJIAN_BIND_BY_NAME")
    conversation_timeout: int = _env("DANGJIAN_CONVERSATION_TIMEOUT", 600, ge=30)
    # How long a process may answer from its memory of who a WeChat user is (0: always ask
    # the database).  Binds clear it everywhere at once; this bounds other changes.
    identity_ttl: float = _env("DANGJIAN_IDENTITY_TTL", 30, ge=0, le=3600)
    # The REST API's bearer tokens and the dashboard's sign-in: how long a mini-program session
    # lasts, how long a one-time 后台 link stays usable, and how long a dashboard sign-in lasts.
    api_session_ttl: int = _env("DANGJIAN_API_SESSION_TTL", 7200, ge=60, le=30 * 86400)
    # Each API answer checked against its declared model (server/api/replies.py); a mismatch is
    # a 500 and a log line.  The test suite turns it on; it costs a validation per request.
    api_check_replies: bool = _env("DANGJIAN_API_CHECK_REPLIES", False)
    admin_link_ttl: int = _env("DANGJIAN_ADMIN_LINK_TTL", 600, ge=30, le=86400)
    admin_session_ttl: int = _env("DANGJIAN_ADMIN_SESSION_TTL", 8 * 3600, ge=300, le=7 * 86400)
    # Where members' browsers reach this server (links sent in chat); unset: http://HOST:PORT.
    public_url: str | None = _env("DANGJIAN_PUBLIC_URL")
    # Proxies (nginx) whose X-Forwarded-For / X-Real-IP name the caller: addresses or networks,
    # comma-separated.  Any other peer's headers are ignored (server/client_address.py).
    trusted_proxies: str = _env("DANGJIAN_TRUSTED_PROXIES", "127.0.0.1,::1")

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, v: str) -> str:
        from server.client_address import parse_networks

        parse_networks(v)
        return v

    # The 公众号 and 小程序 are bound to one WeChat open platform account, so user/info gives a
    # follower's unionid: an unbound follower already bound in the mini-program is linked.
    wechat_unionid: bool = _env("DANGJIAN_WECHAT_UNIONID", False)

    # Points (积分): the member's own encouragement, seen by nobody else, and never the rating
    # of a member — a star is the branch's decision at its 民主评议 (services/member_stars).
    # Off: none are awarded or shown anywhere, for the whole deployment.
    points: bool = _env("DANGJIAN_POINTS", True)
    # What each deed earns, and the most a member can earn in a day.  (DANGJIAN_STAR_THRESHOLDS,
    # which once made stars of points, is no longer read: an old .env that sets it still starts.)
    points_check_in: int = _env("DANGJIAN_POINTS_CHECK_IN", 1, ge=0, le=100)
    points_reading: int = _env("DANGJIAN_POINTS_READING", 2, ge=0, le=100)
    points_quiz_correct: int = _env("DANGJIAN_POINTS_QUIZ_CORRECT", 1, ge=0, le=100)
    points_submission: int = _env("DANGJIAN_POINTS_SUBMISSION", 5, ge=0, le=100)
    points_meeting: int = _env("DANGJIAN_POINTS_MEETING", 3, ge=0, le=100)
    points_daily_cap: int = _env("DANGJIAN_POINTS_DAILY_CAP", 10, ge=1, le=1000)

    # 心得: the share of a submission's phrases found in another submission or a study unit
    # at which it is flagged for the secretary as a near-copy (flagged, never rejected).
    copy_threshold: float = _env("DANGJIAN_COPY_THRESHOLD", 0.6, gt=0, le=1)

    # 双报到: what a reported member is expected to do in a year — at least this many services
    # completed, or this many hours; either one reached is enough.  Shown to the member as their
    # own progress and on the unit's 联系卡, never as a ranking.
    service_yearly_orders: int = _env("DANGJIAN_SERVICE_YEARLY_ORDERS", 2, ge=1, le=100)
    service_yearly_hours: float = _env("DANGJIAN_SERVICE_YEARLY_HOURS", 12.0, gt=0, le=1000)

    # 流动党员: how often the branch's 联系人 is reminded to get in touch with a member who moved
    # away (days; monthly by default) unless the branch set another cadence for that member.
    mobile_contact_days: int = _env("DANGJIAN_MOBILE_CONTACT_DAYS", 30, ge=7, le=366)

    # Personal information kept only for a while (services/privacy/retention.py): a resident's
    # details once their needs are closed, a sent message's text, expired one-time codes, a
    # 流入 or 报到 not confirmed — let go this many days after their use ended, every night.
    retention_days: int = _env("DANGJIAN_RETENTION_DAYS", 180, ge=30, le=3650)

    # 三会一课: how long a meeting lasts unless said otherwise, and the branch's own meeting types
    # beyond the standard ones (comma-separated; all active members are expected at them).
    meeting_minutes: int = _env("DANGJIAN_MEETING_MINUTES", 90, ge=15, le=600)
    extra_meeting_types: str = _env("DANGJIAN_EXTRA_MEETING_TYPES", "")
    # The sign-in code changes this often (seconds); the previous one is still accepted, so a
    # member reading it just before it turns over is not refused.
    signin_rotation: int = _env("DANGJIAN_SIGNIN_ROTATION", 300, ge=30, le=3600)
    # Notices: reminders before the start (d, h, m or s), how often the outbox is looked at,
    # and how fast it sends (0: no rate limit) with how many calls in flight.
    reminder_offsets: str = _env("DANGJIAN_REMINDER_OFFSETS", "1d,1h")
    # Compliance: 党课 at least once per month | quarter | half | year; the check that warns
    # each secretary of what is still owed runs on this day of every month, and the weekly
    # digest on Mondays, both at DANGJIAN_REPORT_TIME.
    lecture_every: Literal["month", "quarter", "half", "year"] = _env(
        "DANGJIAN_LECTURE_EVERY", "quarter"
    )
    compliance_day: int = _env("DANGJIAN_COMPLIANCE_DAY", 20, ge=1, le=28)
    report_time: str = _env("DANGJIAN_REPORT_TIME", "09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # Off: this process never runs the scheduled jobs (web-only processes beside a worker).
    scheduler: bool = _env("DANGJIAN_SCHEDULER", True)
    outbox_interval: float = _env("DANGJIAN_OUTBOX_INTERVAL", 10.0, gt=0, le=3600)
    notice_rate: float = _env("DANGJIAN_NOTICE_RATE", 0.0, ge=0)
    notice_concurrency: int = _env("DANGJIAN_NOTICE_CONCURRENCY", 20, ge=1, le=500)
    # The 四单制's messages (a need to the community, a new order to the members, an outcome to
    # a resident) due within these hours (DANGJIAN_TZ) wait for their end: HH:MM-HH:MM, across
    # midnight allowed; "off" sends at any hour.
    quiet_hours: str = _env("DANGJIAN_QUIET_HOURS", "22:00-07:00")
    # Templates: the mini-program's subscribe message and the official account's template
    # message for meeting notices, each with its fields as key=what (what: kind, topic, time,
    # place, note).  Unset template: that channel is skipped.
    subscribe_template: str | None = _env("WECHAT_SUBSCRIBE_TEMPLATE_MEETING")
    subscribe_fields: str = _env(
        "WECHAT_SUBSCRIBE_FIELDS", "thing1=topic,time2=time,thing3=place,thing4=note"
    )
    oa_template: str | None = _env("WECHAT_TEMPLATE_MEETING")
    oa_template_fields: str = _env(
        "WECHAT_TEMPLATE_FIELDS", "thing1=topic,time2=time,thing3=place,thing4=note"
    )
    # The official account's template message for the 四单制's messages, sent to a 公众号 user
    # whose 48-hour customer-service window is closed; its fields as key=what (what: title,
    # time, note).  Unset: customer-service messages only.
    service_template: str | None = _env("WECHAT_TEMPLATE_SERVICE")
    service_template_fields: str = _env(
        "WECHAT_TEMPLATE_SERVICE_FIELDS", "thing1=title,time2=time,thing3=note"
    )

    # Optional: questions answered by an OpenAI-compatible model from the retrieved passages.
    # Off unless a URL is set; any failure falls back to quoting the best passage.
    llm_url: str | None = _env("DANGJIAN_LLM_URL")
    llm_key: str | None = _env("DANGJIAN_LLM_KEY")
    llm_model: str = _env("DANGJIAN_LLM_MODEL", "qwen-plus")
    # Inside WeChat's 5-second reply window, with room for retrieval and the network.
    llm_timeout: float = _env("DANGJIAN_LLM_TIMEOUT", 3.0, gt=0, le=4.5)

    # What Prometheus and the operators' health checks send as `Authorization: Bearer …` for
    # /metrics and /healthz's details.  Unset: those stay closed; /healthz answers a bare "ok".
    metrics_token: str | None = _env("DANGJIAN_METRICS_TOKEN")

    wechat_token: str | None = _env("WECHAT_TOKEN")
    wechat_aes_key: str | None = _env("WECHAT_AES_KEY")
    wechat_aes_key_previous: str | None = _env("WECHAT_AES_KEY_PREVIOUS")
    # The console's 消息加解密方式.  Unset: safe when an EncodingAESKey is configured.  In
    # compat and safe mode a plaintext push is refused: its signature does not cover the body.
    wechat_encrypt_mode: Literal["plain", "compat", "safe"] | None = _env("WECHAT_ENCRYPT_MODE")
    wechat_appid: str | None = _env("WECHAT_APPID")
    wechat_secret: str | None = _env("WECHAT_SECRET")
    wechat_mp_appid: str | None = _env("WECHAT_MP_APPID")
    wechat_mp_secret: str | None = _env("WECHAT_MP_SECRET")
    wechat_api_base: str | None = _env("WECHAT_API_BASE")
    # Where WeChat's web-authorisation page is (网页授权, for signing in from a scanned QR in
    # WeChat's browser).  Unset: https://open.weixin.qq.com; in development, the fake WeChat.
    wechat_oauth_base: str | None = _env("WECHAT_OAUTH_BASE")

    @field_validator("db_url")
    @classmethod
    def _db_scheme(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not re.match(r"^(sqlite|postgres|postgresql|asyncpg)://", v):
            raise ValueError("expected sqlite://PATH or postgres://USER@HOST:PORT/DB")
        if v.startswith("sqlite://"):
            if v == "sqlite://":
                raise ValueError("expected a file path after sqlite://")
            return v
        parts = urlsplit(v)
        if not parts.hostname or parts.path.strip("/") == "":
            raise ValueError(
                "a PostgreSQL URL needs a host and a database: postgres://USER@HOST/DB"
            )
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not re.match(r"^(redis|rediss|unix)://", v):
            raise ValueError("expected redis://HOST:PORT/DB, or unset for the in-process cache")
        db = urlsplit(v).path.strip("/")
        if v.startswith("redis") and db and not db.isdigit():
            raise ValueError(f"the database after the host must be a number, not {db!r}")
        return v

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.\-]+|\[?[0-9A-Fa-f:.]+\]?", v):
            raise ValueError("expected an IP address or a host name, such as 127.0.0.1")
        return v.strip("[]")

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("expected an IANA time zone such as Asia/Shanghai") from exc
        return v

    @field_validator("wechat_token")
    @classmethod
    def _token(cls, v: str | None) -> str | None:
        if v and not _TOKEN_RE.match(v):
            raise ValueError("expected 3-32 letters or digits, as in the WeChat console")
        return v or None

    @field_validator("wechat_aes_key", "wechat_aes_key_previous")
    @classmethod
    def _aes_key(cls, v: str | None) -> str | None:
        if not v:
            return None
        if len(v) != 43:
            raise ValueError("expected the 43-character EncodingAESKey from the WeChat console")
        try:
            raw = base64.b64decode(v + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("expected base64 characters (A-Z, a-z, 0-9, +, /)") from exc
        if len(raw) != 32:
            raise ValueError("does not decode to a 32-byte AES key")
        return v

    @field_validator("wechat_api_base", "wechat_oauth_base")
    @classmethod
    def _api_base(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("expected an http(s) URL such as https://api.weixin.qq.com")
        return v.rstrip("/")

    @field_validator("extra_meeting_types")
    @classmethod
    def _meeting_types(cls, v: str) -> str:
        names = [n.strip() for n in re.split(r"[,，、]", v) if n.strip()]
        if any(len(n) > 20 or " " in n for n in names):
            raise ValueError("each meeting type is one word of at most 20 characters")
        return ",".join(names)

    @property
    def reminder_schedule(self) -> list[tuple[str, int]]:
        """DANGJIAN_REMINDER_OFFSETS read once into (label, seconds before the start) pairs."""
        return parse_offsets(self.reminder_offsets)

    @field_validator("reminder_offsets")
    @classmethod
    def _offsets(cls, v: str) -> str:
        parse_offsets(v)
        return v

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        """DANGJIAN_QUIET_HOURS as (start, end) local times; None when off."""
        return parse_quiet_hours(self.quiet_hours)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        parse_quiet_hours(v)
        return v.strip()

    @field_validator("subscribe_fields", "oa_template_fields")
    @classmethod
    def _fields(cls, v: str) -> str:
        parse_fields(v)
        return v

    @field_validator("service_template")
    @classmethod
    def _service_template(cls, v: str | None) -> str | None:
        v = (v or "").strip()
        if not v:
            return None
        if not _TEMPLATE_ID_RE.match(v):
            raise ValueError("expected a template id as the console lists it (letters, digits, -_)")
        return v

    @field_validator("service_template_fields")
    @classmethod
    def _service_fields(cls, v: str) -> str:
        if not parse_fields(v, SERVICE_FIELD_SOURCES):
            raise ValueError("expected at least one key=what, such as thing1=title")
        return v

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("expected this server's address, such as https://dj.example.gov.cn")
        return v.rstrip("/")

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not _METRICS_TOKEN_RE.match(v):
            raise ValueError("expected 16 to 200 letters, digits or -._~+/= (no spaces)")
        return v

    @field_validator("llm_url")
    @classmethod
    def _llm_url(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("expected the endpoint's base URL, such as https://api.example.com/v1")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _encrypted_modes_need_a_key(self) -> Settings:
        if self.wechat_encrypt_mode in ("compat", "safe") and not self.wechat_aes_key:
            raise ValueError(f"WECHAT_ENCRYPT_MODE={self.wechat_encrypt_mode} needs WECHAT_AES_KEY")
        return self

    @model_validator(mode="after")
    def _production_needs_wechat(self) -> Settings:
        if self.env == "production":
            missing = [
                name
                for name, value in (
                    ("WECHAT_TOKEN", self.wechat_token),
                    ("WECHAT_APPID", self.wechat_appid),
                    ("WECHAT_SECRET", self.wechat_secret),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"{', '.join(missing)} is required when DANGJIAN_ENV=production")
        return self

    @model_validator(mode="after")
    def _production_data_where_it_is(self) -> Settings:
        """A relative data folder is relative to wherever a command happens to be run: in
        production the same command from another folder would find (or make) another database."""
        if self.env != "production":
            return self
        if self.db_url is None and not self.data_dir.is_absolute():
            raise ValueError(
                f"DANGJIAN_DATA_DIR={self.data_dir} must be an absolute path when "
                "DANGJIAN_ENV=production (e.g. /var/lib/dangjian)"
            )
        if self.db_url and self.db_url.startswith("sqlite://"):
            path = self.db_url.removeprefix("sqlite://")
            if path != ":memory:" and not path.startswith("/"):
                raise ValueError(
                    "DANGJIAN_DB_URL must name an absolute SQLite path when DANGJIAN_ENV=production"
                    " (sqlite:///var/lib/dangjian/dangjian.sqlite3)"
                )
        return self

    # -- derived values (no I/O) -------------------------------------------------------------

    @property
    def name_binding(self) -> bool:
        """Whether 绑定 姓名 后四位 is allowed at all (still only for plain 党员)."""
        if self.bind_by_name is not None:
            return self.bind_by_name
        return self.env != "production"

    @property
    def development(self) -> bool:
        """True when WeChat settings were left out: the server signs with public dev secrets."""
        return self.env != "production" and not self.wechat_token

    @property
    def token(self) -> str:
        return self.wechat_token or DEV_TOKEN

    @property
    def aes_keys(self) -> list[str]:
        """Current key first; the previous one is tried when decryption with it fails."""
        current = self.wechat_aes_key or (DEV_AES_KEY if self.development else None)
        return [k for k in (current, self.wechat_aes_key_previous) if k]

    @property
    def encrypt_mode(self) -> str:
        if self.wechat_encrypt_mode:
            return self.wechat_encrypt_mode
        return "safe" if self.wechat_aes_key else "plain"

    @property
    def plaintext_allowed(self) -> bool:
        return self.encrypt_mode == "plain"

    @property
    def appid(self) -> str:
        return self.wechat_appid or DEV_APPID

    @property
    def secret(self) -> str:
        return self.wechat_secret or DEV_SECRET

    @property
    def mp_appid(self) -> str:
        return self.wechat_mp_appid or self.appid

    @property
    def mp_secret(self) -> str:
        return self.wechat_mp_secret or self.secret

    @property
    def embedded_fake_wechat(self) -> bool:
        """With no API base in development, the fake WeChat API is mounted on this server."""
        return self.development and not self.wechat_api_base

    @property
    def api_base(self) -> str:
        if self.wechat_api_base:
            return self.wechat_api_base
        if self.embedded_fake_wechat:
            return f"http://{self.host}:{self.port}/fake-wechat"
        return DEFAULT_API_BASE

    @property
    def oauth_base(self) -> str:
        if self.wechat_oauth_base:
            return self.wechat_oauth_base
        if self.development:
            return self.api_base  # the fake WeChat serves the authorize page too
        return DEFAULT_OAUTH_BASE

    @property
    def base_url(self) -> str:
        """This server as members' browsers reach it, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite://{(self.data_dir / 'dangjian.sqlite3').as_posix()}"

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file the database lives in (None: PostgreSQL, or in memory)."""
        url = self.database_url
        if not url.startswith("sqlite://") or url.endswith(":memory:"):
            return None
        return Path(url.removeprefix("sqlite://"))

    @property
    def is_postgres(self) -> bool:
        return not self.database_url.startswith("sqlite://")

    @property
    def content_folders(self) -> list[Path]:
        from study_content.corpus import SHIPPED

        return [SHIPPED, self.content_dir] if self.content_dir else [SHIPPED]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


_OFFSET = re.compile(r"^(\d+)([dhms])$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
FIELD_SOURCES = frozenset({"kind", "topic", "time", "place", "note"})
# What a 四单制 message can put in a template field (`community.outbox.Gist`).
SERVICE_FIELD_SOURCES = frozenset({"title", "time", "note"})


def parse_offsets(value: str) -> list[tuple[str, int]]:
    """`1d,1h,30m,90s` as (label, seconds) pairs, largest first."""
    found = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        matched = _OFFSET.match(part)
        if not matched or int(matched.group(1)) == 0:
            raise ValueError(f"{part!r} is not an offset such as 1d, 1h, 30m or 90s")
        found.append((part, int(matched.group(1)) * _UNIT_SECONDS[matched.group(2)]))
    return sorted(set(found), key=lambda item: -item[1])


_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\s*[-–~]\s*([01]\d|2[0-3]):([0-5]\d)$")


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """`22:00-07:00` as (22:00, 07:00); `off` (or nothing) as None."""
    value = value.strip()
    if value.lower() in ("", "off", "none", "0"):
        return None
    matched = _QUIET.match(value)
    if not matched:
        raise ValueError("expected HH:MM-HH:MM such as 22:00-07:00, or off")
    h1, m1, h2, m2 = (int(g) for g in matched.groups())
    if (h1, m1) == (h2, m2):
        raise ValueError("the quiet hours start and end at the same minute; use off for none")
    return time(h1, m1), time(h2, m2)


def parse_fields(value: str, sources: frozenset[str] = FIELD_SOURCES) -> dict[str, str]:
    """`thing1=topic,time2=time` as {template key: what goes there}, each what one of `sources`."""
    mapping = {}
    for part in (p.strip() for p in value.split(",") if p.strip()):
        key, _, source = part.partition("=")
        if not re.match(r"^[a-z_]+\d+$", key.strip()) or source.strip() not in sources:
            raise ValueError(
                f"{part!r}: expected key=what, what one of {', '.join(sorted(sources))}"
            )
        mapping[key.strip()] = source.strip()
    return mapping


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment; turn pydantic's report into one readable error."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    except UnicodeDecodeError:
        raise ConfigError(".env: the file is not UTF-8 text") from None


def format_validation_error(exc: ValidationError) -> str:
    lines = ["invalid configuration:"]
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "configuration"
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        secret = any(word in name for word in ("SECRET", "KEY", "TOKEN"))
        shown = f" (got {value!r})" if isinstance(value, str | int) and not secret else ""
        lines.append(f"  {name}: {msg}{shown}")
    return "\n".join(lines)
