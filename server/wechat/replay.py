"""Plaintext mode's weak spot: `signature` covers the token, timestamp and nonce, not the body.

Anyone holding one genuine push URL (a proxy's access log keeps them) could post any body under
it for as long as the timestamp is fresh.  Each signature is therefore bound to the first body
it arrived with; WeChat's own retries repeat the body and pass.  Encrypted modes need none of
this: msg_signature covers the ciphertext.
"""

from __future__ import annotations

import hashlib

from server.cache import Cache
from server.wechat.crypto import SignatureRejected


async def bind_signature_to_body(cache: Cache, signature: str, body: bytes, ttl: float) -> None:
    digest = hashlib.sha256(body).hexdigest()
    key = f"sig:{signature.lower()}"
    if await cache.add(key, digest, ttl) or await cache.get(key) == digest:
        return
    raise SignatureRejected("signature reused with a different body")
