"""Opaque bearer secrets (API tokens, dashboard links and sessions): made, checked, hashed.

Only a token's SHA-256 is ever stored, so a dump of the cache or the database cannot be
replayed.  A string far from the shape of a token is refused without a lookup.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from server.cache import Cache

# secrets.token_urlsafe(32) gives 43 of these characters.
_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str | None) -> bool:
    return token is not None and 20 <= len(token) <= 100 and set(token) <= _CHARS


class TokenStore:
    """A value kept in the cache under a token's hash for `ttl` seconds: sessions of any kind."""

    def __init__(self, cache: Cache, prefix: str, ttl: int) -> None:
        self.cache = cache
        self.prefix = prefix
        self.ttl = ttl

    async def issue(self, value: dict[str, Any]) -> str:
        token = new_token()
        await self.cache.set(self.prefix + token_hash(token), json.dumps(value), ttl=self.ttl)
        return token

    async def read(self, token: str | None) -> tuple[str, dict[str, Any]] | None:
        """The token's hash and its value; None when forged, expired or revoked."""
        if not well_formed(token):
            return None
        digest = token_hash(token or "")
        raw = await self.cache.get(self.prefix + digest)
        return None if raw is None else (digest, json.loads(raw))

    async def revoke(self, digest: str) -> None:
        await self.cache.delete(self.prefix + digest)
