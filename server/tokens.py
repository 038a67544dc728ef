"""Opaque bearer secrets (API tokens, dashboard links and sessions): made, checked, hashed.

Only a token's SHA-256 is ever stored, so a dump of the cache or the database cannot be
replayed.  A string far from the shape of a token is refused without a lookup.
"""

from __future__ import annotations

import hashlib
import secrets

# secrets.token_urlsafe(32) gives 43 of these characters.
_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str | None) -> bool:
    return token is not None and 20 <= len(token) <= 100 and set(token) <= _CHARS
