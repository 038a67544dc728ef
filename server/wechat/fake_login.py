"""Mini-program login: `jscode2session` trades a single-use code for the user's openid."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field

from server.wechat.fake_replies import Reply, error, ok
from server.wechat.fake_tokens import check_credentials


@dataclass
class _Code:
    openid: str
    unionid: str | None
    used: bool = False


@dataclass
class LoginCodes:
    codes: dict[str, _Code] = field(default_factory=dict)

    def add(self, code: str, openid: str, unionid: str | None) -> None:
        self.codes[code] = _Code(openid, unionid)

    def code2session(self, query: dict[str, str], appid_secrets: dict[str, str] | None) -> Reply:
        refused = check_credentials(query.get("appid"), query.get("secret"), appid_secrets)
        if refused:
            return refused
        if query.get("grant_type") != "authorization_code":
            return error(40002)
        code = query.get("js_code")
        if not code:
            return error(41008)
        entry = self.codes.get(code)
        if entry is None or entry.used:
            return error(40029)  # codes are single-use
        entry.used = True
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        reply = ok(openid=entry.openid, session_key=session_key)
        if entry.unionid:
            reply["unionid"] = entry.unionid
        return reply
