"""Who sent this message: the hot lookup that runs for every push.

Written as one prepared SQL join rather than an ORM query: tortoise spends about three times
longer building `filter(...).select_related("member")` than the database spends answering it
(measured with bench/webhook.py under cProfile).  On top of that, `IdentityDirectory` keeps
recent answers in memory for a few seconds: on SQLite every query queues on one connection,
and the lookup was what capped throughput (bench/webhook.py: ~740 → ~1,700 msgs/s).

Staleness is bounded two ways: a bind (or anything else that changes who someone is) calls
`forget`, which every server process hears through the cache's publish/subscribe; and each
entry expires after DANGJIAN_IDENTITY_TTL seconds, which covers changes made by another
program (an import run from the command line).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from typing import Any

from tortoise import connections

from server.cache import Cache
from server.clock import Clock
from server.models.people import Member, WeChatIdentity

log = logging.getLogger("dangjian.identities")
CHANNEL = "identity-changed"


def _select(placeholders: tuple[str, str]) -> str:
    identity_cols = sorted(WeChatIdentity._meta.db_fields)
    member_cols = sorted(Member._meta.db_fields)
    columns = [f'i."{c}" AS "i_{c}"' for c in identity_cols]
    columns += [f'm."{c}" AS "m_{c}"' for c in member_cols]
    return (
        f"SELECT {', '.join(columns)} FROM wechat_identity i "
        "JOIN member m ON m.id = i.member_id "
        f"WHERE i.appid = {placeholders[0]} AND i.openid = {placeholders[1]}"
    )


_SQL: dict[str, str] = {}


def _sql_for(dialect: str) -> str:
    if dialect not in _SQL:
        _SQL[dialect] = _select(("$1", "$2") if dialect == "postgres" else ("?", "?"))
    return _SQL[dialect]


async def _fetch_row(appid: str, openid: str) -> dict[str, Any] | None:
    connection = connections.get("default")
    rows = await connection.execute_query_dict(
        _sql_for(connection.capabilities.dialect), [appid, openid]
    )
    return dict(rows[0]) if rows else None


def _build(row: dict[str, Any] | None) -> WeChatIdentity | None:
    # Fresh instances every time, so a handler that edits its member never edits the cache.
    if row is None:
        return None
    identity = WeChatIdentity._init_from_db(
        **{k[2:]: v for k, v in row.items() if k.startswith("i_")}
    )
    identity.member = Member._init_from_db(
        **{k[2:]: v for k, v in row.items() if k.startswith("m_")}
    )
    return identity


async def find_identity(appid: str, openid: str) -> WeChatIdentity | None:
    """The identity with its member loaded, or None for a user who has not bound yet."""
    return _build(await _fetch_row(appid, openid))


class IdentityDirectory:
    def __init__(self, cache: Cache, clock: Clock, ttl: float, max_entries: int = 50_000) -> None:
        self.cache = cache
        self.clock = clock
        self.ttl = ttl
        self.max_entries = max_entries
        self._rows: OrderedDict[tuple[str, str], tuple[float, dict[str, Any] | None]] = (
            OrderedDict()
        )
        # Bumped by every forget: a row read before a forget is not cached after it.
        self._generation = 0

    async def find(self, appid: str, openid: str) -> WeChatIdentity | None:
        key = (appid, openid)
        now = self.clock.timestamp()
        cached = self._rows.get(key)
        if cached is not None and cached[0] > now:
            self._rows.move_to_end(key)
            return _build(cached[1])
        generation = self._generation
        row = await _fetch_row(appid, openid)
        if self.ttl > 0 and generation == self._generation:
            self._rows[key] = (now + self.ttl, row)
            self._rows.move_to_end(key)
            while len(self._rows) > self.max_entries:
                self._rows.popitem(last=False)
        return _build(row)

    async def forget(self, appid: str, openid: str) -> None:
        """This user's identity changed: drop it here and in every other process."""
        self._drop(appid, openid)
        await self.cache.publish(CHANNEL, json.dumps([appid, openid]))

    async def forget_everyone(self) -> None:
        self._drop_all()
        await self.cache.publish(CHANNEL, "*")

    def _drop(self, appid: str, openid: str) -> None:
        self._generation += 1
        self._rows.pop((appid, openid), None)

    def _drop_all(self) -> None:
        self._generation += 1
        self._rows.clear()

    def _heard(self, message: str) -> None:
        if message == "*":
            self._drop_all()
            return
        with contextlib.suppress(ValueError, TypeError):
            appid, openid = json.loads(message)
            self._drop(str(appid), str(openid))

    async def listen(self) -> None:
        """Apply other processes' `forget`s; run as a task for the server's lifetime."""
        while True:
            try:
                async for message in self.cache.subscribe(CHANNEL):
                    self._heard(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Lost the subscription (Redis restarted): what we hold may be stale now.
                self._drop_all()
                log.warning("identity invalidation feed lost, retrying: %s", exc)
                await asyncio.sleep(1)
