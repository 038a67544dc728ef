"""Signatures and AES for pushes, checked the way WeChat documents them.

wechatpy provides the AES-CBC/PKCS#7 envelope (`PrpCrypto`), which we reuse; the signature
checks are ours because wechatpy compares digests with `!=` (not constant-time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct

from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException

from server.errors import DangjianError, ValidationFailed


class SignatureRejected(DangjianError):
    """Forged, missing or stale signature: answered with 403 and nothing else."""

    http_status = 403


class DecryptionFailed(DangjianError):
    http_status = 400


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _same_digest(expected: str, given: str) -> bool:
    # Bytes, so a non-ASCII forgery is a mismatch rather than compare_digest's TypeError.
    return hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace"))


def check_signature(
    token: str, signature: str | None, timestamp: str | None, nonce: str | None
) -> None:
    if not (signature and timestamp and nonce):
        raise SignatureRejected("missing signature, timestamp or nonce")
    if not _same_digest(sha1_signature(token, timestamp, nonce), signature):
        raise SignatureRejected("signature mismatch")


def check_msg_signature(
    token: str, msg_signature: str | None, timestamp: str, nonce: str, encrypted: str
) -> None:
    if not msg_signature:
        raise SignatureRejected("missing msg_signature")
    if not _same_digest(sha1_signature(token, timestamp, nonce, encrypted), msg_signature):
        raise SignatureRejected("msg_signature mismatch")


def check_fresh(timestamp: str, now: float, max_age: int) -> None:
    """Reject a replayed push: WeChat retries within seconds, never minutes later."""
    # Ten digits of seconds until 2286; a longer number cannot be compared with a float (a 500).
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise ValidationFailed("timestamp: 应为秒数（最多 12 位数字）", field="timestamp")
    sent = int(timestamp)
    if abs(now - sent) > max_age:
        raise SignatureRejected("stale timestamp")


def _key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def decrypt(encrypted: str, keys: list[str], appid: str) -> tuple[str, str]:
    """Decrypt with the current key, then the previous one (key rotation); check the appid.

    Returns the plaintext and the key that worked: the reply is encrypted with the same key,
    so a sender still on the previous key can read it.
    """
    for aes_key in keys:
        try:
            plain = PrpCrypto(_key(aes_key)).decrypt(encrypted, appid)
        # A wrong key yields garbage, which surfaces as a bad appid, bad padding or bad UTF-8:
        # none of them tells "other appid" from "other key", so every key gets its try.
        except (InvalidAppIdException, ValueError, IndexError, struct.error, binascii.Error):
            continue
        text = plain.decode("utf-8") if isinstance(plain, bytes) else str(plain)
        return text, aes_key
    raise DecryptionFailed("cannot decrypt with the configured EncodingAESKey and appid")


def encrypt(plain: str, aes_key: str, appid: str) -> str:
    raw = PrpCrypto(_key(aes_key)).encrypt(plain, appid)
    return raw.decode("ascii") if isinstance(raw, bytes) else str(raw)


def new_nonce(length: int = 10) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def encrypted_reply_xml(
    plain_reply: str, token: str, aes_key: str, appid: str, timestamp: str
) -> str:
    """The safe-mode envelope WeChat expects around a passive reply."""
    ciphertext = encrypt(plain_reply, aes_key, appid)
    nonce = new_nonce()
    signature = sha1_signature(token, timestamp, nonce, ciphertext)
    return (
        "<xml>"
        f"<Encrypt><![CDATA[{ciphertext}]]></Encrypt>"
        f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp>"
        f"<Nonce><![CDATA[{nonce}]]></Nonce>"
        "</xml>"
    )
