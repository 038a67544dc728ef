"""The doctor's WeChat checks: each app's credentials, then the templates notices are sent with.

Through the servers' own `WeChatClient`, with a cache of the doctor's own: the token really is
fetched from `stable_token` (a cached one would prove nothing), in normal mode, which hands
back the current token rather than replacing the one the running servers use.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from server.cache import Cache
from server.clock import Clock
from server.doctor import Finding, bounded, fail, ok, warn
from server.errors import WeChatAPIError
from server.settings import SERVICE_FIELD_SOURCES, Settings, parse_fields
from server.wechat.client import WeChatClient


@dataclass
class App:
    line: str  # the finding's name: wechat-oa, wechat-mp
    appid_var: str
    secret_var: str
    appid: str
    client: WeChatClient
    token: bool = False  # an access token was fetched


class Apps:
    """The official account and, when it is another app, the mini-program."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        cache: Cache,
        clock: Clock,
        timeout: float,
    ) -> None:
        self.settings = settings

        def client(appid: str, secret: str) -> WeChatClient:
            # Two tries within the check's own timeout: one -1 (system busy) is not a verdict.
            return WeChatClient(
                session=session,
                base_url=settings.api_base,
                appid=appid,
                secret=secret,
                cache=cache,
                clock=clock,
                max_attempts=2,
                timeout=max(0.5, timeout * 0.4),
            )

        self.oa = App(
            "wechat-oa",
            "WECHAT_APPID",
            "WECHAT_SECRET",
            settings.appid,
            client(settings.appid, settings.secret),
        )
        self.mp: App | None = None
        if settings.wechat_mp_appid and settings.wechat_mp_appid != settings.appid:
            self.mp = App(
                "wechat-mp",
                "WECHAT_MP_APPID",
                "WECHAT_MP_SECRET",
                settings.mp_appid,
                client(settings.mp_appid, settings.mp_secret),
            )

    def each(self) -> list[App]:
        return [self.oa] if self.mp is None else [self.oa, self.mp]


def explain(exc: WeChatAPIError, app: App, base: str) -> tuple[str, str]:
    """What a refused token means, and what to do, by WeChat's errcode."""
    code, said = exc.errcode, exc.errmsg
    if code == -1:
        return f"cannot reach {base}: {said}", "check WECHAT_API_BASE and outbound HTTPS from here"
    if code in (40013, 41002):
        return (
            f"{code}: invalid appid {app.appid}",
            f"check {app.appid_var} (设置与开发 → 基本配置 → 开发者ID)",
        )
    if code in (40125, 41004, 40001):
        return (
            f"{code}: invalid AppSecret for {app.appid}",
            f"check {app.secret_var}; reset the AppSecret in the console if it was lost",
        )
    if code in (40164, 89503, 89501):
        ip = re.search(r"invalid ip (\S+)", said)
        where = f" ({ip.group(1)})" if ip else ""
        return (
            f"{code}: this server's IP{where} is not on the account's IP白名单",
            "add it under 设置与开发 → 基本配置 → IP白名单",
        )
    if code == 40243:
        return f"{code}: the AppSecret is frozen", "unfreeze it in the console"
    if code == 45009:
        return f"{code}: stable_token's daily quota is used up", "wait until tomorrow"
    if code == 48001:
        return f"{code}: this account may not call the API", "check the account's type and 认证"
    return f"{code}: {said}", f"see WeChat's error code {code}"


async def credentials(app: App, base: str) -> list[Finding]:
    started = time.monotonic()
    try:
        await app.client.access_token()
    except WeChatAPIError as exc:
        return [fail(app.line, *explain(exc, app, base))]
    app.token = True
    ms = (time.monotonic() - started) * 1000
    detail = f"{app.appid_var}={app.appid}: access token from {base} (stable_token, {ms:.0f} ms)"
    return [ok(app.line, detail)]


@dataclass(frozen=True)
class Listing:
    api: str
    path: str
    items: str  # the answer's list
    key: str  # each item's id


SUBSCRIBE_LIST = Listing(
    "subscribe_template_list", "/wxaapi/newtmpl/gettemplate", "data", "priTmplId"
)
OA_LIST = Listing(
    "template_list", "/cgi-bin/template/get_all_private_template", "template_list", "template_id"
)


@dataclass(frozen=True)
class Wanted:
    line: str
    id_var: str
    template_id: str
    fields_var: str
    fields: dict[str, str]
    app: App
    listing: Listing


def wanted(apps: Apps) -> list[Wanted]:
    s, mp = apps.settings, apps.mp or apps.oa
    found = []
    if s.subscribe_template:
        subscribe = parse_fields(s.subscribe_fields)
        found.append(
            Wanted(
                "subscribe-template",
                "WECHAT_SUBSCRIBE_TEMPLATE_MEETING",
                s.subscribe_template,
                "WECHAT_SUBSCRIBE_FIELDS",
                subscribe,
                mp,
                SUBSCRIBE_LIST,
            )
        )
    if s.oa_template:
        oa = parse_fields(s.oa_template_fields)
        found.append(
            Wanted(
                "meeting-template",
                "WECHAT_TEMPLATE_MEETING",
                s.oa_template,
                "WECHAT_TEMPLATE_FIELDS",
                oa,
                apps.oa,
                OA_LIST,
            )
        )
    if s.service_template:
        service = parse_fields(s.service_template_fields, SERVICE_FIELD_SOURCES)
        found.append(
            Wanted(
                "service-template",
                "WECHAT_TEMPLATE_SERVICE",
                s.service_template,
                "WECHAT_TEMPLATE_SERVICE_FIELDS",
                service,
                apps.oa,
                OA_LIST,
            )
        )
    return found


# Field kinds (the key without its number) that take only a time, and those none of our values
# fit; WeChat refuses a value of the wrong shape (47003).
TIME_KINDS = frozenset({"time", "date"})
NO_TEXT_KINDS = frozenset(
    {"number", "letter", "symbol", "character_string", "amount", "phone_number", "car_number"}
)
OPTIONAL_KEYS = frozenset({"first", "remark"})  # the old official-account templates' frame


def field_problems(content: str, fields: dict[str, str], fields_var: str) -> list[str]:
    """Why the configured fields do not fit the template's `{{key.DATA}}` fields."""
    keys = re.findall(r"\{\{\s*([A-Za-z_]+\d*)\.DATA\s*\}\}", content)
    problems = []
    extra = [k for k in fields if k not in keys]
    if extra:
        has = ", ".join(keys) or "none"
        problems.append(
            f"{fields_var} names {', '.join(extra)}, not in the template (it has {has})"
        )
    unfilled = [k for k in keys if k not in fields and k not in OPTIONAL_KEYS]
    if unfilled:
        problems.append(f"the template's {', '.join(unfilled)} would be sent empty (47003)")
    for key, source in fields.items():
        kind = re.sub(r"\d+$", "", key)
        if kind in NO_TEXT_KINDS or (kind in TIME_KINDS and source != "time"):
            problems.append(f"{key} is a {kind} field but gets the {source}")
    return problems


def judge(want: Wanted, listed: dict[str, dict[str, Any]]) -> Finding:
    item = listed.get(want.template_id)
    named = f"{want.id_var}={want.template_id}"
    if item is None:
        if want.listing is OA_LIST:
            # WeChat leaves 类目模板 out of get_all_private_template: absent is not proof.
            return warn(
                want.line,
                f"{named} is not in the official account's template list",
                "check the id under 模板消息 (a 类目模板 is not listed by WeChat's API)",
            )
        return fail(
            want.line,
            f"{named} is not among the mini-program's subscribe templates",
            "add it under 订阅消息 → 我的模板, or correct the id",
        )
    problems = field_problems(str(item.get("content", "")), want.fields, want.fields_var)
    if problems:
        return fail(want.line, f"{named}: {'; '.join(problems)}", f"correct {want.fields_var}")
    fields = ",".join(f"{k}={v}" for k, v in want.fields.items())
    return ok(want.line, f"{named} exists; fields {fields} match")


async def templates(apps: Apps) -> list[Finding]:
    wants = wanted(apps)
    if not wants:
        if apps.settings.env != "production":
            return [ok("templates", "none configured: notices go as customer-service messages")]
        return [
            warn(
                "templates",
                "none configured: a member who has not written to the account in 48 hours gets "
                "no meeting notice (customer-service messages only)",
                "set WECHAT_TEMPLATE_MEETING and/or WECHAT_SUBSCRIBE_TEMPLATE_MEETING",
            )
        ]
    lists: dict[tuple[str, str], dict[str, dict[str, Any]] | Finding] = {}
    found = []
    for want in wants:
        if not want.app.token:
            found.append(warn(want.line, f"not checked: no access token (see {want.app.line})"))
            continue
        key = (want.app.appid, want.listing.path)
        if key not in lists:
            lists[key] = await _listed(want)
        listed = lists[key]
        found.append(listed if isinstance(listed, Finding) else judge(want, listed))
    return found


async def _listed(want: Wanted) -> dict[str, dict[str, Any]] | Finding:
    try:
        answer = await want.app.client.call(want.listing.api, want.listing.path, method="GET")
    except WeChatAPIError as exc:
        return fail(want.line, f"cannot list the templates: {exc.errcode} {exc.errmsg}")
    items = answer.get(want.listing.items)
    if not isinstance(items, list):
        return fail(want.line, f"the template list came without {want.listing.items!r}")
    return {
        str(item.get(want.listing.key)): item
        for item in items
        if isinstance(item, dict) and item.get(want.listing.key)
    }


async def check(apps: Apps, seconds: float) -> list[Finding]:
    settings = apps.settings
    if settings.embedded_fake_wechat:
        return [
            ok(
                "wechat",
                "development: calls go to the fake WeChat inside dangjian serve; "
                "no credentials to check",
            )
        ]
    found = []
    for app in apps.each():
        found += await bounded(app.line, credentials(app, settings.api_base), seconds)
    return found + await bounded("templates", templates(apps), seconds)
