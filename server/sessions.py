"""The REST API's opaque bearer tokens for the mini-program, kept in the cache with an expiry.

The token itself is never stored: the cache key is its SHA-256, so a leaked cache dump
cannot be replayed.  WeChat's `session_key` is kept beside the openid for server-side use
(decrypting phone numbers later) and never returned.  Revoking is deleting the key.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.cache import Cache
from server.clock import Clock
from server.models.people import Member
from server.services.people.identities import IdentityDirectory
from server.tokens import TokenStore

_KEY = "api:session:"


@dataclass
class Session:
    """A signed-in mini-program user; `member` is None until they bind."""

    token_hash: str
    appid: str
    openid: str
    unionid: str | None
    member: Member | None
    expires_at: float


@dataclass(frozen=True)
class Stored:
    appid: str
    openid: str
    unionid: str | None
    expires_at: float


class SessionStore:
    def __init__(self, cache: Cache, clock: Clock, ttl: int) -> None:
        self.tokens = TokenStore(cache, _KEY, ttl)
        self.clock = clock
        self.ttl = ttl

    async def open(self, *, appid: str, openid: str, unionid: str | None, session_key: str) -> str:
        stored = Stored(appid, openid, unionid, self.clock.timestamp() + self.ttl)
        return await self.tokens.issue({**stored.__dict__, "session_key": session_key})

    async def find(self, token: str) -> tuple[str, Stored] | None:
        found = await self.tokens.read(token)
        if found is None:
            return None
        digest, data = found
        stored = Stored(data["appid"], data["openid"], data["unionid"], data["expires_at"])
        if stored.expires_at <= self.clock.timestamp():
            return None
        return digest, stored

    async def revoke(self, digest: str) -> None:
        await self.tokens.revoke(digest)


async def resolve(store: SessionStore, identities: IdentityDirectory, token: str) -> Session | None:
    """The session behind a token, with its member looked up now: bound in chat is bound here."""
    found = await store.find(token)
    if found is None:
        return None
    digest, stored = found
    identity = await identities.find(stored.appid, stored.openid)
    member = None
    if identity is not None:
        member = await Member.get_or_none(id=identity.member_id).prefetch_related("organisation")
    return Session(digest, stored.appid, stored.openid, stored.unionid, member, stored.expires_at)
