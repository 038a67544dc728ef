"""Server processes behind a private nginx, and what each process uses while it is measured.

- `Nginx`: a private instance (`nginx -p DIR -c nginx.conf -e error.log -g 'daemon off;'`),
  plain HTTP on loopback ports (no TLS), one `server` per measured target proxying to an
  `upstream` of that target's processes (round-robin) over keep-alive connections.
- `private_redis`: a redis-server of the bench's own, without persistence, so that its CPU and
  memory are the bench's alone (the shared one on 6379 serves whatever else runs here).
- `Watch`: CPU seconds (/proc/<pid>/stat) and memory (VmRSS sampled from /proc/<pid>/status
  while it runs) of named groups of processes over one measured phase: the servers, nginx, the
  PostgreSQL backends of the bench's database, Redis and the load generator.

Linux only (/proc); elsewhere CPU and memory are reported as unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
SAMPLE_EVERY = 0.25  # seconds between memory samples during a phase
STARTUP_TIMEOUT = 30.0
NGINX = "/usr/sbin/nginx"


# -- /proc ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc); None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM (the lifetime peak of VmRSS) and RssAnon (private) in MB; {} if gone."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon"):
                found[name] = int(value.split()[0]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        return {}
    return found


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (nginx's workers, say)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def pg_backends(database: str) -> list[int]:
    """PostgreSQL's backends serving `database`: their title reads
    `postgres: <cluster>: <user> <database> <host>(<port>) <state>`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            found.append(int(entry.name))
    return found


# -- watching a phase ----------------------------------------------------------------------------


@dataclass
class Usage:
    """What one group of processes used during one phase."""

    cpu: float | None  # CPU seconds, summed over the group's processes
    peak_mb: float  # the largest VmRSS any one process of the group reached
    peak_total_mb: float  # the group's VmRSS summed, at its largest sample
    peak_private_mb: float  # the group's RssAnon (private memory) summed, at its largest
    processes: int


class Watch:
    """CPU and sampled VmRSS of named groups of processes while a phase runs.

    Each group is a function giving its pids, asked at the start and again at the end (a
    PostgreSQL backend opened during the phase is counted from its start)."""

    def __init__(self, groups: Mapping[str, Callable[[], Sequence[int]]]) -> None:
        self.groups = groups
        self._pids: dict[str, list[int]] = {}
        self._cpu_before: dict[int, float | None] = {}
        self._peak: dict[int, float] = {}
        self._peak_total: dict[str, float] = {}
        self._peak_private: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self.usage: dict[str, Usage] = {}

    def _sample(self) -> None:
        for name, pids in self._pids.items():
            total = private = 0.0
            for pid in pids:
                found = memory_mb(pid)
                rss = found.get("VmRSS", 0.0)
                total += rss
                private += found.get("RssAnon", 0.0)
                self._peak[pid] = max(self._peak.get(pid, 0.0), rss)
            self._peak_total[name] = max(self._peak_total.get(name, 0.0), total)
            self._peak_private[name] = max(self._peak_private.get(name, 0.0), private)

    async def _sampler(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_EVERY)
            self._sample()

    async def __aenter__(self) -> Watch:
        self._pids = {name: list(pids()) for name, pids in self.groups.items()}
        self._cpu_before = {p: cpu_seconds(p) for pids in self._pids.values() for p in pids}
        self._sample()
        self._task = asyncio.create_task(self._sampler())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample()
        for name, pids_now in self.groups.items():
            pids = sorted(set(self._pids[name]) | set(pids_now()))
            used: list[float | None] = []
            for pid in pids:
                after = cpu_seconds(pid)
                before = self._cpu_before.get(pid, 0.0)  # new during the phase: all of it
                if pid in self._pids[name] and (after is None or before is None):
                    used.append(None)
                elif after is not None and before is not None:
                    used.append(after - before)
            cpu = None if any(u is None for u in used) else sum(u for u in used if u is not None)
            peaks = [self._peak.get(pid, 0.0) for pid in self._pids[name]]
            self.usage[name] = Usage(
                cpu,
                max(peaks, default=0.0),
                self._peak_total.get(name, 0.0),
                self._peak_private.get(name, 0.0),
                len(pids),
            )


# -- nginx ---------------------------------------------------------------------------------------

NGINX_CONF = """\
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
{blocks}
}}
"""

NGINX_BLOCK = """\
    upstream {name} {{
{servers}
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://{name};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Nginx:
    """A private nginx: each front port proxies to its own upstream of server ports."""

    root: Path
    upstreams: dict[str, list[int]]  # name -> the ports of its servers
    workers: int = 0  # 0: one per CPU (`auto`), as a production nginx is set up
    ports: dict[str, int] = field(default_factory=dict)  # name -> the port it listens on
    proc: subprocess.Popen[bytes] | None = None

    def write_config(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        blocks = []
        for name, servers in self.upstreams.items():
            self.ports[name] = free_port()
            listed = "\n".join(f"        server {HOST}:{port};" for port in servers)
            blocks.append(
                NGINX_BLOCK.format(name=name, servers=listed, host=HOST, port=self.ports[name])
            )
        conf = self.root / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                workers=self.workers or "auto", root=self.root, blocks="\n".join(blocks)
            )
        )
        return conf

    def start(self) -> None:
        binary = NGINX if Path(NGINX).exists() else shutil.which("nginx")
        if binary is None:
            raise FileNotFoundError("nginx is not installed (apt install nginx-light)")
        conf = self.write_config()
        argv = [binary, "-p", str(self.root), "-c", str(conf), "-e", str(self.root / "error.log")]
        with (self.root / "stderr.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [*argv, "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        give_up = time.monotonic() + STARTUP_TIMEOUT
        for port in self.ports.values():
            while not _listening(port):
                if self.proc.poll() is not None or time.monotonic() > give_up:
                    raise RuntimeError(f"nginx did not start:\n{self.log_tail()}")
                time.sleep(0.05)

    def log_tail(self) -> str:
        lines = []
        for name in ("stderr.log", "error.log"):
            with contextlib.suppress(OSError):
                lines += (self.root / name).read_text(errors="replace").splitlines()[-6:]
        return "\n".join("    " + line for line in lines) or "    (no log)"

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        return [self.proc.pid, *children(self.proc.pid)]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((HOST, port)) == 0


# -- Redis ---------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    url: str
    proc: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc.poll() is None else []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def private_redis(workdir: Path) -> PrivateRedis:
    """redis-server on a free loopback port: no RDB, no AOF, its files in `workdir`."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed (apt install redis-server)")
    port = free_port()
    root = workdir / "redis"
    root.mkdir(parents=True, exist_ok=True)
    argv = [binary, "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(root), "--logfile", str(root / "redis.log")]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    give_up = time.monotonic() + STARTUP_TIMEOUT
    redis = PrivateRedis(f"redis://{HOST}:{port}/0", proc)
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > give_up:
            redis.stop()
            raise RuntimeError(f"redis-server did not start (see {root / 'redis.log'})")
        time.sleep(0.05)
    return redis


async def redis_keys(url: str, prefix: str) -> tuple[dict[str, tuple[int, int]], int]:
    """Under `prefix`: for each kind of key (the name up to its first ':'), how many and their
    bytes (MEMORY USAGE); and Redis's used_memory in all."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_connect_timeout=3)
    kinds: dict[str, tuple[int, int]] = {}
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            pipe = client.pipeline(transaction=False)
            for key in batch:
                pipe.memory_usage(key, samples=0)
            for key, used in zip(batch, await pipe.execute(), strict=True):
                kind = key.decode(errors="replace")[len(prefix) :].split(":", 1)[0]
                count, size = kinds.get(kind, (0, 0))
                kinds[kind] = (count + 1, size + int(used or 0))
        used_memory = int((await client.info("memory"))["used_memory"])
    finally:
        await client.aclose()
    return kinds, used_memory
