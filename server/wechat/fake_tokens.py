"""Access tokens as WeChat issues them, on its two lines (stable_token and the old /cgi-bin/token).

Tokens live 7,200 s.  `stable_token` in normal mode returns the current token and issues a new one
only in its last 5 minutes (the old one stays valid until it expires); `force_refresh` issues a
new one and invalidates the old one, at most 20 times a (local) day -> 45009, and not within 30 s
of the previous one -> 45011.  Each `/cgi-bin/token` call invalidates the previous *ordinary*
token only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from server.clock import Clock
from server.wechat.fake_replies import Reply, error, ok

TOKEN_LIFETIME = 7200
STABLE_RENEW_BEFORE = 300
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_SPACING = 30


def check_credentials(
    appid: Any, secret: Any, appid_secrets: dict[str, str] | None
) -> Reply | None:
    """None when the appid and secret are good (any pair is, without `appid_secrets`)."""
    if not appid:
        return error(41002)
    if not secret:
        return error(41004)
    if appid_secrets is not None:
        if appid not in appid_secrets:
            return error(40013)
        if not secrets.compare_digest(str(secret), appid_secrets[appid]):
            return error(40125)
    return None


def check_client(params: dict[str, Any], appid_secrets: dict[str, str] | None) -> Reply | None:
    """None when a token request (body or query) asks as a client with good credentials."""
    if params.get("grant_type") != "client_credential":
        return error(40002)
    return check_credentials(params.get("appid"), params.get("secret"), appid_secrets)


@dataclass
class _Token:
    appid: str
    expires_at: float
    valid: bool = True


@dataclass
class _ForceLog:
    day: date | None = None
    count: int = 0
    last: float | None = None


@dataclass
class Tokens:
    tokens: dict[str, _Token] = field(default_factory=dict)
    stable: dict[str, str] = field(default_factory=dict)  # appid -> current stable token
    ordinary: dict[str, str] = field(default_factory=dict)  # appid -> current /cgi-bin/token
    forced: dict[str, _ForceLog] = field(default_factory=dict)

    def stable_token(self, appid: str, force: bool, clock: Clock) -> Reply:
        now = clock.timestamp()
        current = self.stable.get(appid)
        if force:
            refused = self._force_refused(appid, now, clock.today())
            if refused:
                return refused
            if current is not None:
                self.tokens[current].valid = False
        elif current is not None:
            token = self.tokens[current]
            if token.valid and token.expires_at - now > STABLE_RENEW_BEFORE:
                return self._reply(current, clock)
        self.stable[appid] = self._issue(appid, clock)
        return self._reply(self.stable[appid], clock)

    def _force_refused(self, appid: str, now: float, today: date) -> Reply | None:
        """WeChat's limits on force_refresh; an allowed one is counted."""
        log = self.forced.setdefault(appid, _ForceLog())
        if log.day != today:
            log.day, log.count = today, 0
        if log.count >= FORCE_REFRESH_PER_DAY:
            return error(45009, "(force_refresh: 20 a day)")
        if log.last is not None and now - log.last < FORCE_REFRESH_SPACING:
            return error(45011, "(force_refresh: once every 30 s)")
        log.count, log.last = log.count + 1, now
        return None

    def ordinary_token(self, appid: str, clock: Clock) -> Reply:
        previous = self.ordinary.get(appid)
        if previous is not None:
            self.tokens[previous].valid = False
        self.ordinary[appid] = self._issue(appid, clock)
        return self._reply(self.ordinary[appid], clock)

    def check(self, token: str | None, clock: Clock) -> Reply | None:
        """None when `token` may call the API, else WeChat's refusal."""
        if not token:
            return error(41001)
        record = self.tokens.get(token)
        if record is None or not record.valid:
            return error(40001)
        if record.expires_at <= clock.timestamp():
            return error(42001)
        return None

    def expire_all(self, now: float) -> None:
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now)

    def _issue(self, appid: str, clock: Clock) -> str:
        token = secrets.token_urlsafe(48)
        self.tokens[token] = _Token(appid, clock.timestamp() + TOKEN_LIFETIME)
        return token

    def _reply(self, token: str, clock: Clock) -> Reply:
        left = int(self.tokens[token].expires_at - clock.timestamp())
        return ok(access_token=token, expires_in=left)
