"""The fake WeChat API's answers: always an `errcode`, with WeChat's own `errmsg` wording."""

from __future__ import annotations

import secrets
from typing import Any

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
}

Reply = dict[str, Any]


def error(errcode: int, detail: str = "") -> Reply:
    # Real errmsgs end with a request id; callers must not compare errmsg exactly.
    text = f"{ERRMSG.get(errcode, 'error')}{' ' + detail if detail else ''}"
    return {"errcode": errcode, "errmsg": f"{text} rid: {secrets.token_hex(6)}"}


def ok(**fields: Any) -> Reply:
    return {"errcode": 0, "errmsg": "ok", **fields}
