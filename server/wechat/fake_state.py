"""The state and rules of the fake WeChat API, with no HTTP in it (that is `fake.py`).

Each `handle_*` method takes the parsed request and returns WeChat's JSON answer, always with
an `errcode`.  The rules are the documented ones (see /work/shared/wechat-protocol.md):

- Tokens live 7,200 s, on WeChat's two lines of issue (`fake_tokens.py`).
- Customer-service messages need an open window (`fake_windows.py`).
- Subscribe messages use one one-time grant each (-> 43101 without); data fields are
  checked against WeChat's limits (`fake_rules.py`).
- Template messages need a follower (-> 43004).
- Login codes are single-use (-> 40029, `fake_login.py`); so are phone-verification codes,
  which also expire after 5 minutes (-> 40029, `fake_phone.py`).
- Openids the fake has never seen (no interaction, follow, grant or code) -> 40003.
- The registered templates are the account's template list (get_all_private_template for the
  official account, newtmpl/gettemplate for the mini-program), each field as `{{thing1.DATA}}`.

User state (interactions, grants, followers) is shared by every appid: one fake, one set of
users, which is all the tests and the terminal chat need.  What the harness reads back (calls,
messages, injected failures) is in `fake_records.py`; the answers' shape in `fake_replies.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.clock import Clock
from server.wechat.fake_login import LoginCodes
from server.wechat.fake_oauth import Page, WebAuth
from server.wechat.fake_phone import PhoneCodes
from server.wechat.fake_records import (
    CallRecord,
    Failure,
    SentMessage,
    redact,
    take_failure,
)
from server.wechat.fake_replies import ERRMSG, Reply, error, ok
from server.wechat.fake_rules import (
    check_field,
    custom_problem,
    subscribe_problem,
    template_content,
    template_problem,
)
from server.wechat.fake_tokens import (
    FORCE_REFRESH_PER_DAY,
    FORCE_REFRESH_SPACING,
    STABLE_RENEW_BEFORE,
    TOKEN_LIFETIME,
    Tokens,
    check_client,
)
from server.wechat.fake_windows import EVENT_WINDOW, MESSAGE_WINDOW, ServiceWindows

__all__ = [
    "ERRMSG",
    "EVENT_WINDOW",
    "FORCE_REFRESH_PER_DAY",
    "FORCE_REFRESH_SPACING",
    "MESSAGE_WINDOW",
    "STABLE_RENEW_BEFORE",
    "TOKEN_LIFETIME",
    "CallRecord",
    "Failure",
    "FakeWeChat",
    "Reply",
    "SentMessage",
    "check_field",
    "error",
    "ok",
]


@dataclass
class _State:
    tokens: Tokens = field(default_factory=Tokens)
    windows: ServiceWindows = field(default_factory=ServiceWindows)
    codes: LoginCodes = field(default_factory=LoginCodes)
    phone_codes: PhoneCodes = field(default_factory=PhoneCodes)
    web_auth: WebAuth = field(default_factory=WebAuth)
    seen: set[str] = field(default_factory=set)
    grants: dict[tuple[str, str], int] = field(default_factory=dict)
    followers: set[str] = field(default_factory=set)
    unionids: dict[str, str] = field(default_factory=dict)  # openid -> unionid (开放平台)
    templates: dict[str, list[str] | None] = field(default_factory=dict)
    failures: dict[str, Failure] = field(default_factory=dict)
    flaky: dict[str, list[int]] = field(default_factory=dict)  # path: [errcode, every, calls]
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
        self._s.windows.open(openid, kind, self.clock.timestamp())  # raises on a bad kind
        self._s.seen.add(openid)

    def grant(self, openid: str, template_id: str, count: int = 1) -> None:
        """The user accepted `count` one-time subscriptions to `template_id`."""
        self._s.seen.add(openid)
        key = (openid, template_id)
        self._s.grants[key] = self._s.grants.get(key, 0) + count

    def grants_left(self, openid: str, template_id: str) -> int:
        return self._s.grants.get((openid, template_id), 0)

    def follow(self, openid: str, unionid: str | None = None) -> None:
        """`unionid`: the account is bound to an open platform, so user/info gives it."""
        self._s.seen.add(openid)
        self._s.followers.add(openid)
        if unionid:
            self._s.unionids[openid] = unionid

    def unfollow(self, openid: str) -> None:
        self._s.followers.discard(openid)

    def add_template(self, template_id: str, fields: list[str] | None = None) -> None:
        """Once any template is registered, unknown ids get 40037; `fields` must all be sent."""
        self._s.templates[template_id] = fields

    def add_code(self, code: str, openid: str, unionid: str | None = None) -> None:
        self._s.seen.add(openid)
        self._s.codes.add(code, openid, unionid)

    def add_phone_code(self, code: str, phone: str) -> None:
        """The user verified `phone` through getPhoneNumber; the mini-program got `code`."""
        self._s.phone_codes.add(code, phone, self.clock.timestamp())

    def fail_next(
        self,
        path: str,
        errcode: int | None = None,
        times: int | None = 1,
        status: int | None = None,
        delay: float | None = None,
        after: int = 0,
    ) -> None:
        """The next `times` calls to `path` (None: all of them) fail as described by `Failure`;
        with `after`, only once that many calls have gone through normally."""
        if errcode is None and status is None and delay is None:
            raise ValueError("give an errcode, an HTTP status or a delay")
        if after < 0:
            raise ValueError("after must be 0 or more")
        self._s.failures[path] = Failure(errcode, status, delay, times, after)

    def failure_waiting(self, path: str) -> bool:
        """True while a failure queued by `fail_next` for `path` has not met its call yet: a
        test knows a delayed call has reached WeChat once this turns False."""
        return path in self._s.failures

    def clear_failures(self, path: str | None = None) -> None:
        """Stop failing calls to `path` (None: every path): the outage is over."""
        if path is None:
            self._s.failures.clear()
        else:
            self._s.failures.pop(path, None)

    def flaky(self, path: str, errcode: int = -1, every: int = 100) -> None:
        """Every `every`-th call to `path` fails with `errcode` (0 or less: stop)."""
        if every <= 0:
            self._s.flaky.pop(path, None)
        else:
            self._s.flaky[path] = [errcode, every, 0]

    def take_failure(self, path: str) -> Failure | None:
        rule = self._s.flaky.get(path)
        if rule is not None:
            rule[2] += 1
            if rule[2] % rule[1] == 0:
                return Failure(rule[0], None, None, 1)
        return take_failure(self._s.failures, path)

    def expire_tokens(self) -> None:
        self._s.tokens.expire_all(self.clock.timestamp())

    def reset(self) -> None:
        self._s = _State()

    def record(
        self, method: str, path: str, query: dict[str, str], body: Any, reply: Reply, status: int
    ) -> CallRecord:
        query, body = redact(query, body)
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

    # --- tokens and login ------------------------------------------------------------------

    def handle_stable_token(self, body: dict[str, Any]) -> Reply:
        refused = check_client(body, self.appid_secrets)
        if refused:
            return refused
        force = body.get("force_refresh", False) is True
        return self._s.tokens.stable_token(body["appid"], force, self.clock)

    def handle_token(self, query: dict[str, str]) -> Reply:
        refused = check_client(query, self.appid_secrets)
        if refused:
            return refused
        return self._s.tokens.ordinary_token(query["appid"], self.clock)

    def check_token(self, token: str | None) -> Reply | None:
        """None when `token` may call the API, else WeChat's refusal."""
        return self._s.tokens.check(token, self.clock)

    def handle_user_info(self, query: dict[str, str]) -> Reply:
        """cgi-bin/user/info: a follower's profile; `unionid` only when the account has one."""
        openid = query.get("openid", "")
        if openid not in self._s.seen:
            return error(40003)
        if openid not in self._s.followers:
            return ok(subscribe=0, openid=openid)
        unionid = self._s.unionids.get(openid)
        return ok(subscribe=1, openid=openid, **({"unionid": unionid} if unionid else {}))

    def handle_code2session(self, query: dict[str, str]) -> Reply:
        return self._s.codes.code2session(query, self.appid_secrets)

    def handle_phone_number(self, query: dict[str, str], body: dict[str, Any]) -> Reply:
        token = self._s.tokens.tokens.get(query.get("access_token", ""))
        appid = token.appid if token is not None else ""
        return self._s.phone_codes.exchange(body, appid, self.clock.timestamp())

    # --- web authorisation (网页授权) --------------------------------------------------------

    def handle_authorize(self, query: dict[str, str], user: str | None) -> Page:
        """WeChat's browser opening the authorize page; `user` is who is browsing (None:
        a browser outside WeChat)."""
        appids = set(self.appid_secrets) if self.appid_secrets is not None else None
        if user:
            self._s.seen.add(user)
        return self._s.web_auth.authorize(query, user, self.clock.timestamp(), appids)

    def handle_oauth_token(self, query: dict[str, str]) -> Reply:
        return self._s.web_auth.access_token(query, self.clock.timestamp(), self.appid_secrets)

    # --- messages --------------------------------------------------------------------------

    def _unknown(self, openid: Any) -> Reply | None:
        if isinstance(openid, str) and openid in self._s.seen:
            return None
        return error(40003)

    def _deliver(self, kind: str, openid: str, body: dict[str, Any]) -> Reply:
        msgid = len(self._s.messages) + 1
        self._s.messages.append(SentMessage(kind, openid, body, self.clock.now(), msgid))
        return ok() if kind == "custom" else ok(msgid=msgid)

    def handle_custom_send(self, body: dict[str, Any]) -> Reply:
        openid = body.get("touser")
        refused = self._unknown(openid) or custom_problem(body)
        if refused:
            return refused
        assert isinstance(openid, str)  # _unknown refused anything else
        # Only a message that would be delivered spends a send from the window.
        refused = self._s.windows.use(openid, self.clock.timestamp())
        return refused or self._deliver("custom", openid, body)

    def _template_check(self, body: dict[str, Any]) -> Reply | None:
        return self._unknown(body.get("touser")) or template_problem(body, self._s.templates)

    def handle_subscribe_send(self, body: dict[str, Any]) -> Reply:
        refused = self._template_check(body) or subscribe_problem(body)
        if refused:
            return refused
        openid, key = body["touser"], (body["touser"], body["template_id"])
        if self._s.grants.get(key, 0) <= 0:
            return error(43101)
        self._s.grants[key] -= 1
        return self._deliver("subscribe", openid, body)

    # --- the account's templates (what the console lists) -----------------------------------

    def handle_template_list(self) -> Reply:
        """cgi-bin/template/get_all_private_template: the official account's templates."""
        listed = [
            {
                "template_id": template_id,
                "title": "",
                "primary_industry": "",
                "deputy_industry": "",
                "content": template_content(fields),
                "example": "",
            }
            for template_id, fields in self._s.templates.items()
        ]
        return ok(template_list=listed)

    def handle_subscribe_template_list(self) -> Reply:
        """wxaapi/newtmpl/gettemplate: the mini-program's subscribe templates (one-time, type 2)."""
        listed = [
            {
                "priTmplId": template_id,
                "title": "",
                "content": template_content(fields),
                "example": "",
                "type": 2,
            }
            for template_id, fields in self._s.templates.items()
        ]
        return ok(data=listed)

    def handle_template_send(self, body: dict[str, Any]) -> Reply:
        refused = self._template_check(body)
        if refused:
            return refused
        if body["touser"] not in self._s.followers:
            return error(43004)
        return self._deliver("template", body["touser"], body)
