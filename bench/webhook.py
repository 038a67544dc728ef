"""Webhook benchmark: signed `帮助` pushes through the full pipeline against a bare echo baseline.

    python bench/webhook.py [--backends sqlite,postgres] [--mode plain|compat|safe]
                            [--messages 3000 | --duration SECONDS] [--concurrency 50]
                            [--rounds 3] [--profile DIR]

Every server runs in a process of its own, so the load generator never shares its event loop.
All of them start first, get a warm-up, then are measured in interleaved rounds (the baseline
and the pipeline see the same background load) and reported as medians:

* baseline: a bare aiohttp + wechatpy server defined in this file (`--baseline-server PORT`):
  signature check (SHA-1, constant-time compare), wechatpy's `parse_message`, a wechatpy
  `TextReply` echo.  No database, no cache, no de-duplication.
* sqlite: `python -m server serve` on a SQLite file in a temporary directory and the
  in-process cache.
* postgres: `python -m server serve` on a fresh PostgreSQL database `dangjian_bench_<hex>`
  (created and dropped here) and Redis with a private key prefix (removed afterwards).

Outbound WeChat calls of the pipeline go to `python -m server fake-wechat` on a local port.
All traffic stays on 127.0.0.1.  The exit status is 0 whether or not the targets are met (this
is a measurement); 1 when any request failed or a server could not be started; 130/143 when
interrupted (SIGINT/SIGTERM), after stopping the servers and removing the database and keys.
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
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
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

Mode = Literal["plain", "compat", "safe"]

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc); None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


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


# -- PostgreSQL and Redis --------------------------------------------------------------------


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


async def check_redis() -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def remove_redis_prefix(prefix: str) -> int:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    removed = 0
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                removed += await client.unlink(*batch)
                batch.clear()
        if batch:
            removed += await client.unlink(*batch)
    finally:
        await client.aclose()
    return removed


# -- load ------------------------------------------------------------------------------------


@dataclass
class Round:
    sent: int
    elapsed: float
    server_cpu: float | None  # seconds of CPU the server process used
    client_cpu: float  # seconds of CPU the load generator (this process) used

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class Result:
    backend: str
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

    def cpu_share(self, which: Literal["server", "client"]) -> float | None:
        elapsed = sum(r.elapsed for r in self.rounds)
        used = [r.server_cpu if which == "server" else r.client_cpu for r in self.rounds]
        if not elapsed or any(u is None for u in used):
            return None
        return sum(u for u in used if u is not None) / elapsed

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
    key: str
    server: Server
    result: Result
    warm: bool = False
    db_url: str | None = None  # the pipeline's database, for benchmarks that seed it
    env: dict[str, str] | None = None  # how the server was started, to start more like it


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


async def warm_up(
    session: aiohttp.ClientSession,
    target: Target,
    side: WeChatSide,
    args: argparse.Namespace,
    openids: Sequence[str],
) -> None:
    """Uncounted pushes first: connections, caches and the ORM's first queries."""
    server = target.server
    who = itertools.cycle(openids)
    pushes = [side.push(server.port, next(who)) for _ in range(args.warmup)]
    responses, _, _ = await drive(session, pushes, args.concurrency, PHASE_TIMEOUT)
    for push, response in zip(pushes, responses, strict=True):
        if response is None:
            raise ServerFailed(f"{server.name}: warm-up did not finish in {PHASE_TIMEOUT:.0f} s")
        problem = side.problem(*response, push.openid)
        if problem:
            raise ServerFailed(
                f"{server.name}: warm-up request failed: {problem}\n{server.log_tail()}"
            )
    target.warm = True


async def measure_round(
    session: aiohttp.ClientSession,
    target: Target,
    side: WeChatSide,
    args: argparse.Namespace,
    openids: Sequence[str],
) -> None:
    server, result = target.server, target.result
    who = itertools.cycle(openids)
    count = args.messages
    if args.duration:
        count = args.messages_given or int(args.duration * DURATION_RATE_CAP)
    # Signed just before they are sent: the server refuses timestamps older than 300 s.
    pushes = [side.push(server.port, next(who)) for _ in range(count)]
    stop_after = args.duration or PHASE_TIMEOUT
    cpu_before = cpu_seconds(server.proc.pid)
    client_before = time.process_time()
    responses, latencies, elapsed = await drive(session, pushes, args.concurrency, stop_after)
    client_cpu = time.process_time() - client_before
    cpu_after = cpu_seconds(server.proc.pid)
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
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
    result.rounds.append(Round(sent, elapsed, server_cpu, client_cpu))
    result.latencies.extend(latencies)


# -- the run ---------------------------------------------------------------------------------


def pipeline_argv(args: argparse.Namespace, port: int, key: str) -> list[str]:
    argv = [sys.executable]
    if args.profile:
        profile = Path(args.profile).resolve() / f"{key}.prof"
        argv += ["-m", "cProfile", "-o", str(profile)]
    return [*argv, "-m", "server", "serve", "--host", HOST, "--port", str(port)]


async def start_pipeline(
    key: str,
    stack: contextlib.AsyncExitStack,
    session: aiohttp.ClientSession,
    side: WeChatSide,
    args: argparse.Namespace,
    workdir: Path,
    api_base: str,
) -> Target:
    """`python -m server serve` on this backend; its clean-up is pushed onto `stack`."""
    name = BACKEND_NAMES[key]
    env = {
        "WECHAT_TOKEN": side.token,
        "WECHAT_AES_KEY": side.aes_key,
        "WECHAT_APPID": side.appid,
        "WECHAT_SECRET": "bench-secret",
        "WECHAT_API_BASE": api_base,
        # The console's mode the pushes are sent in (the server refuses plaintext otherwise).
        "WECHAT_ENCRYPT_MODE": args.mode,
        "DANGJIAN_LOG_LEVEL": "WARNING",
        "DANGJIAN_DATA_DIR": str(workdir / key),
    }
    if key == "sqlite":
        env["DANGJIAN_DB_URL"] = f"sqlite://{workdir / 'bench.sqlite3'}"
    else:
        try:
            await check_redis()
        except Exception as exc:  # any failure means: no Redis here
            raise Unavailable(
                f"Redis at {REDIS_URL} unreachable ({type(exc).__name__}: {exc})"
            ) from None
        redis_prefix = f"dangjian_bench:{uuid.uuid4().hex[:12]}:"
        stack.push_async_callback(remove_redis_prefix, redis_prefix)
        try:
            env["DANGJIAN_DB_URL"], pg_name = await create_pg_database()
        except Exception as exc:
            raise Unavailable(
                f"PostgreSQL ({PG_ADMIN}) unreachable ({type(exc).__name__}: {exc})"
            ) from None
        stack.push_async_callback(drop_pg_database, pg_name)
        env["DANGJIAN_REDIS_URL"] = REDIS_URL
        env["DANGJIAN_REDIS_PREFIX"] = redis_prefix
    port = free_port()
    server = start_process(name, pipeline_argv(args, port, key), clean_env(env), workdir, port)
    stack.callback(server.stop)  # unwinds before the database is dropped
    health = await wait_ready(session, server, "/healthz")
    expected_cache = "redis" if key == "postgres" else "memory"
    if health.get("cache_backend") != expected_cache:
        raise ServerFailed(f"{name}: expected the {expected_cache} cache; /healthz: {health}")
    return Target(key, server, Result(name), db_url=env["DANGJIAN_DB_URL"], env=clean_env(env))


async def run(args: argparse.Namespace) -> int:
    side = WeChatSide(
        token="benchtoken" + secrets.token_hex(6),
        aes_key=new_aes_key(),
        appid="wxbench" + secrets.token_hex(5),
        mode=args.mode,
    )
    openids = [openid_for(i) for i in range(args.openids)]
    rows: list[Result] = []
    targets: list[Target] = []
    failures: list[str] = []
    async with contextlib.AsyncExitStack() as stack:  # unwinds: servers, databases, session
        session = await stack.enter_async_context(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=args.concurrency),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            )
        )
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dangjian-bench-")))
        try:
            port = free_port()
            env = {
                "WECHAT_TOKEN": side.token,
                "WECHAT_AES_KEY": side.aes_key,
                "WECHAT_APPID": side.appid,
            }
            argv = [sys.executable, str(Path(__file__).resolve()), "--baseline-server", str(port)]
            baseline = start_process("baseline", argv, clean_env(env), workdir, port)
            stack.callback(baseline.stop)
            await wait_ready(session, baseline, "/healthz")
            targets.append(Target("baseline", baseline, Result("baseline")))

            fake_port = free_port()
            if args.backends:
                argv = [sys.executable, "-m", "server", "fake-wechat", "--host", HOST]
                fake = start_process(
                    "fake-wechat",
                    [*argv, "--port", str(fake_port)],
                    clean_env({}),
                    workdir,
                    fake_port,
                )
                stack.callback(fake.stop)
                await wait_ready(session, fake, "/_fake/calls")
            for key in args.backends:
                try:
                    targets.append(
                        await start_pipeline(
                            key, stack, session, side, args, workdir, f"http://{HOST}:{fake_port}"
                        )
                    )
                except Unavailable as exc:
                    rows.append(Result(BACKEND_NAMES[key], skipped=str(exc)))
                except ServerFailed as exc:
                    failures.append(str(exc))
                    rows.append(Result(BACKEND_NAMES[key], skipped="failed to start (see below)"))

            for target in targets:
                try:
                    await warm_up(session, target, side, args, openids)
                except ServerFailed as exc:
                    failures.append(str(exc))
                    target.result.skipped = "failed in warm-up (see below)"
            live = [t for t in targets if t.warm]
            # Round-robin, rotating the order, so that the baseline and the pipeline see the
            # same background load: the figures are medians over the rounds.
            for n in range(args.rounds):
                shift = n % len(live) if live else 0
                for target in live[shift:] + live[:shift]:
                    await measure_round(session, target, side, args, openids)
        except ServerFailed as exc:
            failures.append(str(exc))
    by_name = {t.result.backend: t.result for t in targets} | {r.backend: r for r in rows}
    order = ["baseline", *(BACKEND_NAMES[k] for k in args.backends)]
    results = [by_name[name] for name in order if name in by_name]
    print_report(args, results, failures)
    errors = sum(r.errors for r in results)
    if errors:
        print(f"\nFAILED: {errors} request(s) did not get a text reply", file=sys.stderr)
    return 1 if errors or failures else 0


def print_report(args: argparse.Namespace, results: list[Result], failures: list[str]) -> None:
    load = f"{args.duration:g} s" if args.duration else f"{args.messages} messages"
    print(
        f"\nwebhook benchmark: `{CONTENT}` pushes, mode={args.mode}, {args.concurrency} "
        f"connections, {args.rounds} rounds x {load} (+{args.warmup} warm-up) per backend, "
        f"{args.openids} openids, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    header = (
        f"{'backend':<16}{'msgs/s':>8}{'(range)':>12}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'errors':>7}{'srv cpu':>8}{'gen cpu':>8}{'ratio':>7}  verdict"
    )
    print(header)
    print("-" * len(header))
    baseline = next((r for r in results if r.backend == "baseline" and r.rounds), None)
    for r in results:
        if r.skipped:
            print(f"{r.backend:<16}skipped: {r.skipped}")
            continue
        if not r.rounds:
            print(f"{r.backend:<16}not measured")
            continue
        rates = [round_.rate for round_ in r.rounds]
        spread = f"({min(rates):.0f}-{max(rates):.0f})"
        srv, gen = r.cpu_share("server"), r.cpu_share("client")
        srv_text = "-" if srv is None else f"{100 * srv:.0f}%"
        gen_text = "-" if gen is None else f"{100 * gen:.0f}%"
        p99 = r.percentile(99)
        ratio, verdict = "", ""
        if r is not baseline and baseline is not None and baseline.rate > 0:
            value = r.rate / baseline.rate
            checks = (
                ("ratio", value >= MIN_RATIO),
                ("p99", p99 < MAX_P99_MS),
                ("errors", r.errors == 0),
            )
            misses = [what for what, ok in checks if not ok]
            ratio = f"{value:.2f}"
            verdict = "PASS" if not misses else f"FAIL ({', '.join(misses)})"
        worst = max(r.latencies) * 1000 if r.latencies else math.nan
        line = (
            f"{r.backend:<16}{r.rate:>8.0f}{spread:>12}{r.percentile(50):>8.1f}{p99:>8.1f}"
            f"{worst:>8.1f}{r.errors:>7}{srv_text:>8}{gen_text:>8}{ratio:>7}  {verdict}"
        )
        print(line.rstrip())
        for sample in r.error_samples:
            print(f"    error: {sample}")
        for note in dict.fromkeys(r.notes):
            print(f"    note: {note}")
    print(
        f"targets: ratio >= {MIN_RATIO} of the baseline's msgs/s, p99 < {MAX_P99_MS:.0f} ms, no "
        "errors.\nmsgs/s: median of the rounds (range: slowest-fastest round); latencies: all "
        "rounds pooled.\nsrv cpu: the server process's CPU time / wall time (PostgreSQL and "
        "Redis not included; 100% = one core); gen cpu: the load generator's."
    )
    for failure in failures:
        print(f"\nFAILED: {failure}", file=sys.stderr)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/webhook.py",
        description="Signed 帮助 pushes through the full pipeline vs a bare echo baseline.",
    )
    parser.add_argument(
        "--backends",
        default="sqlite,postgres",
        help="comma-separated: sqlite, postgres (= PostgreSQL + Redis)",
    )
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
        help="measured pushes per backend (default 3000); with --duration, "
        "the most that are pre-built",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="measure for this many seconds per backend instead (max 240)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measurements per backend, interleaved; medians reported (default 3)",
    )
    parser.add_argument("--warmup", type=int, default=200, help="uncounted pushes first")
    parser.add_argument("--concurrency", type=int, default=50, help="connections (default 50)")
    parser.add_argument("--openids", type=int, default=200, help="distinct senders")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run the pipeline servers under cProfile, writing DIR/BACKEND.prof",
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
    for name in ("messages", "warmup", "concurrency", "openids", "rounds"):
        if getattr(args, name) < (0 if name == "warmup" else 1):
            parser.error(f"--{name} is too small")
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
