"""The state and rules of the fake WeChat API, with no HTTP in it (that is `fake.py`).

Each `handle_*` method takes the parsed request and returns WeChat's JSON answer, always with
an `errcode`.  The rules are the documented ones (see /work/shared/wechat-protocol.md):

- Tokens live 7,200 s.  `stable_token` in normal mode returns the current token and issues a
  new one only in its last 5 minutes (the old one stays valid until it expires);
  `force_refresh` issues a new one and invalidates the old one, at most 20 times a (local)
  day -> 45009, and not within 30 s of the previous one -> 45011.  The old `GET /cgi-bin/token`
  line is separate, as on WeChat: each call invalidates the previous *ordinary* token only.
- Customer-service messages: a user message opens 5 sends within 48 h, an event 3 within
  1 minute; no open window -> 45015, window used up -> 45047.
- Subscribe messages use one one-time grant each (-> 43101 without); data fields are
  checked against WeChat's limits (-> 47003 naming the field).
- Template messages need a follower (-> 43004).
- Login codes are single-use (-> 40029).
- Openids the fake has never seen (no interaction, follow, grant or code) -> 40003.

User state (interactions, grants, followers) is shared by every appid: one fake, one set of
users, which is all the tests and the terminal chat need.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from server.clock import Clock

TOKEN_LIFETIME = 7200
STABLE_RENEW_BEFORE = 300
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_SPACING = 30
MESSAGE_WINDOW = (48 * 3600, 5)
EVENT_WINDOW = (60, 3)

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


@dataclass
class CallRecord:
    seq: int
    method: str
    path: str
    query: dict[str, str]
    body: Any
    errcode: int
    status: int
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


@dataclass
class SentMessage:
    kind: str  # "custom", "subscribe" or "template"
    openid: str
    body: dict[str, Any]
    at: datetime
    msgid: int

    @property
    def text(self) -> str | None:
        """The content of a custom text message, for quick assertions."""
        text = self.body.get("text")
        return text.get("content") if isinstance(text, dict) else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


@dataclass
class Failure:
    """An injected answer: HTTP `status` if set, else `errcode`; `delay` real seconds first."""

    errcode: int | None
    status: int | None
    delay: float | None
    times: int | None  # None: every call until reset


@dataclass
class _Token:
    appid: str
    expires_at: float
    valid: bool = True


@dataclass
class _Window:
    expires_at: float
    remaining: int


@dataclass
class _ForceLog:
    day: date | None = None
    count: int = 0
    last: float | None = None


@dataclass
class _Code:
    openid: str
    unionid: str | None
    used: bool = False


@dataclass
class _State:
    tokens: dict[str, _Token] = field(default_factory=dict)
    stable: dict[str, str] = field(default_factory=dict)  # appid -> current stable token
    ordinary: dict[str, str] = field(default_factory=dict)  # appid -> current /cgi-bin/token
    forced: dict[str, _ForceLog] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    windows: dict[tuple[str, str], _Window] = field(default_factory=dict)
    grants: dict[tuple[str, str], int] = field(default_factory=dict)
    followers: set[str] = field(default_factory=set)
    templates: dict[str, list[str] | None] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    failures: dict[str, Failure] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)
    messages: list[SentMessage] = field(default_factory=list)


class FakeWeChat:
    """Everything the fake remembers; time comes from the injected clock."""

    def __init__(
        self, clock: Clock | None = None, appid_secrets: dict[str, str] | None = None
    ) -> None:
        self.clock = clock or Clock()
        self.appid_secrets = appid_secrets
        self._s = _State()

    # --- harness API (what the tests and the terminal chat do as "WeChat") -----------------

    @property
    def calls(self) -> list[CallRecord]:
        return self._s.calls

    def calls_to(self, path: str) -> list[CallRecord]:
        return [c for c in self._s.calls if c.path == path]

    def calls_since(self, since: int) -> list[CallRecord]:
        return [c for c in self._s.calls if c.seq > since]

    def messages_to(self, openid: str) -> list[SentMessage]:
        return [m for m in self._s.messages if m.openid == openid]

    def interact(self, openid: str, kind: str = "message") -> None:
        """The user sent a message ("message") or clicked a menu / subscribed / scanned."""
        if kind not in ("message", "event"):
            raise ValueError("kind must be 'message' or 'event'")
        seconds, count = MESSAGE_WINDOW if kind == "message" else EVENT_WINDOW
        self._s.seen.add(openid)
        # Each new action opens its window afresh, as WeChat counts from the latest one.
        self._s.windows[(openid, kind)] = _Window(self.clock.timestamp() + seconds, count)

    def grant(self, openid: str, template_id: str, count: int = 1) -> None:
        """The user accepted `count` one-time subscriptions to `template_id`."""
        self._s.seen.add(openid)
        key = (openid, template_id)
        self._s.grants[key] = self._s.grants.get(key, 0) + count

    def grants_left(self, openid: str, template_id: str) -> int:
        return self._s.grants.get((openid, template_id), 0)

    def follow(self, openid: str) -> None:
        self._s.seen.add(openid)
        self._s.followers.add(openid)

    def unfollow(self, openid: str) -> None:
        self._s.followers.discard(openid)

    def add_template(self, template_id: str, fields: list[str] | None = None) -> None:
        """Once any template is registered, unknown ids get 40037; `fields` must all be sent."""
        self._s.templates[template_id] = fields

    def add_code(self, code: str, openid: str, unionid: str | None = None) -> None:
        self._s.seen.add(openid)
        self._s.codes[code] = _Code(openid, unionid)

    def fail_next(
        self,
        path: str,
        errcode: int | None = None,
        times: int | None = 1,
        status: int | None = None,
        delay: float | None = None,
    ) -> None:
        """The next `times` calls to `path` (None: all of them) fail as described by `Failure`."""
        if errcode is None and status is None and delay is None:
            raise ValueError("give an errcode, an HTTP status or a delay")
        self._s.failures[path] = Failure(errcode, status, delay, times)

    def take_failure(self, path: str) -> Failure | None:
        failure = self._s.failures.get(path)
        if failure is None:
            return None
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                del self._s.failures[path]
        return failure

    def expire_tokens(self) -> None:
        now = self.clock.timestamp()
        for token in self._s.tokens.values():
            token.expires_at = min(token.expires_at, now)

    def reset(self) -> None:
        self._s = _State()

    def record(
        self, method: str, path: str, query: dict[str, str], body: Any, reply: Reply, status: int
    ) -> CallRecord:
        # The recorded call is shown to tests and humans: no token, no secret.
        query = {k: "***" if k == "secret" else v for k, v in query.items() if k != "access_token"}
        if isinstance(body, dict) and "secret" in body:
            body = {**body, "secret": "***"}
        call = CallRecord(
            seq=len(self._s.calls) + 1,
            method=method,
            path=path,
            query=query,
            body=body,
            errcode=int(reply.get("errcode", 0)),
            status=status,
            at=self.clock.now(),
        )
        self._s.calls.append(call)
        return call

    # --- tokens ----------------------------------------------------------------------------

    def _credentials(self, appid: Any, secret: Any) -> Reply | None:
        if not appid:
            return error(41002)
        if not secret:
            return error(41004)
        if self.appid_secrets is not None:
            if appid not in self.appid_secrets:
                return error(40013)
            if not secrets.compare_digest(str(secret), self.appid_secrets[appid]):
                return error(40125)
        return None

    def _issue(self, appid: str) -> str:
        token = secrets.token_urlsafe(48)
        self._s.tokens[token] = _Token(appid, self.clock.timestamp() + TOKEN_LIFETIME)
        return token

    def _token_reply(self, token: str) -> Reply:
        left = int(self._s.tokens[token].expires_at - self.clock.timestamp())
        return ok(access_token=token, expires_in=left)

    def handle_stable_token(self, body: dict[str, Any]) -> Reply:
        if body.get("grant_type") != "client_credential":
            return error(40002)
        appid, force = body.get("appid"), body.get("force_refresh", False) is True
        refused = self._credentials(appid, body.get("secret"))
        if refused:
            return refused
        now = self.clock.timestamp()
        current = self._s.stable.get(appid)
        if force:
            log = self._s.forced.setdefault(appid, _ForceLog())
            today = self.clock.today()
            if log.day != today:
                log.day, log.count = today, 0
            if log.count >= FORCE_REFRESH_PER_DAY:
                return error(45009, "(force_refresh: 20 a day)")
            if log.last is not None and now - log.last < FORCE_REFRESH_SPACING:
                return error(45011, "(force_refresh: once every 30 s)")
            log.count, log.last = log.count + 1, now
            if current is not None:
                self._s.tokens[current].valid = False
        elif current is not None:
            token = self._s.tokens[current]
            if token.valid and token.expires_at - now > STABLE_RENEW_BEFORE:
                return self._token_reply(current)
        self._s.stable[appid] = self._issue(appid)
        return self._token_reply(self._s.stable[appid])

    def handle_token(self, query: dict[str, str]) -> Reply:
        if query.get("grant_type") != "client_credential":
            return error(40002)
        appid = query.get("appid", "")
        refused = self._credentials(appid, query.get("secret"))
        if refused:
            return refused
        previous = self._s.ordinary.get(appid)
        if previous is not None:
            self._s.tokens[previous].valid = False
        self._s.ordinary[appid] = self._issue(appid)
        return self._token_reply(self._s.ordinary[appid])

    def check_token(self, token: str | None) -> Reply | None:
        """None when `token` may call the API, else WeChat's refusal."""
        if not token:
            return error(41001)
        record = self._s.tokens.get(token)
        if record is None or not record.valid:
            return error(40001)
        if record.expires_at <= self.clock.timestamp():
            return error(42001)
        return None

    # --- messages --------------------------------------------------------------------------

    def _deliver(self, kind: str, openid: str, body: dict[str, Any]) -> Reply:
        msgid = len(self._s.messages) + 1
        self._s.messages.append(SentMessage(kind, openid, body, self.clock.now(), msgid))
        return ok() if kind == "custom" else ok(msgid=msgid)

    def handle_custom_send(self, body: dict[str, Any]) -> Reply:
        openid = body.get("touser")
        if not isinstance(openid, str) or openid not in self._s.seen:
            return error(40003)
        msgtype = body.get("msgtype")
        if msgtype not in _CUSTOM_TYPES:
            return error(40008)
        if not isinstance(body.get(msgtype), dict):
            return error(47001, f"({msgtype} missing)")
        if msgtype == "text" and not body["text"].get("content"):
            return error(47001, "(text.content empty)")
        now = self.clock.timestamp()
        windows = [self._s.windows.get((openid, k)) for k in ("event", "message")]
        open_windows = [w for w in windows if w is not None and w.expires_at > now]
        if not open_windows:
            return error(45015)
        # Use the window that closes first, so the longer one lasts.
        usable = sorted((w for w in open_windows if w.remaining > 0), key=lambda w: w.expires_at)
        if not usable:
            return error(45047)
        usable[0].remaining -= 1
        return self._deliver("custom", openid, body)

    def _template_check(self, body: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | Reply:
        openid, template_id, data = body.get("touser"), body.get("template_id"), body.get("data")
        if not isinstance(openid, str) or openid not in self._s.seen:
            return error(40003)
        if not isinstance(template_id, str) or not template_id:
            return error(40037)
        if self._s.templates and template_id not in self._s.templates:
            return error(40037)
        if not isinstance(data, dict):
            return error(47003, "data missing")
        for name in self._s.templates.get(template_id) or []:
            if name not in data:
                return error(47003, f"data.{name}.value is empty")
        return openid, template_id, data

    def handle_subscribe_send(self, body: dict[str, Any]) -> Reply:
        checked = self._template_check(body)
        if isinstance(checked, dict):
            return checked
        openid, template_id, data = checked
        for name, item in data.items():
            problem = check_field(name, item)
            if problem:
                return error(47003, f"data.{name}.value {problem}")
        if body.get("miniprogram_state", "formal") not in ("developer", "trial", "formal"):
            return error(47003, "miniprogram_state invalid")
        key = (openid, template_id)
        if self._s.grants.get(key, 0) <= 0:
            return error(43101)
        self._s.grants[key] -= 1
        return self._deliver("subscribe", openid, body)

    def handle_template_send(self, body: dict[str, Any]) -> Reply:
        checked = self._template_check(body)
        if isinstance(checked, dict):
            return checked
        openid = checked[0]
        if openid not in self._s.followers:
            return error(43004)
        return self._deliver("template", openid, body)

    # --- login -----------------------------------------------------------------------------

    def handle_code2session(self, query: dict[str, str]) -> Reply:
        refused = self._credentials(query.get("appid"), query.get("secret"))
        if refused:
            return refused
        if query.get("grant_type") != "authorization_code":
            return error(40002)
        code = query.get("js_code")
        if not code:
            return error(41008)
        entry = self._s.codes.get(code)
        if entry is None or entry.used:
            return error(40029)
        entry.used = True
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        reply = ok(openid=entry.openid, session_key=session_key)
        if entry.unionid:
            reply["unionid"] = entry.unionid
        return reply


_CUSTOM_TYPES = frozenset(
    {"text", "image", "voice", "video", "music", "news", "mpnews", "msgmenu", "wxcard",
     "miniprogrampage", "link"}
)  # fmt: skip

_DATE = r"\d{4}(?:年|-|/)\d{1,2}(?:月|-|/)\d{1,2}日?"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?"
_RULES: dict[str, tuple[int, re.Pattern[str] | None]] = {
    # WeChat's subscribe-message field types: (max length, shape).
    "thing": (20, None),
    "number": (32, re.compile(r"^[-+]?\d+(?:\.\d+)?$")),
    "letter": (32, re.compile(r"^[A-Za-z]+$")),
    "symbol": (5, re.compile(r"^[^\w\s]+$")),
    "character_string": (32, re.compile(r"^[\x21-\x7e]+$")),
    "time": (64, re.compile(rf"^(?:{_DATE}(?:\s*{_TIME})?|{_TIME})(?:\s*~\s*.+)?$")),
    "date": (64, re.compile(rf"^{_DATE}(?:\s*{_TIME})?(?:\s*~\s*.+)?$")),
    "amount": (11, re.compile(r"^[¥$€￥]?\d+(?:\.\d{1,2})?元?$")),
    "phone_number": (17, re.compile(r"^[\d+\-() ]+$")),
    "car_number": (8, None),
    "name": (20, None),
    "phrase": (5, re.compile(r"^[\u4e00-\u9fff]+$")),
}


def check_field(name: str, item: Any) -> str | None:
    """Why a subscribe-message data item breaks WeChat's limits, or None when it is fine."""
    if not isinstance(item, dict) or not isinstance(item.get("value"), str):
        return "missing"
    value = item["value"]
    if not value:
        return "is empty"
    kind = re.sub(r"\d+$", "", name)
    if kind not in _RULES:
        return None
    limit, shape = _RULES[kind]
    if kind == "name" and any(ord(ch) > 0x7F for ch in value):
        limit = 10  # ten Chinese characters or twenty letters
    if len(value) > limit:
        return f"too long (at most {limit} characters for {kind})"
    if shape is not None and not shape.match(value):
        return f"invalid (not a {kind})"
    return None
