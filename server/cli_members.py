"""`dangjian unbind | set-role | transfer | make-admin`: the operator manages members by phone.

The command line acts as the server's operator (`actor` None in the change record), under the
same record-keeping as the chat and the API.  Running servers sharing Redis hear at once that
the member changed, and the unbound member is told through WeChat with the servers' shared
access token; without Redis nothing outside this process can be reached, and the command says so.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from server.cli_running import in_database
from server.settings import Settings

if TYPE_CHECKING:
    from server.channels import Channel
    from server.models.people import Member
    from server.services.people.identities import IdentityDirectory
    from server.wechat.client import WeChatClient


@dataclass
class Reach:
    identities: IdentityDirectory
    clients: dict[Channel, WeChatClient] = field(default_factory=dict)


@asynccontextmanager
async def _reach(settings: Settings) -> AsyncIterator[Reach]:
    import aiohttp

    from server.cache import MemoryCache, RedisCache
    from server.channels import Channel
    from server.clock import Clock
    from server.services.people.identities import IdentityDirectory
    from server.wechat.client import WeChatClient

    if not settings.redis_url:
        yield Reach(IdentityDirectory(MemoryCache(), Clock(), 0))
        return
    cache = RedisCache(settings.redis_url, settings.redis_prefix)
    session = aiohttp.ClientSession()
    try:

        def client(appid: str, secret: str) -> WeChatClient:
            return WeChatClient(
                session=session,
                base_url=settings.api_base,
                appid=appid,
                secret=secret,
                cache=cache,
                clock=Clock(),
            )

        yield Reach(
            IdentityDirectory(cache, Clock(), 0),
            {
                Channel.OFFICIAL_ACCOUNT: client(settings.appid, settings.secret),
                Channel.MINIPROGRAM: client(settings.mp_appid, settings.mp_secret),
            },
        )
    finally:
        await session.close()
        await cache.close()


async def _member(phone: str) -> Member:
    from server.errors import ValidationFailed
    from server.models.people import Member

    member = await Member.get_or_none(phone=phone.strip()).prefetch_related("organisation")
    if member is None:
        raise ValidationFailed("没有这个手机号的党员。", field="phone")
    return member


def _run(settings: Settings, work: Callable[[], Awaitable[str]]) -> int:
    return in_database(settings, work)


def cmd_unbind(settings: Settings, args: argparse.Namespace) -> int:
    from server.services.delivery.messenger import tell_identities
    from server.services.people.unbinding import unbind, unbound_text

    async def work() -> str:
        member = await _member(args.phone)
        async with _reach(settings) as reach:
            removed = await unbind(member, None, args.reason, reach.identities)
            told = await tell_identities(removed, unbound_text(member), reach.clients)
        note = (
            "told them in WeChat" if told else "could not tell them in WeChat: tell them yourself"
        )
        return (
            f"unbound {member.name}: {len(removed)} WeChat identities removed, reason recorded; "
            f"{note}. They bind again with a new code: dangjian bind-code {args.phone}"
        )

    return _run(settings, work)


def cmd_set_role(settings: Settings, args: argparse.Namespace) -> int:
    from server.errors import ValidationFailed
    from server.models.people import Role
    from server.services.people.member_changes import change_role

    async def work() -> str:
        try:
            role = Role(args.role)
        except ValueError:
            raise ValidationFailed(
                "不是有效的职务；可选：" + "、".join(r.value for r in Role), field="role"
            ) from None
        member = await _member(args.phone)
        before = member.role
        async with _reach(settings) as reach:
            await change_role(member, role, None, args.reason or "", reach.identities)
        return f"{member.name}: {before.value} → {role.value} (recorded)"

    return _run(settings, work)


def cmd_make_admin(settings: Settings, args: argparse.Namespace) -> int:
    from server.models.people import Role
    from server.services.people.member_changes import change_role

    async def work() -> str:
        member = await _member(args.phone)
        before = member.role
        async with _reach(settings) as reach:
            await change_role(member, Role.ADMIN, None, args.reason or "", reach.identities)
        return (
            f"{member.name} is now {Role.ADMIN.value} (was {before.value}); "
            f"sign them in with: dangjian admin-link {args.phone}"
        )

    return _run(settings, work)


def cmd_transfer(settings: Settings, args: argparse.Namespace) -> int:
    from server.services.people.member_changes import transfer
    from server.services.people.org_lookup import organisation_named

    async def work() -> str:
        member = await _member(args.phone)
        before = member.organisation.path
        destination = await organisation_named(args.to, "to")
        async with _reach(settings) as reach:
            moved = await transfer(member, destination, None, args.reason or "", reach.identities)
        return f"{member.name}: {before} → {destination.path}, now {moved.role.value} (recorded)"

    return _run(settings, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:

    unbind = sub.add_parser("unbind", help="remove a member's WeChat bindings (reason required)")
    unbind.add_argument("phone", help="the member's phone number, as in the roster")
    unbind.add_argument("--reason", required=True, help="why (kept in the change record)")
    unbind.set_defaults(func=cmd_unbind)

    role = sub.add_parser("set-role", help="change a member's role, e.g. 支部书记")
    role.add_argument("phone")
    role.add_argument(
        "role", help="党员, 党小组长, 支委委员, 支部副书记, 支部书记, 总支书记, 党工委工作人员"
    )
    role.add_argument("--reason", help="why (kept in the change record)")
    role.set_defaults(func=cmd_set_role)

    admin = sub.add_parser("make-admin", help="make a member 系统管理员 (prints what it did)")
    admin.add_argument("phone")
    admin.add_argument("--reason", help="why (kept in the change record)")
    admin.set_defaults(func=cmd_make_admin)

    move = sub.add_parser("transfer", help="move a member to another branch or 党小组")
    move.add_argument("phone")
    move.add_argument(
        "--to", required=True, help="the branch or group: id, full path or unique name"
    )
    move.add_argument("--reason", help="why (kept in the change record)")
    move.set_defaults(func=cmd_transfer)
