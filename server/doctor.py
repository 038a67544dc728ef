"""`dangjian doctor`: a deployment's configuration checked end to end, without changing anything.

Each check returns findings — a name, ok / warn / fail, what was found and what to do — and
prints nothing (server/cli_doctor.py renders them).  Every check runs under its own timeout, so
a stalled PostgreSQL or Redis is reported as "timed out after N s" instead of hanging the rest.
The database is only read (SQLite opened read-only, PostgreSQL in read-only transactions); the
WeChat access token is fetched with `stable_token` in normal mode, which never invalidates the
token the running servers hold.

The checks themselves live beside this module, one per resource: doctor_database.py (the
database, its schema and roster), doctor_redis.py, doctor_wechat.py (credentials and templates),
doctor_host.py (clock, disk, study content).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Literal

import aiohttp

from server.cache import MemoryCache
from server.clock import Clock
from server.errors import ConfigError
from server.settings import Settings, load_settings

Status = Literal["ok", "warn", "fail"]
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Finding:
    name: str
    status: Status
    detail: str
    fix: str = ""  # what to do; empty when there is nothing to do

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def ok(name: str, detail: str) -> Finding:
    return Finding(name, "ok", detail)


def warn(name: str, detail: str, fix: str = "") -> Finding:
    return Finding(name, "warn", detail, fix)


def fail(name: str, detail: str, fix: str = "") -> Finding:
    return Finding(name, "fail", detail, fix)


def failed(findings: list[Finding]) -> bool:
    """Whether anything must be fixed (warnings alone do not count)."""
    return any(f.status == "fail" for f in findings)


# What a timed-out check most likely means, by the name of its first line.
STALLED = {
    "database": "is the database server up and answering? (DANGJIAN_DB_URL)",
    "redis": "is Redis up and answering, or stalled? (DANGJIAN_REDIS_URL)",
    "wechat-oa": "can this server reach WECHAT_API_BASE? (firewall, proxy, DNS)",
    "clock": "the database or WECHAT_API_BASE did not answer in time",
    "disk": "is the data folder on a network mount that hangs? (DANGJIAN_DATA_DIR)",
    "content": "is DANGJIAN_CONTENT_DIR on a network mount that hangs?",
}


async def bounded(name: str, check: Awaitable[list[Finding]], seconds: float) -> list[Finding]:
    """The check's findings, or one failure saying it timed out (the others go on)."""
    try:
        async with asyncio.timeout(seconds):
            return await check
    except TimeoutError:
        return [fail(name, f"timed out after {seconds:g} s", STALLED.get(name, ""))]


def settings_findings(settings: Settings) -> list[Finding]:
    """What the configuration says, before anything is reached: production's must-haves."""
    production = settings.env == "production"
    found: list[Finding] = []
    if settings.development:
        if settings.host not in ("127.0.0.1", "localhost", "::1"):
            found.append(
                fail(
                    "settings",
                    f"development mode listening on {settings.host}: anyone who can reach it "
                    "can sign messages with the public development token",
                    "set WECHAT_TOKEN (and DANGJIAN_ENV=production), or DANGJIAN_HOST=127.0.0.1",
                )
            )
        else:
            found.append(
                warn(
                    "settings",
                    "development mode: the public development token and AES key, not for "
                    "production",
                    "set DANGJIAN_ENV=production with WECHAT_TOKEN, WECHAT_AES_KEY, "
                    "WECHAT_APPID, WECHAT_SECRET",
                )
            )
    elif not production:
        found.append(
            warn(
                "settings",
                "DANGJIAN_ENV=development with a real WECHAT_TOKEN: production's checks "
                "(absolute data folder, name binding off) are not applied",
                "set DANGJIAN_ENV=production on the servers",
            )
        )
    else:
        found.append(ok("settings", f"valid; DANGJIAN_ENV=production, data in {settings.data_dir}"))
    if not production:
        return found
    found.append(_public_url(settings))
    if settings.metrics_token:
        found.append(ok("metrics", "DANGJIAN_METRICS_TOKEN set: Prometheus can read /metrics"))
    else:
        found.append(
            warn(
                "metrics",
                "DANGJIAN_METRICS_TOKEN unset: /metrics and /healthz's details stay closed",
                "set DANGJIAN_METRICS_TOKEN (16+ characters) and give it to Prometheus",
            )
        )
    if settings.plaintext_allowed:
        found.append(
            warn(
                "encryption",
                "plaintext mode (no WECHAT_AES_KEY): members' openids are in the proxy's logs",
                "set WECHAT_AES_KEY and choose 安全模式 in the console",
            )
        )
    else:
        rotation = (
            "; the previous key kept for rotation" if settings.wechat_aes_key_previous else ""
        )
        found.append(ok("encryption", f"{settings.encrypt_mode} mode{rotation}"))
    return found


def _public_url(settings: Settings) -> Finding:
    if not settings.public_url:
        return fail(
            "public-url",
            f"DANGJIAN_PUBLIC_URL unset: the links sent in chat (后台, admin-link) would point "
            f"at {settings.base_url}",
            "set DANGJIAN_PUBLIC_URL to the address members' browsers reach, https://…",
        )
    if not settings.public_url.startswith("https://"):
        return warn(
            "public-url",
            f"{settings.public_url} is not https: the dashboard's cookie is not Secure",
            "serve through the HTTPS proxy and set DANGJIAN_PUBLIC_URL=https://…",
        )
    return ok("public-url", settings.public_url)


async def examine(
    settings: Settings | None = None,
    *,
    seconds: float = DEFAULT_TIMEOUT,
    clock: Clock | None = None,
    load: Callable[[], Settings] = load_settings,
) -> list[Finding]:
    """Every check's findings, in a fixed order, each check given `seconds` at most.
    `settings` None: load them here, so a configuration that does not load is reported too."""
    from server import doctor_database, doctor_host, doctor_redis, doctor_wechat

    if settings is None:
        try:
            settings = load()
        except ConfigError as exc:
            head, *named = [line.strip() for line in str(exc).splitlines() if line.strip()]
            detail = f"{head} {'; '.join(named)}" if named else head
            return [fail("settings", detail, "correct the variables named")]
    clock = clock or Clock(settings.zone)
    async with aiohttp.ClientSession() as session:
        wechat = doctor_wechat.Apps(settings, session, MemoryCache(clock), clock, seconds)
        groups = await asyncio.gather(
            bounded("database", doctor_database.check(settings, seconds), seconds),
            bounded("redis", doctor_redis.check(settings), seconds),
            doctor_wechat.check(wechat, seconds),
            bounded("clock", doctor_host.clock(settings, session, clock, seconds), seconds),
            bounded("disk", doctor_host.disk(settings), seconds),
            bounded("content", doctor_host.content(settings), seconds),
        )
    return settings_findings(settings) + [f for group in groups for f in group]
