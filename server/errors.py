"""The one error hierarchy.

Domain code raises these; the chat dispatcher (`server/dispatch.py`) and the HTTP layer
(`server/http_errors.py`) each translate them in exactly one place.  `user_message` is what a
member may read: polite, in Chinese, with no internals.
"""

from __future__ import annotations


class DangjianError(Exception):
    """Base of every error the project raises on purpose."""

    user_message = "抱歉，暂时无法处理这个请求，请稍后再试。"
    http_status = 400
    code = "ERROR"  # stable, for a program to tell refusals apart; each class has its own

    def __init__(
        self, message: str | None = None, *, field: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message or self.user_message)
        if message:
            self.user_message = message
        self.field = field
        if code:
            self.code = code  # a particular refusal: SIGNIN_WRONG_CODE, MEETING_CLASH, …


class ConfigError(DangjianError):
    """Configuration is invalid; raised at start-up only."""

    http_status = 500
    code = "CONFIG"


class ValidationFailed(DangjianError):
    """Input is malformed; `field` names what is wrong."""

    http_status = 400
    code = "INVALID"


class NotFound(DangjianError):
    http_status = 404
    code = "NOT_FOUND"


class Conflict(DangjianError):
    http_status = 409
    code = "CONFLICT"


class Unauthorized(DangjianError):
    """No valid sign-in: a missing, expired, revoked or forged token."""

    user_message = "请先登录（登录已过期或凭证无效）。"
    http_status = 401
    code = "UNAUTHORIZED"


class PermissionDenied(DangjianError):
    user_message = "抱歉，您没有权限进行这个操作。"
    http_status = 403
    code = "FORBIDDEN"


class RateLimited(DangjianError):
    user_message = "尝试次数过多，请一小时后再试。"
    http_status = 429
    code = "RATE_LIMITED"

    def __init__(
        self, message: str | None = None, *, retry_after: int = 3600, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)  # seconds: the HTTP answer's Retry-After


class WeChatAPIError(DangjianError):
    """An outbound WeChat API call failed; carries WeChat's errcode and errmsg."""

    http_status = 502
    code = "WECHAT_API"

    def __init__(self, errcode: int, errmsg: str = "", *, api: str = "") -> None:
        super().__init__(f"WeChat API {api or 'call'} failed: {errcode} {errmsg}".strip())
        self.user_message = DangjianError.user_message
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api

    # Codes that close one delivery channel for one user: try the next channel, don't retry.
    CHANNEL_CLOSED = frozenset({43101, 43004, 45015, 45047})
    TOKEN_INVALID = frozenset({40001, 40014, 42001})

    @property
    def channel_closed(self) -> bool:
        return self.errcode in self.CHANNEL_CLOSED

    @property
    def quota_exhausted(self) -> bool:
        return self.errcode == 45009

    @property
    def transient(self) -> bool:
        return self.errcode == -1


class WeChatUnavailable(WeChatAPIError):
    """The API could not be reached (network error or repeated system-busy)."""

    def __init__(self, detail: str, *, api: str = "", maybe_delivered: bool = False) -> None:
        super().__init__(-1, detail, api=api)
        # The request may have reached WeChat (a timeout, a dropped connection) and was not
        # repeated: the caller must not resend it either, nor count it as not delivered.
        self.maybe_delivered = maybe_delivered
