"""Web authorisation (网页授权) as WeChat runs it for a page opened in WeChat's own browser.

`GET /connect/oauth2/authorize` is a page WeChat shows, not an API: for `scope=snsapi_base` it
redirects the browser at once to `redirect_uri?code=CODE&state=STATE`.  Which WeChat user is
browsing is known to WeChat from its own app; the fake learns it from the harness
(`X-Fake-WeChat-User: <openid>`, standing in for WeChat's in-app browser).  Outside WeChat, it
answers with WeChat's page 请在微信客户端打开链接.  Bad parameters get WeChat's error page with
its code (10003 redirect_uri, 10004 no such appid / scope wrong, 10005 response_type).

`GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code` trades the code
for the user's openid.  Codes are single-use and live five minutes: an unknown or expired code
is 40029, one used already 40163, a code issued to another appid 40029.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from server.wechat.fake_replies import Reply, error, ok
from server.wechat.fake_tokens import check_credentials

CODE_LIFETIME = 300
SCOPES = frozenset({"snsapi_base", "snsapi_userinfo"})
OUTSIDE_WECHAT = "请在微信客户端打开链接"


@dataclass
class _Code:
    appid: str
    openid: str
    scope: str
    expires_at: float
    used: bool = False


@dataclass(frozen=True)
class Page:
    """What WeChat's browser shows: a redirect, or a page with text (an error, say)."""

    status: int
    location: str | None = None
    text: str = ""


@dataclass
class WebAuth:
    codes: dict[str, _Code] = field(default_factory=dict)

    def authorize(
        self,
        query: dict[str, str],
        user: str | None,
        now: float,
        appids: set[str] | None,
    ) -> Page:
        appid, redirect = query.get("appid", ""), query.get("redirect_uri", "")
        if not appid or (appids is not None and appid not in appids):
            return Page(400, text="10016: appid 参数错误")
        parts = urlsplit(redirect)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return Page(400, text="10003: redirect_uri 参数错误")
        if query.get("response_type") != "code":
            return Page(400, text="10005: response_type 参数错误")
        scope = query.get("scope", "")
        if scope not in SCOPES:
            return Page(400, text="10004: scope 参数错误")
        if not user:
            return Page(200, text=OUTSIDE_WECHAT)
        code = secrets.token_hex(16)
        self.codes[code] = _Code(appid, user, scope, now + CODE_LIFETIME)
        back = {"code": code, "state": query.get("state", "")}
        glue = "&" if parts.query else "?"
        return Page(302, location=redirect + glue + urlencode(back))

    def access_token(
        self, query: dict[str, str], now: float, appid_secrets: dict[str, str] | None
    ) -> Reply:
        refused = check_credentials(query.get("appid"), query.get("secret"), appid_secrets)
        if refused:
            return refused
        if query.get("grant_type") != "authorization_code":
            return error(40002)
        code = query.get("code")
        if not code:
            return error(41008)
        entry = self.codes.get(code)
        if entry is None or entry.expires_at <= now or entry.appid != query.get("appid"):
            return error(40029)
        if entry.used:
            return error(40163)
        entry.used = True
        return ok(
            access_token=secrets.token_urlsafe(32),
            expires_in=7200,
            refresh_token=secrets.token_urlsafe(32),
            openid=entry.openid,
            scope=entry.scope,
        )
