"""`dangjian chat`: a terminal that plays WeChat's servers against a running dangjian.

Each line typed becomes the push WeChat would send — signed XML, or the AES safe-mode envelope —
POSTed to `{server}/wechat`; the passive reply is printed at once.  Answers sent later through the
customer-service API never come back on that request, so the chat reads them from the fake WeChat
API's call log (`{api_base}/_fake/calls`) and prints the ones addressed to us.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import enum
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit, urlunsplit
from xml.parsers.expat import ExpatError

import aiohttp
import xmltodict

from server.wechat.crypto import DecryptionFailed, decrypt, encrypt, new_nonce, sha1_signature

if TYPE_CHECKING:
    from server.settings import Settings

PROMPT = "你 > "
BOT = "党建助手 > "
BOT_LATER = "党建助手（稍后）> "
HINT = "try: 帮助 or 绑定 姓名 手机号后四位"
COMMANDS = "/user NAME switches user, /event subscribe follows the account, /quit ends"
# WeChat drops the connection after 5 s and shows the member nothing; we do the same.
WECHAT_DEADLINE = 5.0
DEFAULT_WAIT = 5.0
BROKEN_ACCOUNT = "该公众号暂时无法提供服务"
AES_MISMATCH = (
    " — the EncodingAESKey and appid must match the server's WECHAT_AES_KEY and WECHAT_APPID"
)
# Never send fake-API probes to Tencent: the production base has no /_fake.
REAL_API_HOSTS = frozenset({"api.weixin.qq.com", "sh.api.weixin.qq.com", "sz.api.weixin.qq.com"})
# Outbound calls that reach the member later, and how each is labelled.
LATE_PATHS = (
    ("/cgi-bin/message/custom/send", "custom"),
    ("/cgi-bin/message/template/send", "模板消息"),
    ("/cgi-bin/message/subscribe/send", "订阅消息"),
)


@dataclass
class ChatOptions:
    server: str
    api_base: str | None
    user: str
    token: str
    aes_key: str | None
    appid: str
    to_user: str = "gh_dangjian_demo"
    encrypt: bool = False
    poll_seconds: float = 1.5
    script: list[str] | None = None
    # Scripted mode only: how long to wait for late replies after the last line.
    wait_seconds: float = DEFAULT_WAIT


def openid_for(name: str) -> str:
    """A stable, realistic openid (28 chars, leading "o") so a name is the same member every run."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode("ascii")[:27]


def short_openid(openid: str) -> str:
    # Style rule: no full openids on screen or in logs.
    return f"{openid[:6]}…{openid[-4:]}"


def _cdata(text: str) -> str:
    # A literal "]]>" would end the section early; WeChat splits it the same way.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_message_xml(to_user: str, openid: str, content: str, msg_id: int, now: int) -> str:
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(openid)}</FromUserName><CreateTime>{now}</CreateTime>"
        f"<MsgType>{_cdata('text')}</MsgType><Content>{_cdata(content)}</Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(to_user: str, openid: str, event: str, now: int) -> str:
    # Events carry no MsgId: the server de-duplicates them by FromUserName + CreateTime.
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(openid)}</FromUserName><CreateTime>{now}</CreateTime>"
        f"<MsgType>{_cdata('event')}</MsgType><Event>{_cdata(event)}</Event>"
        f"<EventKey>{_cdata('')}</EventKey></xml>"
    )


def sign_push(
    plain_xml: str, options: ChatOptions, openid: str, now: int, nonce: str
) -> tuple[dict[str, str], str]:
    """Query string and body of one push, in plaintext or safe mode, as WeChat builds them."""
    timestamp = str(now)
    params = {
        "signature": sha1_signature(options.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
    }
    if not options.encrypt:
        return params, plain_xml
    assert options.aes_key is not None  # run_chat refuses --aes without a key
    ciphertext = encrypt(plain_xml, options.aes_key, options.appid)
    params["encrypt_type"] = "aes"
    params["msg_signature"] = sha1_signature(options.token, timestamp, nonce, ciphertext)
    body = (
        f"<xml><ToUserName>{_cdata(options.to_user)}</ToUserName>"
        f"<Encrypt>{_cdata(ciphertext)}</Encrypt></xml>"
    )
    return params, body


class ReplyError(Exception):
    """The server answered 200 with something WeChat would not deliver."""


def _parse_xml(text: str) -> dict[str, Any]:
    try:
        doc = xmltodict.parse(text, disable_entities=True)
    except (ExpatError, ValueError):
        raise ReplyError(f"the reply is not XML, so WeChat shows 「{BROKEN_ACCOUNT}」") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise ReplyError(f"the reply has no <xml> root, so WeChat shows 「{BROKEN_ACCOUNT}」")
    return root


def open_reply(text: str, options: ChatOptions) -> tuple[dict[str, Any], str | None]:
    """The reply's fields (decrypted and verified if enveloped), plus a warning if any."""
    fields = _parse_xml(text)
    if "Encrypt" not in fields:
        if options.encrypt:
            return fields, f"plaintext reply in safe mode: WeChat would show 「{BROKEN_ACCOUNT}」"
        return fields, None
    if not options.aes_key:
        raise ReplyError("the reply is encrypted but no EncodingAESKey is configured here")
    ciphertext = str(fields.get("Encrypt") or "")
    expected = sha1_signature(
        options.token,
        str(fields.get("TimeStamp") or ""),
        str(fields.get("Nonce") or ""),
        ciphertext,
    )
    if not hmac.compare_digest(expected, str(fields.get("MsgSignature") or "").lower()):
        raise ReplyError(
            f"the reply's MsgSignature does not verify: WeChat shows 「{BROKEN_ACCOUNT}」"
        )
    try:
        plain, _ = decrypt(ciphertext, [options.aes_key], options.appid)
    except DecryptionFailed:
        raise ReplyError("cannot decrypt the reply with this EncodingAESKey and appid") from None
    return _parse_xml(plain), None


def describe_reply(fields: dict[str, Any]) -> str:
    kind = fields.get("MsgType")
    if kind == "text":
        return str(fields.get("Content") or "")
    if kind == "news":
        items = (fields.get("Articles") or {}).get("item") or []
        items = items if isinstance(items, list) else [items]
        titles = [str(i.get("Title") or "") for i in items if isinstance(i, dict)]
        return "[图文] " + "；".join(titles)
    if kind == "transfer_customer_service":
        return "[转人工客服]"
    return f"[{kind}]"


def describe_call(kind: str, body: dict[str, Any]) -> str:
    if kind == "custom":
        msgtype = body.get("msgtype")
        if msgtype == "text":
            return str((body.get("text") or {}).get("content") or "")
        return f"[{msgtype}]"
    data = body.get("data") or {}
    fields = [f"{k}: {v.get('value') if isinstance(v, dict) else v}" for k, v in data.items()]
    return f"[{kind}] " + "，".join(fields)


class Outcome(enum.Enum):
    OK = "ok"
    FAILED = "failed"
    QUIT = "quit"


class _Chat:
    def __init__(self, options: ChatOptions, session: aiohttp.ClientSession, out: TextIO) -> None:
        self.options = options
        self.session = session
        self.out = out
        self.server = options.server.rstrip("/").removesuffix("/wechat")
        self.api_base = options.api_base.rstrip("/") if options.api_base else None
        self.played: dict[str, str] = {}  # openid → name, so late replies to earlier users show
        self.switch_user(options.user)
        # None until the fake API answers or clearly is not there (it may share a down server).
        self.fake: bool | None = None
        self.since = 0
        self.pending = 0  # `success` answers still waiting for their late reply
        self.settled = asyncio.Event()
        self.poll_lock = asyncio.Lock()
        self.prompting = False
        self.msg_ids: set[int] = set()

    def switch_user(self, name: str) -> None:
        self.user, self.openid = name, openid_for(name)
        self.played[self.openid] = name

    def say(self, line: str) -> None:
        # A late reply arriving at the prompt goes on its own line, then the prompt comes back.
        self.out.write(f"\n{line}\n{PROMPT}" if self.prompting else f"{line}\n")
        self.out.flush()

    def prompt(self) -> None:
        self.out.write(PROMPT)
        self.out.flush()
        self.prompting = True

    def banner(self) -> None:
        mode = "AES safe mode" if self.options.encrypt else "plaintext"
        self.say(f"dangjian chat — playing WeChat's servers against {self.server}/wechat")
        self.say(f"user {self.user} (openid {short_openid(self.openid)}), {mode}")
        self.say(f"{HINT}   ({COMMANDS})")

    # -- the fake WeChat API ------------------------------------------------------------------

    def no_fake(self) -> None:
        if self.fake is not False:
            self.fake = False
            where = (
                f"{self.api_base} is not the fake WeChat API" if self.api_base else "no API base"
            )
            self.say(f"» {where}: late replies (customer-service messages) can't be shown here")

    async def probe_fake(self) -> None:
        if self.fake is not None:
            return
        if not self.api_base or urlsplit(self.api_base).hostname in REAL_API_HOSTS:
            self.no_fake()
            return
        try:
            async with self.session.get(
                f"{self.api_base}/_fake/calls", params={"since": "0"}
            ) as resp:
                if resp.status != 200:
                    self.no_fake()
                    return
                data = await resp.json(content_type=None)
            # Start at the end of the log: old traffic is not this chat's.
            self.since = int(data["next"])
        except (aiohttp.ClientConnectionError, TimeoutError):
            return  # perhaps the server is down: ask again before the next message
        except (aiohttp.ClientError, ValueError, KeyError, TypeError):
            self.no_fake()
            return
        self.fake = True

    async def interact(self, kind: str) -> None:
        """Tell the fake the member acted, so it opens the 48-hour customer-service window."""
        await self.probe_fake()
        if not self.fake:
            return
        try:
            async with self.session.post(
                f"{self.api_base}/_fake/interact", json={"openid": self.openid, "kind": kind}
            ) as resp:
                ok = resp.status < 300
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if not ok:
            self.no_fake()

    async def poll(self) -> None:
        if not self.fake:
            return
        async with self.poll_lock:
            try:
                async with self.session.get(
                    f"{self.api_base}/_fake/calls", params={"since": str(self.since)}
                ) as resp:
                    if resp.status != 200:
                        return
                    data = await resp.json(content_type=None)
                calls, after = list(data["calls"]), int(data["next"])
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError):
                return  # a missed round is caught up by the next one
            for call in calls:
                if isinstance(call, dict) and int(call.get("seq", 0)) > self.since:
                    self.show_call(call)
            # A log that ends before our mark was reset (`/_fake/reset` restarts seq at 1): read
            # it again from its start, all of which is newer than this chat.
            self.since = after if after >= self.since else 0

    def show_call(self, call: dict[str, Any]) -> None:
        if call.get("errcode") != 0:
            return  # WeChat refused it (45015 and the like): the member never sees it
        path = str(call.get("path") or "")
        kind = next((k for suffix, k in LATE_PATHS if path.endswith(suffix)), None)
        body = call.get("body")
        if isinstance(body, str):
            with contextlib.suppress(ValueError):
                body = json.loads(body)
        if kind is None or not isinstance(body, dict) or body.get("touser") not in self.played:
            return
        touser = body["touser"]
        # Replies to a user played earlier in this session still show, with their name.
        other = f"党建助手（稍后，给 {self.played[touser]}）> "
        label = BOT_LATER if touser == self.openid else other
        self.say(label + describe_call(kind, body))
        self.pending = max(0, self.pending - 1)
        if not self.pending:
            self.settled.set()

    async def poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.options.poll_seconds)
            await self.poll()

    async def wait_for_late(self) -> None:
        """After a script: wait until every `success` got its late reply, or the time is up."""
        if self.fake and self.pending:
            self.settled.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.settled.wait(), self.options.wait_seconds)
        await self.poll()

    # -- one line ---------------------------------------------------------------------------

    async def handle(self, line: str) -> Outcome:
        word, _, rest = line.partition(" ")
        if word in ("/quit", "/exit"):
            return Outcome.QUIT
        if word == "/user":
            if not rest.strip():
                self.say("» usage: /user NAME")
                return Outcome.OK
            self.switch_user(rest.strip())
            self.say(f"» now playing {self.user} (openid {short_openid(self.openid)})")
            return Outcome.OK
        if word == "/event":
            if rest.strip() != "subscribe":
                self.say("» only /event subscribe is supported")
                return Outcome.OK
            await self.interact("event")
            return await self.push(
                event_xml(self.options.to_user, self.openid, "subscribe", int(time.time()))
            )
        if word.startswith("/") and len(word) > 1:
            self.say(f"» unknown command {word}; {COMMANDS}")
            return Outcome.OK
        await self.interact("message")
        return await self.push(
            text_message_xml(
                self.options.to_user, self.openid, line, self.new_msg_id(), int(time.time())
            )
        )

    def new_msg_id(self) -> int:
        # 63 bits: unique like WeChat's 64-bit ids, yet safe in a signed BIGINT column.
        while (msg_id := secrets.randbits(63)) in self.msg_ids or not msg_id:
            pass
        self.msg_ids.add(msg_id)
        return msg_id

    async def push(self, plain_xml: str) -> Outcome:
        params, body = sign_push(
            plain_xml, self.options, self.openid, int(time.time()), new_nonce()
        )
        url = f"{self.server}/wechat"
        try:
            async with self.session.post(
                url, params=params, data=body.encode("utf-8"), headers={"Content-Type": "text/xml"}
            ) as resp:
                status, text = resp.status, await resp.text()
        except aiohttp.ClientConnectionError:
            return self.fail(f"cannot reach {self.server} — start it with `dangjian serve --demo`")
        except TimeoutError:
            return self.fail(
                f"no answer within {WECHAT_DEADLINE:g} s: WeChat would drop the "
                "connection and retry (3 attempts in all), then show nothing"
            )
        except aiohttp.ClientError as exc:
            return self.fail(f"request to {url} failed: {exc}")
        if status == 403:
            return self.fail(
                "the server rejected the signature (HTTP 403): the token this chat "
                "signs with must match the server's WECHAT_TOKEN"
            )
        if status >= 400:
            # A 400 in safe mode is almost always a key or appid that differs from the server's.
            hint = AES_MISMATCH if self.options.encrypt and status == 400 else ""
            return self.fail(f"the server answered HTTP {status}{hint}: {text.strip()[:200]}")
        if self.fake is None:
            await self.probe_fake()
            if self.fake is None:
                self.no_fake()  # the server answers but its API base does not
        return self.show_reply(text)

    def show_reply(self, text: str) -> Outcome:
        if text.strip() in ("", "success"):
            # The answer, if any, comes through the customer-service API.
            self.pending += 1
            return Outcome.OK
        try:
            fields, warning = open_reply(text, self.options)
        except ReplyError as exc:
            return self.fail(str(exc))
        if fields.get("ToUserName") not in (None, self.openid):
            warning = "the reply is addressed to another user; WeChat would not deliver it here"
        self.say(BOT + describe_reply(fields))
        if warning:
            self.say(f"» warning: {warning}")
        return Outcome.OK

    def fail(self, message: str) -> Outcome:
        self.say(f"error: {message}")
        return Outcome.FAILED


def _start_stdin_reader(stdin: TextIO, queue: asyncio.Queue[str | None]) -> None:
    """Feed lines into the loop from a daemon thread.

    Not `run_in_executor`: a read blocked in the default executor keeps asyncio.run from
    finishing after Ctrl-C until Enter is pressed; a daemon thread does not hold the exit.
    """
    loop = asyncio.get_running_loop()

    def put(item: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def pump() -> None:
        try:
            for line in iter(stdin.readline, ""):
                put(line)
        except (OSError, ValueError):
            pass
        put(None)

    threading.Thread(target=pump, name="dangjian-chat-stdin", daemon=True).start()


async def run_chat(
    options: ChatOptions, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Run the chat; 0 on a normal end, 1 when a scripted line failed, 2 on bad options."""
    out = stdout or sys.stdout
    if options.encrypt and not options.aes_key:
        out.write("error: --aes needs an EncodingAESKey: set WECHAT_AES_KEY to the server's\n")
        return 2
    interactive = options.script is None
    timeout = aiohttp.ClientTimeout(total=WECHAT_DEADLINE)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        chat = _Chat(options, session, out)
        if interactive:
            chat.banner()
        await chat.probe_fake()
        poller = asyncio.create_task(chat.poll_forever())
        try:
            if interactive:
                return await _interactive(chat, stdin or sys.stdin)
            return await _scripted(chat, options.script or [])
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller


async def _scripted(chat: _Chat, lines: list[str]) -> int:
    for line in lines:
        chat.say(PROMPT + line)
        outcome = await chat.handle(line)
        if outcome is Outcome.QUIT:
            break
        if outcome is Outcome.FAILED:
            return 1
        await chat.poll()  # keep late replies next to the line that caused them
    await chat.wait_for_late()
    return 0


async def _interactive(chat: _Chat, stdin: TextIO) -> int:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    # A terminal echoes what is typed; piped input is echoed here so the transcript reads alike.
    echo = not stdin.isatty()
    _start_stdin_reader(stdin, queue)
    while True:
        chat.prompt()
        raw = await queue.get()
        chat.prompting = False
        if raw is None:  # EOF (Ctrl-D)
            chat.out.write("\n")
            return 0
        if echo:
            chat.out.write(raw if raw.endswith("\n") else raw + "\n")
        line = raw.strip()
        if line and await chat.handle(line) is Outcome.QUIT:
            return 0
        await chat.poll()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="URL",
        help="the dangjian server (default: http://HOST:PORT from settings)",
    )
    parser.add_argument(
        "--api-base",
        metavar="URL",
        help="the WeChat API base the server calls (default: from settings); "
        "late replies are shown when it is the fake one",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        default="newcomer",
        help="the WeChat user you play; each name is one stable openid (default: newcomer)",
    )
    parser.add_argument(
        "--aes", action="store_true", help="send safe-mode (AES-encrypted) messages"
    )
    parser.add_argument(
        "--event", choices=["subscribe"], help="send this event (follow the account) and exit"
    )
    parser.add_argument(
        "-c",
        "--command",
        metavar="TEXT",
        action="append",
        help="send this line and exit (repeatable; /user and /event work too)",
    )
    parser.add_argument(
        "--wait",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_WAIT,
        help="after the last scripted line, wait this long for late replies "
        f"(default: {DEFAULT_WAIT:g})",
    )


_ANY_HOST = ("", "0.0.0.0", "::")


def _client_url(url: str) -> str:
    """A server bound to every interface is reached on loopback."""
    parts = urlsplit(url)
    if parts.hostname in _ANY_HOST:
        netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _connect_host(host: str) -> str:
    if host in _ANY_HOST:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def options_from_args(args: argparse.Namespace, settings: Settings) -> ChatOptions:
    script = [f"/event {args.event}"] if args.event else []
    script += args.command or []
    server = args.server or f"http://{_connect_host(settings.host)}:{settings.port}"
    # A development server mounts the fake WeChat on itself, wherever --server points.
    default_api = (
        f"{server.rstrip('/')}/fake-wechat"
        if settings.embedded_fake_wechat
        else _client_url(settings.api_base)
    )
    return ChatOptions(
        server=server,
        api_base=args.api_base or default_api,
        user=args.user,
        token=settings.token,
        aes_key=settings.aes_keys[0] if settings.aes_keys else None,
        appid=settings.appid,
        encrypt=args.aes,
        script=script or None,
        wait_seconds=args.wait,
    )
