"""Webhook benchmark: signed `帮助` pushes through the full pipeline against a bare echo baseline.

    python bench/webhook.py [--backends postgres,sqlite] [--processes 1,2,4] [--proxy nginx|none]
                            [--dataset district|none] [--streets 15] [--mode plain|compat|safe]
                            [--messages 3000 | --duration SECONDS] [--concurrency 50]
                            [--rounds 3] [--profile DIR]

Every server runs in a process of its own, so the load generator never shares its event loop.
For each number of processes in `--processes`, that many servers of each kind sit behind a
private nginx (`fleet.py`: plain HTTP on loopback ports, keep-alive to the upstreams).  All of
them start first, get a warm-up, then are measured in interleaved rounds (every target sees the
same background load) and reported as medians:

* baseline: a bare aiohttp + wechatpy server defined in this file (`--baseline-server PORT`):
  signature check (SHA-1, constant-time compare), wechatpy's `parse_message`, a wechatpy
  `TextReply` echo.  No database, no cache, no de-duplication.  As many processes as the
  pipeline, behind the same nginx, so the ratio isolates the pipeline's own cost.
* postgres: `python -m server serve` on a fresh PostgreSQL database `dangjian_bench_<hex>`
  (created and dropped here) holding the district of `district.py` — 18,465 members, each bound
  to an openid the pushes come from, and a year of activity — and a private redis-server; the
  first process runs the scheduler, the others DANGJIAN_SCHEDULER=false.
* sqlite: one `python -m server serve` on a SQLite file in a temporary directory and the
  in-process cache, pushes from `--openids` unbound senders.

While each target is measured, the CPU of its servers, nginx, the database's PostgreSQL
backends, Redis and this process (the load generator) is read from /proc, and their memory
(VmRSS) sampled; printed as shares of a core, CPU per message and peak RSS, with what 4 and 8
cores should give.  Outbound WeChat calls of the pipeline go to `python -m server fake-wechat`.
All traffic stays on 127.0.0.1.  The exit status is 0 whether or not the targets are met (this
is a measurement); 1 when any request failed or a server could not be started; 130/143 when
interrupted (SIGINT/SIGTERM), after stopping the servers and removing the database.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import math
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
import xmltodict
from aiohttp import web
from yarl import URL

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"wechatpy\..*")

from wechatpy import parse_message  # noqa: E402 - after the warning filter
from wechatpy.crypto import PrpCrypto, WeChatCrypto  # noqa: E402
from wechatpy.replies import TextReply  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import district  # noqa: E402 - bench/ is not a package: sibling modules
import fleet  # noqa: E402
from fleet import cpu_seconds, free_port  # noqa: E402, F401 - the other scripts use them here

Mode = Literal["plain", "compat", "safe"]

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
TO_USER = "gh_bench_account"
CONTENT = "帮助"

MIN_RATIO = 0.6  # of the baseline's messages/s
MAX_P99_MS = 50.0
# Every server the bench starts is given it, and asked for /healthz's details with it.
METRICS_TOKEN = "bench-metrics-token-0123456789"
OPERATOR = {"Authorization": f"Bearer {METRICS_TOKEN}"}
SIGNATURE_MAX_AGE = 300  # the server's default DANGJIAN_SIGNATURE_MAX_AGE
STARTUP_TIMEOUT = 60.0  # seconds for a server to answer /healthz (migrations included)
REQUEST_TIMEOUT = 10.0
PHASE_TIMEOUT = 90.0  # no new requests after this long in one measured phase
DURATION_RATE_CAP = 6000  # pushes pre-built per second of --duration
BACKEND_NAMES = {"sqlite": "sqlite", "postgres": "postgres+redis"}
# DANGJIAN_DB_POOL_SIZE of each pipeline process: four of them stay within PostgreSQL's default
# 100 connections, with room for whatever else uses the server.
DB_POOL = 15

_msg_ids = itertools.count(8_100_000_000_000_000_001)


# -- WeChat's side: building pushes, reading replies -----------------------------------------


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def openid_for(i: int) -> str:
    return ("o" + hashlib.sha256(f"bench-user-{i}".encode()).hexdigest())[:28]


def new_aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()[:43]


@dataclass(frozen=True)
class Push:
    url: URL
    body: bytes
    openid: str


@dataclass
class WeChatSide:
    """Plays WeChat: signs (and encrypts, with wechatpy) pushes and checks the replies."""

    token: str
    aes_key: str
    appid: str
    mode: Mode
    crypto: WeChatCrypto = field(init=False)

    def __post_init__(self) -> None:
        self.crypto = WeChatCrypto(self.token, self.aes_key, self.appid)

    def push(self, port: int, openid: str, content: str = CONTENT) -> Push:
        """One text push with a unique MsgId and a fresh timestamp, nonce and signature."""
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(8)
        plain = (
            f"<xml><ToUserName><![CDATA[{TO_USER}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{next(_msg_ids)}</MsgId></xml>"
        )
        query = {
            "signature": sign(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": openid,
        }
        body = plain
        if self.mode != "plain":
            envelope = self.crypto.encrypt_message(plain, nonce, timestamp)
            encrypted = xmltodict.parse(envelope)["xml"]["Encrypt"]
            query["encrypt_type"] = "aes"
            query["msg_signature"] = sign(self.token, timestamp, nonce, encrypted)
            cipher_field = f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            if self.mode == "safe":
                body = f"<xml><ToUserName><![CDATA[{TO_USER}]]></ToUserName>{cipher_field}</xml>"
            else:  # compatible: plaintext fields and the ciphertext side by side
                body = plain.replace("</xml>", cipher_field + "</xml>")
        url = URL.build(scheme="http", host=HOST, port=port, path="/wechat", query=query)
        return Push(url=url, body=body.encode("utf-8"), openid=openid)

    def problem(self, status: int, body: bytes, openid: str) -> str | None:
        """Why this response is not a text reply to `openid`; None when it is one."""
        if status != 200:
            return f"HTTP {status}: {body[:120]!r}"
        if not body.lstrip().startswith(b"<xml"):
            return f"not a text reply: {body[:120]!r}"
        try:
            fields = xmltodict.parse(body.decode("utf-8"))["xml"]
            if self.mode == "safe":
                if "Encrypt" not in fields:
                    return "safe mode but the reply is not encrypted"
                plain = self.crypto.decrypt_message(
                    body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
                )
                fields = xmltodict.parse(plain)["xml"]
            elif "Encrypt" in fields:
                plain = self.crypto.decrypt_message(
                    body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
                )
                fields = xmltodict.parse(plain)["xml"]
        except Exception as exc:  # any failure to read it is the finding
            return f"unreadable reply ({type(exc).__name__}: {exc}): {body[:120]!r}"
        if fields.get("MsgType") != "text" or not fields.get("Content"):
            return f"not a text reply: {body[:120]!r}"
        if fields.get("ToUserName") != openid:
            return f"reply addressed to {fields.get('ToUserName')!r}, not {openid!r}"
        return None


# -- the baseline server ---------------------------------------------------------------------


def baseline_app(token: str, aes_key: str, appid: str) -> web.Application:
    """Verify, parse, echo: the least any WeChat webhook must do.  No database, no de-dup."""
    crypto = WeChatCrypto(token, aes_key, appid)
    prp = PrpCrypto(base64.b64decode(aes_key + "="))

    async def receive(request: web.Request) -> web.Response:
        q = request.query
        signature, timestamp, nonce = q.get("signature"), q.get("timestamp"), q.get("nonce")
        if not (signature and timestamp and nonce):
            raise web.HTTPForbidden()
        if not hmac.compare_digest(sign(token, timestamp, nonce), signature.lower()):
            raise web.HTTPForbidden()
        try:
            fresh = abs(time.time() - int(timestamp)) <= SIGNATURE_MAX_AGE
        except ValueError:
            fresh = False
        if not fresh:
            raise web.HTTPForbidden()
        xml = await request.text()
        encrypted = q.get("encrypt_type", "raw").lower() == "aes"
        if encrypted:
            ciphertext = xmltodict.parse(xml)["xml"]["Encrypt"]
            msg_signature = q.get("msg_signature") or ""
            expected = sign(token, timestamp, nonce, ciphertext)
            if not hmac.compare_digest(expected, msg_signature.lower()):
                raise web.HTTPForbidden()
            xml = prp.decrypt(ciphertext, appid)
        message = parse_message(xml)
        reply = TextReply(message=message, content=getattr(message, "content", "")).render()
        if encrypted:
            reply = crypto.encrypt_message(reply, nonce, str(int(time.time())))
        return web.Response(text=reply, content_type="application/xml")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/wechat", receive)
    app.router.add_get("/healthz", healthz)
    return app


def run_baseline_server(port: int) -> int:
    app = baseline_app(
        os.environ["WECHAT_TOKEN"], os.environ["WECHAT_AES_KEY"], os.environ["WECHAT_APPID"]
    )
    # The same event loop `dangjian serve` uses, so the ratio compares the work, not the loop.
    from server.cli import use_fast_event_loop

    use_fast_event_loop()
    web.run_app(app, host=HOST, port=port, access_log=None, print=None)
    return 0


# -- processes -------------------------------------------------------------------------------


class ServerFailed(Exception):
    """A server did not start or did not answer its warm-up: reported, exit status 1."""


class Unavailable(Exception):
    """PostgreSQL or Redis cannot be reached: the backend is skipped, not failed."""


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 8, width: int = 400) -> str:
        """The end of the server's log, each line cut to `width` (tracebacks are long)."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "    (no log)"
        shown = [line if len(line) <= width else line[:width] + " …" for line in text[-lines:]]
        tail = "\n".join("    " + line for line in shown) or "    (empty log)"
        return f"{tail}\n    (the last {len(shown)} of {len(text)} log lines)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without its dangjian/WeChat settings, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DANGJIAN_", "WECHAT_")) and k != "PYTHONPATH"
    }
    env["PYTHONPATH"] = str(REPO)
    env["DANGJIAN_METRICS_TOKEN"] = METRICS_TOKEN  # /healthz's details are the operators'
    env.update(extra)
    return env


def start_process(
    name: str, argv: list[str], env: dict[str, str], workdir: Path, port: int
) -> Server:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    return Server(name=name, port=port, proc=proc, log_path=log_path)


async def wait_ready(session: aiohttp.ClientSession, server: Server, path: str) -> dict[str, Any]:
    url = f"http://{HOST}:{server.port}{path}"
    give_up = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer"
    while time.monotonic() < give_up:
        if server.proc.poll() is not None:
            raise ServerFailed(
                f"{server.name} exited with status {server.proc.returncode}:\n{server.log_tail()}"
            )
        try:
            async with session.get(
                url, headers=OPERATOR, timeout=aiohttp.ClientTimeout(total=3)
            ) as resp:
                if resp.status == 200:
                    body = await resp.json(content_type=None)
                    return body if isinstance(body, dict) else {}
                last = f"HTTP {resp.status}: {(await resp.text())[:200]}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            last = f"{type(exc).__name__}"
        await asyncio.sleep(0.1)
    raise ServerFailed(
        f"{server.name} not ready after {STARTUP_TIMEOUT:.0f} s ({last}):\n{server.log_tail()}"
    )


# -- PostgreSQL --------------------------------------------------------------------


async def create_pg_database() -> tuple[str, str]:
    """A fresh database; returns (its URL, its name).  Raises when PostgreSQL is unreachable."""
    import asyncpg

    admin = await asyncpg.connect("postgresql://" + PG_ADMIN.split("://", 1)[1], timeout=3)
    name = f"dangjian_bench_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", name


async def drop_pg_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect("postgresql://" + PG_ADMIN.split("://", 1)[1], timeout=3)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# -- load ------------------------------------------------------------------------------------

# What is watched while a target is measured: its server processes, the private nginx, the
# bench database's PostgreSQL backends, the private Redis and this process (the load generator).
GROUPS = ("servers", "nginx", "PG", "Redis", "gen")
GROUP_NAMES = {"servers": "servers", "nginx": "nginx", "PG": "PostgreSQL", "Redis": "Redis",
               "gen": "load generator"}  # fmt: skip


@dataclass
class Round:
    sent: int
    elapsed: float
    cpu: dict[str, float | None]  # CPU seconds of each watched group during the round
    memory: dict[str, fleet.Usage] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class Result:
    backend: str
    processes: int = 1
    rounds: list[Round] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # all rounds pooled
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def rate(self) -> float:
        """Median messages/s over the rounds."""
        return statistics.median(r.rate for r in self.rounds) if self.rounds else 0.0

    def _cpu(self, group: str) -> float | None:
        used = [r.cpu.get(group) for r in self.rounds]
        if not used or any(u is None for u in used):
            return None
        return sum(u for u in used if u is not None)

    def cpu_share(self, group: str) -> float | None:
        """CPU seconds of `group` over the rounds' wall time (1.0 = one core all the time)."""
        used, elapsed = self._cpu(group), sum(r.elapsed for r in self.rounds)
        return None if used is None or not elapsed else used / elapsed

    def cpu_ms(self, group: str) -> float | None:
        """Milliseconds of `group`'s CPU per message answered."""
        used, sent = self._cpu(group), sum(r.sent for r in self.rounds)
        return None if used is None or not sent else 1000 * used / sent

    def peak_mb(self, group: str, *, summed: str = "") -> float | None:
        """The largest VmRSS one process of `group` reached; with `summed` "rss" or "private",
        the group's VmRSS or RssAnon summed, at its largest."""
        seen = []
        for r in self.rounds:
            usage = r.memory.get(group)
            if usage is None or not usage.processes:
                continue
            if summed == "rss":
                seen.append(usage.peak_total_mb)
            elif summed == "private":
                seen.append(usage.peak_private_mb)
            else:
                seen.append(usage.peak_mb)
        return max(seen) if seen else None

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile over every measured request, in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

    def error(self, sample: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(sample)


@dataclass
class Target:
    """One measured set-up: `processes` servers of one kind, behind nginx or addressed in turn."""

    key: str  # baseline, sqlite or postgres
    servers: list[Server]
    result: Result
    ports: list[int]  # where its pushes go: nginx's front port, or each server's in turn
    senders: Iterator[str]  # the openids its pushes come from, in turn across rounds
    groups: dict[str, Callable[[], Sequence[int]]] = field(default_factory=dict)
    warm: bool = False
    db_url: str | None = None  # the pipeline's database, for benchmarks that check it

    @property
    def processes(self) -> int:
        return len(self.servers)

    def pushes(self, side: WeChatSide, count: int, content: str = CONTENT) -> list[Push]:
        return [
            side.push(self.ports[n % len(self.ports)], next(self.senders), content)
            for n in range(count)
        ]


async def drive(
    session: aiohttp.ClientSession, pushes: Sequence[Push], concurrency: int, stop_after: float
) -> tuple[list[tuple[int, bytes] | None], list[float], float]:
    """Send `pushes` from `concurrency` workers; returns responses, latencies and wall time.

    A response is None when its push was not sent before `stop_after` seconds had passed.
    """
    responses: list[tuple[int, bytes] | None] = [None] * len(pushes)
    latencies: list[float] = []
    indices: Iterator[int] = iter(range(len(pushes)))  # shared: each push is taken once
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    started = time.perf_counter()
    stop_at = started + stop_after

    async def worker() -> None:
        for i in indices:
            if time.perf_counter() >= stop_at:
                return
            push = pushes[i]
            t0 = time.perf_counter()
            try:
                async with session.post(push.url, data=push.body, headers=headers) as resp:
                    body = await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, body = 0, f"{type(exc).__name__}: {exc}".encode()
            latencies.append(time.perf_counter() - t0)
            responses[i] = (status, body)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return responses, latencies, time.perf_counter() - started


async def timed_round(
    session: aiohttp.ClientSession,
    target: Target,
    pushes: Sequence[Push],
    concurrency: int,
    stop_after: float,
) -> list[tuple[int, bytes] | None]:
    """Drive `pushes` at `target` watching its processes; the round goes into its result.
    Checking the responses is the caller's."""
    async with fleet.Watch(target.groups) as watch:
        responses, latencies, elapsed = await drive(session, pushes, concurrency, stop_after)
    sent = sum(1 for r in responses if r is not None)
    cpu = {name: usage.cpu for name, usage in watch.usage.items()}
    target.result.rounds.append(Round(sent, elapsed, cpu, watch.usage))
    target.result.latencies.extend(latencies)
    return responses


async def warm_up(
    session: aiohttp.ClientSession, target: Target, side: WeChatSide, args: argparse.Namespace
) -> None:
    """Uncounted pushes first, `--warmup` for each process: connections, caches and the ORM's
    first queries."""
    pushes = target.pushes(side, args.warmup * target.processes)
    responses, _, _ = await drive(session, pushes, args.concurrency, PHASE_TIMEOUT)
    for push, response in zip(pushes, responses, strict=True):
        name = f"{target.result.backend} x{target.processes}"
        if response is None:
            raise ServerFailed(f"{name}: warm-up did not finish in {PHASE_TIMEOUT:.0f} s")
        problem = side.problem(*response, push.openid)
        if problem:
            tails = "\n".join(s.log_tail() for s in target.servers)
            raise ServerFailed(f"{name}: warm-up request failed: {problem}\n{tails}")
    target.warm = True


async def measure_round(
    session: aiohttp.ClientSession, target: Target, side: WeChatSide, args: argparse.Namespace
) -> None:
    result = target.result
    count = args.messages
    if args.duration:
        count = args.messages_given or int(args.duration * DURATION_RATE_CAP)
    # Signed just before they are sent: the server refuses timestamps older than 300 s.
    pushes = target.pushes(side, count)
    responses = await timed_round(
        session, target, pushes, args.concurrency, args.duration or PHASE_TIMEOUT
    )
    sent = 0
    for push, response in zip(pushes, responses, strict=True):
        if response is None:
            if not args.duration:  # --messages: every push must be answered
                result.error(f"not sent within {PHASE_TIMEOUT:.0f} s")
            continue
        sent += 1
        problem = side.problem(*response, push.openid)
        if problem:
            result.error(problem)
    if args.duration and sent == count:
        result.notes.append(f"all {count} pre-built pushes sent within {args.duration:g} s")


# -- setting the stage: servers, nginx, PostgreSQL, Redis, the district ----------------------


@dataclass
class Stage:
    """Everything one run measures against, started by `set_up`, stopped by its stack."""

    side: WeChatSide
    workdir: Path
    targets: list[Target] = field(default_factory=list)
    skipped: list[Result] = field(default_factory=list)  # backends that could not be set up
    nginx: fleet.Nginx | None = None
    redis: fleet.PrivateRedis | None = None
    redis_prefix: str = ""
    db_url: str | None = None
    db_name: str | None = None
    roll: district.Roll | None = None  # the district, when the pushes come from its members
    lifetime: dict[str, dict[str, float]] = field(default_factory=dict)  # memory at the end

    def processes(self) -> dict[str, list[int]]:
        """Every process of the run by name, for their memory at the end."""
        named: dict[str, list[int]] = {}
        for target in self.targets:
            for server in target.servers:
                named[server.name] = [server.proc.pid]
        if self.nginx is not None:
            pids = self.nginx.pids()
            named["nginx master"] = pids[:1]
            for n, pid in enumerate(pids[1:]):
                named[f"nginx worker {n + 1}"] = [pid]
        if self.redis is not None:
            named["redis-server (private)"] = self.redis.pids()
        if self.db_name:
            named["PostgreSQL backends (bench database)"] = fleet.pg_backends(self.db_name)
        named["load generator (this process)"] = [os.getpid()]
        return named

    def keep_lifetime_memory(self) -> None:
        """Each process's VmHWM (its peak since it started) and VmRSS now, before they stop."""
        for name, pids in self.processes().items():
            found = [fleet.memory_mb(pid) for pid in pids]
            self.lifetime[name] = {
                "VmHWM": max((m.get("VmHWM", 0.0) for m in found), default=0.0),
                "VmRSS": sum(m.get("VmRSS", 0.0) for m in found),
                "RssAnon": sum(m.get("RssAnon", 0.0) for m in found),
                "processes": float(len(pids)),
            }


def pipeline_argv(args: argparse.Namespace, port: int, name: str) -> list[str]:
    argv = [sys.executable]
    if getattr(args, "profile", None):
        profile = Path(args.profile).resolve() / f"{name}.prof"
        argv += ["-m", "cProfile", "-o", str(profile)]
    return [*argv, "-m", "server", "serve", "--host", HOST, "--port", str(port)]


async def start_servers(
    session: aiohttp.ClientSession,
    stack: contextlib.AsyncExitStack,
    stage: Stage,
    key: str,
    count: int,
    args: argparse.Namespace,
    env: dict[str, str],
) -> list[Server]:
    """`count` servers of one kind, started together (their migrations take turns under
    PostgreSQL's advisory lock); each stopped when `stack` unwinds."""
    servers = []
    for n in range(count):
        port = free_port()
        name = f"{key}-{n + 1}"
        if key == "baseline":
            argv = [sys.executable, str(Path(__file__).resolve()), "--baseline-server", str(port)]
            extra = {}
        else:
            argv = pipeline_argv(args, port, name)
            # One process runs the scheduler (the leader lease would pick one anyway); the
            # others are web processes only, as a deployment behind a proxy runs them.
            extra = {"DANGJIAN_SCHEDULER": "true" if n == 0 else "false"}
            if n == 0:
                name += " (scheduler)"
        server = start_process(name, argv, clean_env(env | extra), stage.workdir, port)
        stack.callback(server.stop)  # unwinds before the database is dropped
        servers.append(server)
    path = "/healthz"
    healths = await asyncio.gather(*(wait_ready(session, s, path) for s in servers))
    if key != "baseline":
        expected_cache = "redis" if key == "postgres" else "memory"
        for server, health in zip(servers, healths, strict=True):
            if health.get("cache_backend") != expected_cache:
                raise ServerFailed(
                    f"{server.name}: expected the {expected_cache} cache; /healthz: {health}"
                )
    return servers


async def set_up(
    session: aiohttp.ClientSession,
    stack: contextlib.AsyncExitStack,
    side: WeChatSide,
    args: argparse.Namespace,
    failures: list[str],
) -> Stage:
    """Start what `args` asks for; everything started is stopped, and the database dropped,
    when `stack` unwinds.  Uses args.backends, .processes, .proxy, .dataset, .streets, .seed,
    .openids, .db_pool and .mode."""
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dangjian-bench-")))
    stage = Stage(side=side, workdir=workdir)
    wechat = {"WECHAT_TOKEN": side.token, "WECHAT_AES_KEY": side.aes_key}
    wechat["WECHAT_APPID"] = side.appid
    top = max(args.processes)
    servers: dict[str, list[Server]] = {}
    servers["baseline"] = await start_servers(session, stack, stage, "baseline", top, args, wechat)

    api_base = ""
    if args.backends:
        fake_port = free_port()
        argv = [sys.executable, "-m", "server", "fake-wechat", "--host", HOST]
        fake = start_process(
            "fake-wechat", [*argv, "--port", str(fake_port)], clean_env({}), workdir, fake_port
        )
        stack.callback(fake.stop)
        await wait_ready(session, fake, "/_fake/calls")
        api_base = f"http://{HOST}:{fake_port}"
    pipeline_env = wechat | {
        "WECHAT_SECRET": "bench-secret",
        "WECHAT_API_BASE": api_base,
        # The console's mode the pushes are sent in (the server refuses plaintext otherwise).
        "WECHAT_ENCRYPT_MODE": args.mode,
        "DANGJIAN_LOG_LEVEL": "WARNING",
    }
    for key in args.backends:
        try:
            env = pipeline_env | {"DANGJIAN_DATA_DIR": str(workdir / key)}
            if key == "sqlite":
                if 1 not in args.processes:
                    raise Unavailable("SQLite runs as one process: add 1 to --processes")
                env["DANGJIAN_DB_URL"] = f"sqlite://{workdir / 'bench.sqlite3'}"
                servers[key] = await start_servers(session, stack, stage, key, 1, args, env)
                continue
            try:
                stage.redis = fleet.private_redis(workdir)
            except (OSError, RuntimeError) as exc:
                raise Unavailable(f"a private redis-server: {exc}") from None
            stack.callback(stage.redis.stop)
            try:
                stage.db_url, stage.db_name = await create_pg_database()
            except Exception as exc:  # any failure means: no PostgreSQL here
                raise Unavailable(
                    f"PostgreSQL ({PG_ADMIN}) unreachable ({type(exc).__name__}: {exc})"
                ) from None
            stack.push_async_callback(drop_pg_database, stage.db_name)
            if args.dataset == "district":
                from server.clock import Clock

                stage.roll = await district.prepare(
                    stage.db_url,
                    side.appid,
                    streets=args.streets,
                    seed=args.seed,
                    today=Clock(district.ZONE).today(),
                )
            stage.redis_prefix = f"dangjian_bench:{uuid.uuid4().hex[:12]}:"
            env |= {
                "DANGJIAN_DB_URL": stage.db_url,
                "DANGJIAN_REDIS_URL": stage.redis.url,
                "DANGJIAN_REDIS_PREFIX": stage.redis_prefix,
                "DANGJIAN_DB_POOL_SIZE": str(args.db_pool),
            }
            servers[key] = await start_servers(session, stack, stage, key, top, args, env)
        except Unavailable as exc:
            stage.skipped.append(Result(BACKEND_NAMES[key], skipped=str(exc)))
        except ServerFailed as exc:
            failures.append(str(exc))
            stage.skipped.append(Result(BACKEND_NAMES[key], skipped="failed to start (see below)"))

    tiers = [(n, key) for n in args.processes for key in ("baseline", *args.backends)]
    tiers = [(n, key) for n, key in tiers if key in servers and (key != "sqlite" or n == 1)]
    if args.proxy == "nginx":
        upstreams = {f"{key}_{n}": [s.port for s in servers[key][:n]] for n, key in tiers}
        stage.nginx = fleet.Nginx(workdir / "nginx", upstreams)
        stack.callback(stage.nginx.stop)  # also one that started but never listened
        try:
            stage.nginx.start()
        except (OSError, RuntimeError) as exc:
            raise ServerFailed(f"nginx: {exc}") from None

    unbound = [openid_for(i) for i in range(args.openids)]
    members = [openid for _, openid in stage.roll.bound] if stage.roll else unbound
    random.Random(args.seed).shuffle(members)
    for n, key in tiers:
        chosen = servers[key][:n]
        if stage.nginx is not None:
            ports = [stage.nginx.ports[f"{key}_{n}"]]
        else:
            ports = [s.port for s in chosen]
        groups = watched(stage, chosen, database=key == "postgres")
        senders = itertools.cycle(unbound if key == "sqlite" else members)
        result = Result(BACKEND_NAMES.get(key, key), processes=n)
        db_url = stage.db_url if key == "postgres" else None
        stage.targets.append(Target(key, chosen, result, ports, senders, groups, db_url=db_url))
    return stage


def watched(
    stage: Stage, servers: Sequence[Server], *, database: bool
) -> dict[str, Callable[[], Sequence[int]]]:
    """The process groups watched while a target is measured (see GROUPS)."""
    groups: dict[str, Callable[[], Sequence[int]]] = {
        "servers": lambda: [s.proc.pid for s in servers]
    }
    if stage.nginx is not None:
        groups["nginx"] = stage.nginx.pids
    if database and stage.db_name:
        name = stage.db_name
        groups["PG"] = lambda: fleet.pg_backends(name)
    if database and stage.redis is not None:
        groups["Redis"] = stage.redis.pids
    groups["gen"] = lambda: [os.getpid()]
    return groups


# -- the run ---------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    side = WeChatSide(
        token="benchtoken" + secrets.token_hex(6),
        aes_key=new_aes_key(),
        appid="wxbench" + secrets.token_hex(5),
        mode=args.mode,
    )
    failures: list[str] = []
    load = [os.getloadavg()[0]]
    stage: Stage | None = None
    redis_usage: tuple[dict[str, tuple[int, int]], int] | None = None
    async with contextlib.AsyncExitStack() as stack:  # unwinds: servers, databases, session
        session = await stack.enter_async_context(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=args.concurrency),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            )
        )
        try:
            stage = await set_up(session, stack, side, args, failures)
            for target in stage.targets:
                try:
                    await warm_up(session, target, side, args)
                except ServerFailed as exc:
                    failures.append(str(exc))
                    target.result.skipped = "failed in warm-up (see below)"
            live = [t for t in stage.targets if t.warm]
            # Round-robin over every target (each number of processes, baseline and pipeline),
            # rotating the order, so that all see the same background load: medians reported.
            for n in range(args.rounds):
                shift = n % len(live) if live else 0
                for target in live[shift:] + live[:shift]:
                    await measure_round(session, target, side, args)
            load.append(os.getloadavg()[0])
            stage.keep_lifetime_memory()
            if stage.redis is not None:
                redis_usage = await fleet.redis_keys(stage.redis.url, stage.redis_prefix)
        except ServerFailed as exc:
            failures.append(str(exc))
    results = [t.result for t in stage.targets] if stage else []
    print_report(args, stage, results, failures, load)
    if stage is not None:
        print_memory(stage, results)
        if redis_usage is not None:
            print_redis(redis_usage, results)
        print_estimate(results, BACKEND_NAMES["postgres"])
    errors = sum(r.errors for r in results)
    if errors:
        print(f"\nFAILED: {errors} request(s) did not get a text reply", file=sys.stderr)
    return 1 if errors or failures else 0


# -- the report --------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def by_processes(results: Sequence[Result], backend: str) -> dict[int, Result]:
    return {r.processes: r for r in results if r.backend == backend and r.rounds}


def print_report(
    args: argparse.Namespace,
    stage: Stage | None,
    results: list[Result],
    failures: list[str],
    load: list[float],
) -> None:
    span = f"{args.duration:g} s" if args.duration else f"{args.messages} messages"
    if stage is not None and stage.roll is not None:
        who = f"{len(stage.roll.bound):,} bound members of the district ({args.streets} streets)"
    else:
        who = f"{args.openids} unbound openids"
    proxy = "no proxy"
    if args.proxy == "nginx":
        proxy = "nginx (plain HTTP, keep-alive to the upstreams)"
    print(
        f"\nwebhook benchmark: `{CONTENT}` pushes from {who}, mode={args.mode}, "
        f"{args.concurrency} connections via {proxy}, {args.rounds} rounds x {span} "
        f"(+{args.warmup} warm-up per process) per target, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}, load average {load[0]:.1f} before, "
        f"{load[-1]:.1f} after"
    )
    print_throughput(results, MIN_RATIO, MAX_P99_MS)
    print(
        f"targets: ratio >= {MIN_RATIO} of the baseline's msgs/s at the same number of "
        f"processes, p99 < {MAX_P99_MS:.0f} ms, no errors.\nmsgs/s: median of the rounds "
        "(range: slowest-fastest round); latencies: all rounds pooled; scaling: msgs/s / "
        "msgs/s with one process."
    )
    for skipped in stage.skipped if stage else []:
        print(f"{skipped.backend:<16}skipped: {skipped.skipped}")
    print_cpu(results)
    for failure in failures:
        print(f"\nFAILED: {failure}", file=sys.stderr)


def print_throughput(results: Sequence[Result], min_ratio: float, max_p99: float | None) -> None:
    header = (
        f"{'target':<16}{'procs':>5}{'msgs/s':>8}{'(range)':>12}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8}{'errors':>7}{'ratio':>7}{'scaling':>8}  verdict"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.skipped or not r.rounds:
            print(f"{r.backend:<16}{r.processes:>5}  {r.skipped or 'not measured'}")
            continue
        rates = [round_.rate for round_ in r.rounds]
        spread = f"({min(rates):.0f}-{max(rates):.0f})"
        p99 = r.percentile(99)
        baseline = by_processes(results, "baseline").get(r.processes)
        ratio, verdict = "", ""
        if r.backend != "baseline" and baseline is not None and baseline.rate > 0:
            value = r.rate / baseline.rate
            checks = [("ratio", value >= min_ratio), ("errors", r.errors == 0)]
            if max_p99 is not None:
                checks.insert(1, ("p99", p99 < max_p99))
            misses = [what for what, ok in checks if not ok]
            ratio = f"{value:.2f}"
            verdict = "PASS" if not misses else f"FAIL ({', '.join(misses)})"
        one = by_processes(results, r.backend).get(1)
        scaling = f"{r.rate / one.rate:.2f}" if one is not None and one.rate else ""
        worst = max(r.latencies) * 1000 if r.latencies else math.nan
        line = (
            f"{r.backend:<16}{r.processes:>5}{r.rate:>8.0f}{spread:>12}{r.percentile(50):>8.1f}"
            f"{p99:>8.1f}{worst:>8.1f}{r.errors:>7}{ratio:>7}{scaling:>8}  {verdict}"
        )
        print(line.rstrip())
        for sample in r.error_samples:
            print(f"    error: {sample}")
        for note in dict.fromkeys(r.notes):
            print(f"    note: {note}")


def print_cpu(results: Sequence[Result]) -> None:
    measured = [r for r in results if r.rounds]
    if not measured:
        return
    names = "".join(f"{g:>8}" for g in GROUPS)
    print(
        "\nCPU while each target was measured: share of one core (100% = one core busy all "
        "the time)\nand ms of CPU per message answered. servers: the target's processes "
        "summed; PG: the backends\nof the bench's database; Redis: the private redis-server; "
        "gen: the load generator (this process)."
    )
    print(f"{'target':<16}{'procs':>5}{names}{'total':>8}   ms/msg:{names}")
    for r in measured:
        shares = [r.cpu_share(g) for g in GROUPS]
        known = [s for s in shares if s is not None]
        per = "".join(f"{_num(r.cpu_ms(g)):>8}" for g in GROUPS)
        print(
            f"{r.backend:<16}{r.processes:>5}{''.join(f'{_pct(s):>8}' for s in shares)}"
            f"{_pct(sum(known)):>8}   {'':>7}{per}"
        )


def print_memory(stage: Stage, results: Sequence[Result]) -> None:
    measured = [r for r in results if r.rounds]
    if not measured:
        return
    print(
        f"\nMemory under load, MB: the largest VmRSS (/proc/<pid>/status) one process of each "
        f"group reached,\nsampled every {fleet.SAMPLE_EVERY:g} s while the target was measured; "
        "in brackets the group's VmRSS summed,\nbut for PostgreSQL its backends' RssAnon (private "
        "memory) summed: their VmRSS counts the shared\nbuffers each touched, shared by all."
    )
    cols = ("servers", "nginx", "PG", "Redis", "gen")
    print(f"{'target':<16}{'procs':>5}" + "".join(f"{c:>16}" for c in cols))
    for r in measured:
        cells = []
        for group in cols:
            one = r.peak_mb(group)
            summed = r.peak_mb(group, summed="private" if group == "PG" else "rss")
            cells.append("-" if one is None else f"{_mb(one)} ({_mb(summed)})")
        print(f"{r.backend:<16}{r.processes:>5}" + "".join(f"{c:>16}" for c in cells))
    if stage.lifetime:
        print(
            "\nEach process at the end, MB: VmHWM (its peak since it started), VmRSS and RssAnon "
            "(private) now"
        )
        for name, m in stage.lifetime.items():
            many = f" ({m['processes']:.0f} processes: the largest VmHWM, the others summed)"
            many = many if m["processes"] > 1 else ""
            print(f"  {name:<38}{m['VmHWM']:>8.0f}{m['VmRSS']:>8.0f}{m['RssAnon']:>8.0f}{many}")


def print_redis(usage: tuple[dict[str, tuple[int, int]], int], results: Sequence[Result]) -> None:
    kinds, used_memory = usage
    pipeline = BACKEND_NAMES["postgres"]
    sent = sum(sum(rd.sent for rd in r.rounds) for r in results if r.backend == pipeline)
    print(
        f"\nRedis after the run (private instance; used_memory {used_memory / 2**20:.1f} MB): "
        f"the bench's keys by kind,\nfrom {sent:,} measured messages plus the warm-up; "
        "per-message keys expire after 300 s"
    )
    for kind, (count, size) in sorted(kinds.items(), key=lambda k: -k[1][1]):
        print(f"  {kind:<12}{count:>9,} keys {size / 2**20:>8.1f} MB  {size / count:>6.0f} B/key")


def print_estimate(results: Sequence[Result], backend: str) -> None:
    """What more cores should give, from the CPU each message cost on this machine."""
    tiers = by_processes(results, backend)
    if not tiers:
        return
    cores = os.cpu_count() or 2
    print(f"\nWhat more cores should give ({backend}; no load generator on a production host):")
    for n, r in sorted(tiers.items()):
        costs = {g: r.cpu_ms(g) for g in GROUPS}
        shares = [r.cpu_share(g) for g in GROUPS]  # None: not watched (no nginx) or unknown
        if any(costs[g] is None for g in ("servers", "PG", "Redis")):
            print(f"  {n} process(es): CPU per message unknown")
            continue
        s, x, p, q = (costs[g] or 0.0 for g in ("servers", "nginx", "PG", "Redis"))
        g = costs["gen"] or 0.0
        work = s + x + p + q
        used = sum(share or 0.0 for share in shares)
        print(
            f"  measured at {n} process(es): servers {s:.2f} + nginx {x:.2f} + PostgreSQL {p:.2f}"
            f" + Redis {q:.2f} = {work:.2f} ms of CPU a message (+ {g:.2f} ms load generator)"
        )
        # The rate is the CPU the run got over the CPU a message takes: were all this
        # machine's cores the bench's (nothing else running), the same arithmetic gives more.
        print(
            f"    the bench's processes got {used:.2f} cores (the rest went to other work): "
            f"{r.rate:.0f} msgs/s; all {cores} cores: {cores} x 1000 / ({work:.2f} + {g:.2f}) "
            f"= {cores * 1000 / (work + g):.0f}"
        )
        for more in (4, 8):
            ceiling = more * 1000 / work
            web = ceiling * s / 1000  # cores' worth of web processes at that rate
            print(
                f"    {more} cores: {more} x 1000 / {work:.2f} = {ceiling:.0f} msgs/s with every "
                f"core busy (web processes {web:.1f} cores of it: run {math.ceil(web)}+); "
                f"at 70% busy, ~{0.7 * ceiling:.0f}"
            )


# -- command line ------------------------------------------------------------------------------


def parse_processes(text: str) -> list[int]:
    counts = sorted({int(n) for n in text.split(",") if n.strip()})
    if not counts or counts[0] < 1 or counts[-1] > 16:
        raise argparse.ArgumentTypeError("a list of process counts, each 1-16, e.g. 1,2,4")
    return counts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/webhook.py",
        description="Signed 帮助 pushes through the full pipeline vs a bare echo baseline.",
    )
    parser.add_argument(
        "--backends",
        default="postgres",
        help="comma-separated: postgres (= PostgreSQL + Redis, the default), sqlite (one process)",
    )
    parser.add_argument(
        "--processes",
        type=parse_processes,
        default=[1, 2, 4],
        help="server processes behind nginx, a list (default 1,2,4); the baseline runs as many",
    )
    parser.add_argument(
        "--proxy",
        choices=["nginx", "none"],
        default="nginx",
        help="nginx in front (default), or none: pushes go to each process's port in turn",
    )
    parser.add_argument(
        "--dataset",
        choices=["district", "none"],
        default="district",
        help="postgres: pushes from the district's bound members (default), or none: an empty "
        "database and --openids unbound senders",
    )
    parser.add_argument("--streets", type=int, default=district.STREETS, help="of the district")
    parser.add_argument("--seed", type=int, default=2023, help="of the district and the senders")
    parser.add_argument(
        "--mode",
        choices=["plain", "compat", "safe"],
        default="plain",
        help="plaintext, AES compatible or AES safe mode (default plain)",
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=None,
        help="measured pushes per target per round (default 3000); with --duration, "
        "the most that are pre-built",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="measure for this many seconds per target instead (max 240)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measurements per target, interleaved; medians reported (default 3)",
    )
    parser.add_argument("--warmup", type=int, default=200, help="uncounted pushes per process")
    parser.add_argument(
        "--db-pool", type=int, default=DB_POOL, help="DANGJIAN_DB_POOL_SIZE of each process"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="connections (default 50)")
    parser.add_argument(
        "--openids", type=int, default=200, help="distinct unbound senders (sqlite, --dataset none)"
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run the pipeline servers under cProfile, writing DIR/<server>.prof",
    )
    parser.add_argument("--baseline-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_server is not None:
        return args
    args.messages_given = args.messages
    args.messages = args.messages or 3000
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKEND_NAMES]
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(unknown)}; choose from sqlite, postgres")
    args.backends = list(dict.fromkeys(backends))
    if args.duration is not None and not 0 < args.duration <= 240:
        # Pushes are signed before the phase starts; the server rejects them after 300 s.
        parser.error("--duration must be in (0, 240] seconds")
    for name in ("messages", "warmup", "concurrency", "openids", "rounds", "streets"):
        if getattr(args, name) < (0 if name == "warmup" else 1):
            parser.error(f"--{name} is too small")
    if args.streets > 40:
        parser.error("--streets: at most 40")
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    return args


async def run_until_stopped(args: argparse.Namespace) -> int:
    """`run`, cancelled by SIGTERM as asyncio.run cancels it on Ctrl-C: clean-up still runs."""
    task = asyncio.current_task()
    if task is not None:
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline_server is not None:
        return run_baseline_server(args.baseline_server)
    try:
        return asyncio.run(run_until_stopped(args))
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        print(
            "\ninterrupted: servers stopped, temporary database and keys removed", file=sys.stderr
        )
        return 130 if isinstance(exc, KeyboardInterrupt) else 143


if __name__ == "__main__":
    raise SystemExit(main())
