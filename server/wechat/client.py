"""The one async client for every outbound WeChat API call.

Token handling follows WeChat's advice for several processes: the stable token
(`POST /cgi-bin/stable_token`) kept once per appid in the shared cache and refreshed under a
cache lock, so processes never knock each other's token out.  Failures are sorted into three
kinds: token rejected (refresh once, retry once), transient (-1 or the network: back off and
retry, then `WeChatUnavailable`) and final (anything else: `WeChatAPIError` at once).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

from server.cache import Cache, LockTimeout
from server.clock import Clock
from server.errors import WeChatAPIError, WeChatUnavailable
from server.metrics import Metrics

log = logging.getLogger("dangjian.wechat")

# Renew a little before WeChat's expiry so a token is never used in its last minutes.
TOKEN_MARGIN = 300

API_STABLE_TOKEN = "stable_token"
API_CUSTOM_SEND = "custom_send"
API_SUBSCRIBE_SEND = "subscribe_send"
API_TEMPLATE_SEND = "template_send"
API_CODE2SESSION = "code2session"
API_OAUTH_TOKEN = "oauth_access_token"
API_PHONE_NUMBER = "getuserphonenumber"
API_USER_INFO = "user_info"


class _Transient(Exception):
    """One attempt failed in a way worth retrying; `label` is the metrics errcode."""

    def __init__(self, label: str, detail: str, *, maybe_delivered: bool = False) -> None:
        super().__init__(detail)
        self.label = label
        self.detail = detail
        # The request may have reached WeChat (timeout, dropped connection): resending a
        # message could deliver it twice.
        self.maybe_delivered = maybe_delivered


def mask(value: str) -> str:
    """Enough of an openid to tell users apart in logs, not enough to identify one."""
    return f"{value[:4]}…{value[-2:]}" if len(value) > 8 else "…"


class WeChatClient:
    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        base_url: str,
        appid: str,
        secret: str,
        cache: Cache,
        clock: Clock,
        metrics: Metrics | None = None,
        max_attempts: int = 3,
        backoff: float = 0.2,
        timeout: float = 5.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._cache = cache
        self._clock = clock
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token_key = f"wechat:token:{appid}"
        self._local_lock = asyncio.Lock()
        # The lock must outlive the slowest refresh we allow (two stable_token calls, each
        # with every retry), or a second process would refresh alongside us.
        self._lock_ttl = 2 * max_attempts * (timeout + backoff * 2**max_attempts)

    # --- access token ----------------------------------------------------------------------

    async def access_token(self) -> str:
        token = await self._cache.get(self._token_key)
        if token:
            return token
        return await self._refresh(rejected=None)

    async def _refresh(self, rejected: str | None) -> str:
        """Get a fresh token under the lock; `rejected` is the token WeChat just refused."""
        # Callers in this process queue here, so only one of them polls the shared lock.
        async with self._local_lock:
            cached = await self._cache.get(self._token_key)
            if cached and cached != rejected:
                return cached
            try:
                async with self._cache.lock(
                    self._token_key, ttl=self._lock_ttl, wait=self._lock_ttl
                ):
                    return await self._refresh_locked(rejected)
            except LockTimeout:
                raise WeChatUnavailable(
                    "another process held the token refresh lock too long", api=API_STABLE_TOKEN
                ) from None

    async def _refresh_locked(self, rejected: str | None) -> str:
        # Another process may have refreshed while we waited for the lock.
        cached = await self._cache.get(self._token_key)
        if cached and cached != rejected:
            return cached
        token, expires_in = await self._fetch_token(force=False)
        if rejected is not None and token == rejected:
            # Normal mode hands back the current token even when WeChat has just refused it
            # (revoked elsewhere); only force_refresh replaces it.
            log.warning("stable token was rejected but re-issued; forcing a refresh")
            token, expires_in = await self._fetch_token(force=True)
        ttl = expires_in - TOKEN_MARGIN
        if ttl > 0:
            await self._cache.set(self._token_key, token, ttl=ttl)
        else:
            await self._cache.delete(self._token_key)
        log.info("access token refreshed for appid %s (cached for %ss)", self._appid, ttl)
        return token

    async def _fetch_token(self, *, force: bool) -> tuple[str, int]:
        payload = {
            "grant_type": "client_credential",
            "appid": self._appid,
            "secret": self._secret,
            "force_refresh": force,
        }
        data = await self._attempts(API_STABLE_TOKEN, "POST", "/cgi-bin/stable_token", {}, payload)
        code = _errcode(data)
        if code != 0:
            raise self._final_error(API_STABLE_TOKEN, code, data)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeChatAPIError(-1, "no access_token in the answer", api=API_STABLE_TOKEN)
        return token, int(data.get("expires_in", 7200))

    # --- the API calls ---------------------------------------------------------------------

    async def send_custom_text(self, openid: str, content: str) -> dict[str, Any]:
        payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        return await self.send_custom(payload)

    async def send_custom(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.call(
            API_CUSTOM_SEND, "/cgi-bin/message/custom/send", payload=payload, idempotent=False
        )

    async def send_subscribe(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        page: str | None = None,
        miniprogram_state: str = "formal",
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": data,
            "miniprogram_state": miniprogram_state,
        }
        if page is not None:
            payload["page"] = page
        return await self.call(
            API_SUBSCRIBE_SEND, "/cgi-bin/message/subscribe/send", payload=payload, idempotent=False
        )

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: dict[str, Any],
        url: str | None = None,
        miniprogram: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url is not None:
            payload["url"] = url
        if miniprogram is not None:
            payload["miniprogram"] = miniprogram
        return await self.call(
            API_TEMPLATE_SEND, "/cgi-bin/message/template/send", payload=payload, idempotent=False
        )

    async def code2session(self, js_code: str) -> dict[str, Any]:
        """Exchange a mini-program login code; the session_key must never leave the server."""
        params = {
            "appid": self._appid,
            "secret": self._secret,
            "js_code": js_code,
            "grant_type": "authorization_code",
        }
        return await self.call(
            API_CODE2SESSION,
            "/sns/jscode2session",
            method="GET",
            params=params,
            with_token=False,
            idempotent=False,  # a login code is single-use
        )

    async def phone_number(self, code: str) -> str:
        """The phone number the user let the mini-program verify (getPhoneNumber's code).

        Codes are single-use and live 5 minutes (40029 otherwise).  Only the number without
        its country code is returned; the rest of `phone_info` is of no use to us.
        """
        answer = await self.call(
            API_PHONE_NUMBER,
            "/wxa/business/getuserphonenumber",
            payload={"code": code},
            idempotent=False,  # a code is single-use: never resent
        )
        info = answer.get("phone_info")
        number = info.get("purePhoneNumber") if isinstance(info, dict) else None
        if not isinstance(number, str) or not number:
            raise WeChatAPIError(-1, "answered without phone_info", api=API_PHONE_NUMBER)
        return number

    async def follower_unionid(self, openid: str) -> str | None:
        """A 公众号 follower's unionid (user/info), None when WeChat gives none: the account is
        not bound to an open platform, or the user does not follow it."""
        answer = await self.call(
            API_USER_INFO,
            "/cgi-bin/user/info",
            method="GET",
            params={"openid": openid, "lang": "zh_CN"},
        )
        unionid = answer.get("unionid")
        return unionid if isinstance(unionid, str) and unionid else None

    async def oauth_access_token(self, code: str) -> dict[str, Any]:
        """网页授权: the code WeChat's browser brought back, for the user's openid (this
        account's).  Codes are single-use (40029 invalid or expired, 40163 used already)."""
        params = {
            "appid": self._appid,
            "secret": self._secret,
            "code": code,
            "grant_type": "authorization_code",
        }
        return await self.call(
            API_OAUTH_TOKEN,
            "/sns/oauth2/access_token",
            method="GET",
            params=params,
            with_token=False,
            idempotent=False,  # a code is single-use: never resent
        )

    async def call(
        self,
        api: str,
        path: str,
        *,
        method: str = "POST",
        payload: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        with_token: bool = True,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Any WeChat API: `api` labels metrics and errors, `path` is relative to base_url.

        `idempotent=False` (message sends, login codes): an attempt that may have reached
        WeChat is not repeated, so a member never gets the same message twice.
        """
        refreshed = False
        while True:
            query = dict(params or {})
            token = None
            if with_token:
                token = await self.access_token()
                query["access_token"] = token
            data = await self._attempts(api, method, path, query, payload, idempotent)
            code = _errcode(data)
            if code == 0:
                return data
            if token is not None and code in WeChatAPIError.TOKEN_INVALID and not refreshed:
                # Once only: a second rejection means something a refresh cannot fix.
                log.warning("%s: token rejected (%s); refreshing and retrying once", api, code)
                refreshed = True
                await self._refresh(rejected=token)
                continue
            self._log_refusal(api, code, payload)
            raise self._final_error(api, code, data)

    # --- transport -------------------------------------------------------------------------

    async def _attempts(
        self,
        api: str,
        method: str,
        path: str,
        query: dict[str, str],
        payload: dict[str, Any] | None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Send with back-off on -1 and network errors; return the first other answer."""
        last = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                data = await self._once(method, path, query, payload)
            except _Transient as exc:
                self._count(api, exc.label)
                last = exc.detail
                if exc.maybe_delivered and not idempotent:
                    raise WeChatUnavailable(
                        f"{last}; not resent, it may have been delivered",
                        api=api,
                        maybe_delivered=True,
                    ) from None
            else:
                code = _errcode(data)
                self._count(api, str(code))
                if code != -1:
                    return data
                last = f"system busy: {data.get('errmsg', '')}"
            log.warning("%s attempt %d/%d failed: %s", api, attempt, self._max_attempts, last)
            if attempt < self._max_attempts:
                await self._clock.sleep(self._backoff * 2 ** (attempt - 1))
        raise WeChatUnavailable(f"{last} (after {self._max_attempts} attempts)", api=api)

    async def _once(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        payload: dict[str, Any] | None,
    ) -> dict[str, Any]:
        # ensure_ascii=False: WeChat shows \uXXXX escapes literally in some messages.
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if body else None
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                params=query,
                data=body,
                headers=headers,
                timeout=self._timeout,
            ) as resp:
                resp.raise_for_status()
                raw = await resp.read()
        except aiohttp.ClientResponseError as exc:
            # Never str(exc): it carries the URL, and so the access token or the secret.
            # A 5xx comes from somewhere between us and WeChat's API after the request left:
            # WeChat may have acted on it.  A 4xx was refused before anything was done.
            raise _Transient(
                "network", f"HTTP {exc.status}", maybe_delivered=exc.status >= 500
            ) from None
        except aiohttp.ClientConnectorError as exc:
            # Never connected, so nothing was sent: always safe to try again.
            raise _Transient("network", type(exc).__name__) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Transient("network", type(exc).__name__, maybe_delivered=True) from None
        try:
            # WeChat labels some JSON answers text/plain, so parse the bytes ourselves.
            data = json.loads(raw)
        except ValueError:
            # Answered, but not in words we can read: it may have been done.
            raise _Transient(
                "network", "unreadable answer (not JSON)", maybe_delivered=True
            ) from None
        if not isinstance(data, dict):
            raise _Transient("network", "unreadable answer (not an object)", maybe_delivered=True)
        return data

    # --- bookkeeping -----------------------------------------------------------------------

    def _count(self, api: str, errcode: str) -> None:
        if self._metrics is not None:
            self._metrics.outbound_calls.labels(api=api, errcode=errcode).inc()

    def _final_error(self, api: str, code: int, data: dict[str, Any]) -> WeChatAPIError:
        errmsg = str(data.get("errmsg", ""))
        if code == 48001:
            log.error(
                "WeChat API %s is not authorised for appid %s (48001): enable it for this "
                "account in the WeChat console or fix the configured appid",
                api,
                self._appid,
            )
        elif code == 45009:
            log.error("WeChat API %s: daily quota reached (45009); retry tomorrow", api)
        return WeChatAPIError(code, errmsg, api=api)

    def _log_refusal(self, api: str, code: int, payload: dict[str, Any] | None) -> None:
        if code in WeChatAPIError.CHANNEL_CLOSED:
            touser = str((payload or {}).get("touser", ""))
            log.info("%s refused for %s: %s (channel closed)", api, mask(touser), code)


def _errcode(data: dict[str, Any]) -> int:
    # Successful token and login answers carry no errcode at all.
    try:
        return int(data.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1
