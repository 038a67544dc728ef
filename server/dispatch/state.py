"""Per-user conversation state for multi-turn flows (写心得 → the text; 绑定 → the full number).

Kept in the shared cache so the next message may land on another process; it expires on its
own after DANGJIAN_CONVERSATION_TIMEOUT so an abandoned flow never traps the user.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from server.cache import Cache, conversation_key


class Conversation:
    def __init__(self, cache: Cache, key: str, ttl: float) -> None:
        self._cache = cache
        self._key = key
        self._ttl = ttl
        self.name: str | None = None
        self.data: dict[str, Any] = {}
        self._dirty = False

    @staticmethod
    def key_for(appid: str, openid: str) -> str:
        return conversation_key(appid, openid)

    @classmethod
    async def load(
        cls,
        cache: Cache,
        appid: str,
        openid: str,
        ttl: float,
        prefetched: str | Literal[False] | None = False,
    ) -> Conversation:
        """`prefetched`: the stored value when the caller already read it (False: read it)."""
        conv = cls(cache, cls.key_for(appid, openid), ttl)
        raw = await cache.get(conv._key) if prefetched is False else prefetched
        if raw:
            try:
                stored = json.loads(raw)
                conv.name = stored.get("name")
                conv.data = stored.get("data") or {}
            except (ValueError, AttributeError):
                conv._dirty = True  # unreadable state is dropped, not trusted
        return conv

    def set(self, state: str, /, **data: Any) -> None:
        self.name, self.data, self._dirty = state, data, True

    def clear(self) -> None:
        if self.name is not None or self.data:
            self.name, self.data, self._dirty = None, {}, True

    def is_in(self, name: str) -> bool:
        return self.name == name

    async def save(self) -> None:
        if not self._dirty:
            return
        if self.name is None:
            await self._cache.delete(self._key)
        else:
            await self._cache.set(
                self._key, json.dumps({"name": self.name, "data": self.data}), self._ttl
            )
        self._dirty = False
