"""`dangjian member-data | erase-member`: a member's personal information at the operator's
terminal (个人信息保护法: 查阅复制权 and 删除权, `services/privacy`).

- `member-data PHONE [--out FILE]`: everything held about the member as one XLSX, to hand them.
- `erase-member PHONE --reason TEXT [--yes]`: prints what would be erased and what is kept for
  the figures, asks (unless `--yes`), then erases as the operator (`by` None in the record).
  A member still 在册 is refused (转出 first), and so is a member already erased: their phone is
  no longer kept, so it finds nobody.  With Redis configured the running servers forget the
  member's WeChat users at once; without it the one embedded server does within
  DANGJIAN_IDENTITY_TTL seconds (the bindings themselves are gone at once).

A refusal goes to stderr naming the argument, exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from server.cli_running import in_database
from server.settings import Settings

if TYPE_CHECKING:
    from server.cache import Cache
    from server.models.people import Member
    from server.services.people.identities import IdentityDirectory
    from server.services.privacy.erase import Preview

NO_SUCH_PHONE = "没有这个手机号的党员（个人信息已删除的党员，手机号不再保存）。"
YES = frozenset({"y", "yes", "是", "确认"})


def _run(settings: Settings, work: Callable[[], Awaitable[str]]) -> int:
    return in_database(settings, work)


async def _member(phone: str) -> Member:
    from server.errors import NotFound
    from server.models.people import Member

    member = await Member.get_or_none(phone=phone.strip())
    if member is None:
        raise NotFound(NO_SUCH_PHONE, field="PHONE")
    return member


def cmd_member_data(settings: Settings, args: argparse.Namespace) -> int:
    from server.clock import Clock
    from server.errors import ValidationFailed
    from server.services.privacy.export import member_data

    clock = Clock(settings.zone)

    async def work() -> str:
        member = await _member(args.phone)
        data = await member_data(member.id, zone=settings.zone, now=clock.now())
        out = Path(args.out or f"个人信息-{member.id}-{clock.today():%Y%m%d}.xlsx")
        try:
            await asyncio.to_thread(out.write_bytes, data)
        except OSError as exc:
            raise ValidationFailed(f"cannot write {out} ({exc.strerror})", field="--out") from None
        return f"wrote {out}: 党员 #{member.id} 的全部个人信息（交本人，勿外传）"

    return _run(settings, work)


def preview_text(seen: Preview) -> str:
    from server.services.privacy.erase import KEPT_LABELS, LABELS

    who = f"{seen.name}（党员 #{seen.member_id}，{seen.organisation}，{seen.status}）"
    lines = [f"将删除 {who}的个人信息："]
    lines += [f"  {LABELS[k]}：{n}" for k, n in seen.changes.items()]
    if not seen.changes:
        lines.append("  （除姓名、手机号和基本信息外没有其他记录）")
    lines.append("  姓名改为“已删除党员#ID”，手机号、性别、出生日期、学历、入党日期删除")
    if seen.kept:
        kept = "、".join(f"{KEPT_LABELS[k]} {n}" for k, n in seen.kept.items())
        lines.append(f"保留（不含个人信息，已上报的统计数字不变）：{kept}")
    if seen.namesake:
        lines.append(
            "注意：另有同名人员在册，他人记录（会议记录、服务经过等）中的这个姓名无法区分，"
            "只替换与本人直接关联的记录。"
        )
    lines.append("删除后不能恢复。")
    return "\n".join(lines)


@asynccontextmanager
async def _shared(
    settings: Settings,
) -> AsyncIterator[tuple[IdentityDirectory | None, Cache | None]]:
    """The running servers' shared cache, when there is one (Redis)."""
    if not settings.redis_url:
        yield None, None
        return
    from server.cache import RedisCache
    from server.clock import Clock
    from server.services.people.identities import IdentityDirectory

    cache = RedisCache(settings.redis_url, settings.redis_prefix)
    try:
        yield IdentityDirectory(cache, Clock(), 0), cache
    finally:
        await cache.close()


def cmd_erase_member(settings: Settings, args: argparse.Namespace) -> int:
    from server.errors import ValidationFailed
    from server.services.privacy.erase import LABELS, erase_member, preview

    async def work() -> str:
        member = await _member(args.phone)
        seen = await preview(member.id, zone=settings.zone)
        print(preview_text(seen))
        if not args.yes:
            if not sys.stdin.isatty():
                raise ValidationFailed("没有确认：请在终端运行并回答，或加 --yes。", field="--yes")
            answer = await asyncio.to_thread(input, "确认删除？输入 是 或 yes：")
            if answer.strip().lower() not in YES:
                raise ValidationFailed("未确认，什么也没有删除。", field="--yes")
        async with _shared(settings) as (identities, cache):
            done = await erase_member(
                member.id, None, args.reason, now=datetime.now(UTC),
                identities=identities, cache=cache, zone=settings.zone,
            )  # fmt: skip
        rows = "，".join(f"{LABELS[k]} {n}" for k, n in done.changes.items()) or "无其他记录"
        return (
            f"已删除党员 #{member.id} 的个人信息（删除记录 {done.erasure.id}）：{rows}。"
            "已上报的统计数字不变。"
        )

    return _run(settings, work)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    data = sub.add_parser(
        "member-data", help="everything held about one member, as XLSX (查阅复制权)"
    )
    data.add_argument("phone", metavar="PHONE", help="the member's phone number, as in the roster")
    data.add_argument(
        "-o", "--out", help="the XLSX file (default: 个人信息-<member id>-<YYYYMMDD>.xlsx)"
    )
    data.set_defaults(func=cmd_member_data)

    erase = sub.add_parser(
        "erase-member",
        help="erase a member's personal information on request (删除权; 转出 first)",
    )
    erase.add_argument("phone", metavar="PHONE", help="the member's phone number, as in the roster")
    erase.add_argument(
        "--reason", required=True, help="why, as recorded (e.g. 本人书面申请 2026-12-01)"
    )
    erase.add_argument("--yes", action="store_true", help="do not ask before erasing")
    erase.set_defaults(func=cmd_erase_member)
