"""Only one process runs the scheduled jobs: whoever holds the leader lease in the cache.

The lease is a key holding this process's random token, set only if absent (Redis
`SET NX PX`) and extended or released only while it still holds our token (compare-and-extend,
compare-and-delete: one Lua script each, so no other process's lease is ever touched).  It
expires on its own (`ttl`), so a leader that dies hands over within that time.  A leader that
was paused past its ttl may wake up still running a job: `fence()` before each batch it sends
stops it there, because by then another process holds the lease.

With the embedded in-process cache (no DANGJIAN_REDIS_URL) the lease is one process's own, which
is all that cache supports: several processes need Redis.
"""

from __future__ import annotations

import os
import secrets

from server.cache import Cache
from server.errors import DangjianError

KEY = "scheduler:leader"


class LeaseLost(DangjianError):
    """Another process holds the leader lease now: this one must not send the next batch."""


class Leadership:
    def __init__(self, cache: Cache, ttl: float) -> None:
        self.cache = cache
        self.ttl = ttl
        self.me = f"{os.getpid()}:{secrets.token_hex(8)}"

    async def hold(self) -> bool:
        """Extend our lease, or take a free one; False while another process leads."""
        if await self.cache.swap(KEY, self.me, self.me, self.ttl):
            return True
        return await self.cache.add(KEY, self.me, self.ttl)

    async def still_leader(self) -> bool:
        return await self.cache.get(KEY) == self.me

    async def fence(self) -> None:
        """Raise LeaseLost unless the lease is still ours (before each batch a job sends)."""
        if not await self.still_leader():
            raise LeaseLost("the scheduler lease passed to another process")

    async def release(self) -> None:
        await self.cache.discard(KEY, self.me)
