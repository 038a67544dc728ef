"""`dangjian serve --workers N`: N server processes on one port, for a server with N cores.

Each worker is a whole `dangjian serve` listening on the same address with SO_REUSEPORT, so
the kernel spreads connections among them; no worker depends on another.  Only the first runs
the scheduler (the others set DANGJIAN_SCHEDULER off), and the Redis leader lease makes sure of
one leader even across machines.  Several processes share only what PostgreSQL and Redis hold,
so both are required: the in-process cache and SQLite are one process's.

The parent applies the migrations once, then only supervises: a worker that dies is started
again, unless workers keep dying right after starting (a port in use, a bad setting), when it
stops them all and exits 1 rather than loop.  SIGTERM or SIGINT stops the workers, each
finishing what it holds as a lone `serve` would.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from server.errors import ConfigError
from server.settings import Settings

log = logging.getLogger("dangjian")
EARLY_DEATH = 5.0  # seconds: a worker dying sooner than this after its start is not restarted
MAX_EARLY_DEATHS = 3
STOP_GRACE = 40.0  # seconds: a worker's own shutdown waits up to 30 s for a job in progress


def check_workers(settings: Settings, workers: int) -> None:
    if workers <= 1:
        return
    if not settings.redis_url:
        raise ConfigError(
            "DANGJIAN_REDIS_URL: --workers needs Redis, which the workers share (WeChat's "
            "retries, conversations, the access token, the scheduler's lease)"
        )
    if not settings.is_postgres:
        raise ConfigError("DANGJIAN_DB_URL: --workers needs PostgreSQL; SQLite is for one process")


def _worker(settings: Settings, index: int) -> None:
    # A fresh interpreter (spawn): its own logging and event loop, nothing inherited.
    import asyncio

    from server.cli import use_fast_event_loop
    from server.logs import setup_logging
    from server.serving import serve

    setup_logging(settings.log_level)
    _stop_with(os.getppid())
    if index > 0:
        settings = settings.model_copy(update={"scheduler": False})
    use_fast_event_loop()
    asyncio.run(serve(settings, reuse_port=True))


def _stop_with(parent: int) -> None:
    """A worker whose supervisor died without stopping it (SIGKILL, OOM) stops too, rather
    than hold the port for a `serve --workers` started again after it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)  # the worker's own graceful stop

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


class Supervisor:
    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        self.context = multiprocessing.get_context("spawn")
        self.running: dict[int, BaseProcess] = {}
        self.started: dict[int, float] = {}
        self.early_deaths = 0
        self.stopping = False

    def start(self, index: int) -> None:
        process = self.context.Process(
            target=_worker, args=(self.settings, index), name=f"dangjian-worker-{index}"
        )
        process.start()
        self.running[index] = process
        self.started[index] = time.monotonic()
        log.info("worker %d started (pid %s)", index, process.pid)

    def stop(self, signum: int, frame: FrameType | None = None) -> None:
        self.stopping = True

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.stop)
        for index in range(self.workers):
            self.start(index)
        status = 0
        while not self.stopping:
            wait([p.sentinel for p in self.running.values()], timeout=0.5)
            for index, process in list(self.running.items()):
                if process.is_alive() or self.stopping:
                    continue
                lived = time.monotonic() - self.started[index]
                log.error("worker %d exited (code %s) after %.0f s", index, process.exitcode, lived)
                self.early_deaths = self.early_deaths + 1 if lived < EARLY_DEATH else 0
                if self.early_deaths >= MAX_EARLY_DEATHS:
                    log.error("workers keep dying at start; stopping them all")
                    self.stopping, status = True, 1
                    break
                self.start(index)
        self.shutdown()
        return status

    def shutdown(self) -> None:
        for process in self.running.values():
            if process.is_alive() and process.pid is not None:
                process.terminate()  # SIGTERM: the worker's own graceful stop
        deadline = time.monotonic() + STOP_GRACE
        for process in self.running.values():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        log.info("all workers stopped")
