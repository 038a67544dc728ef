"""Running the server: our own AppRunner so that a failed start unwinds what it opened.

aiohttp's `run_app` sets the application up outside its try/finally: a start that failed at
the cache left the database open, and aiosqlite's thread kept the process alive.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from server.app import create_app
from server.errors import ConfigError
from server.heap import settle
from server.settings import Settings

log = logging.getLogger("dangjian")


async def serve(settings: Settings, *, reuse_port: bool = False) -> None:
    runner = web.AppRunner(create_app(settings), access_log=None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port or None)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(
                f"DANGJIAN_HOST/DANGJIAN_PORT: cannot listen on {settings.host}:{settings.port} "
                f"({exc.strerror or exc})"
            ) from None
        settle()  # what start-up built lives as long as the process: out of the collector's way
        log.info("serving on http://%s:%s", settings.host, settings.port)
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()
