"""The `dangjian chat` command line, and the `ChatOptions` it becomes with the settings."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from server.errors import ConfigError

if TYPE_CHECKING:
    from server.settings import Settings

DEFAULT_WAIT = 5.0


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


def _check_url(flag: str, url: str) -> None:
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a malformed IPv6 literal, a port that is not a number
        ok = False
    if not ok:
        raise ConfigError(f"{flag}: expected a URL such as http://127.0.0.1:8080, got {url!r}")


def options_from_args(args: argparse.Namespace, settings: Settings) -> ChatOptions:
    script = [f"/event {args.event}"] if args.event else []
    script += args.command or []
    server = args.server or f"http://{_connect_host(settings.host)}:{settings.port}"
    for flag, url in (("--server", server), ("--api-base", args.api_base)):
        if url is not None:
            _check_url(flag, url)
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
