"""Only one process runs the scheduled jobs: whoever holds the leader key in the cache.

The key expires on its own (`ttl`), so a leader that dies hands over within that time; the
leader renews it on every tick.  Renewal reads then writes, so in a narrow race two processes
could both think they lead for one tick — harmless, because every notice is claimed in the
database before it is sent.
"""

from __future__ import annotations

import os
import secrets

from server.cache import Cache

KEY = "scheduler:leader"


class Leadership:
    def __init__(self, cache: Cache, ttl: float) -> None:
        self.cache = cache
        self.ttl = ttl
        self.me = f"{os.getpid()}:{secrets.token_hex(4)}"

    async def hold(self) -> bool:
        if await self.cache.add(KEY, self.me, self.ttl):
            return True
        if await self.cache.get(KEY) == self.me:
            await self.cache.set(KEY, self.me, self.ttl)
            return True
        return False

    async def release(self) -> None:
        if await self.cache.get(KEY) == self.me:
            await self.cache.delete(KEY)
