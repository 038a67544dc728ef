"""Binding a WeChat identity to a member: 绑定 姓名 手机号后四位.

Guarded against enumeration: each WeChat user gets a few failed tries per hour, counted in
the shared cache, and a refusal never says whether the name or the digits were wrong.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.cache import Cache
from server.errors import Conflict, RateLimited, ValidationFailed
from server.models import Channel, Member, MemberStatus, WeChatIdentity, mask_openid
from server.services.identities import IdentityDirectory

log = logging.getLogger("dangjian.binding")

FAILURE_WINDOW = 3600
_DIGITS = re.compile(r"^\d{4}$|^1\d{10}$")


class BindOutcome(StrEnum):
    BOUND = "bound"
    ALREADY = "already"  # this WeChat user is already this member
    AMBIGUOUS = "ambiguous"  # several members match: ask for the full number


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    member: Member | None = None
    candidates: tuple[int, ...] = ()  # for AMBIGUOUS: whom the full number must match


@dataclass(frozen=True)
class BindRequest:
    appid: str
    openid: str
    channel: Channel
    name: str
    digits: str
    unionid: str | None = None


NOT_FOUND = (
    "没有找到匹配的党员信息。请核对姓名和手机号（后四位），格式：绑定 张三 1234。"
    "如果信息无误，请联系支部书记核对党员名册。"
)
TAKEN = "该党员已绑定了另一个微信号。如需更换绑定，请联系您的支部书记。"


def parse_bind_args(args: str) -> tuple[str, str]:
    """'张三 1234', '张三1234', '张三 13800001234' → (name, digits)."""
    match = re.match(r"^\s*(\D+?)\s*(\d[\d\s-]*)\s*$", args)
    if not match:
        raise ValidationFailed(
            "请按格式发送：绑定 姓名 手机号后四位，例如：绑定 张三 1234", field="args"
        )
    # One space kept: Latin names are stored as "Li Lei"; Chinese ones without spaces.
    name = re.sub(r"\s+", " ", match.group(1)).strip()
    digits = re.sub(r"[\s-]", "", match.group(2))
    if not _DIGITS.match(digits):
        raise ValidationFailed(
            "手机号请填写后四位（或完整的 11 位号码），例如：绑定 张三 1234", field="digits"
        )
    return name, digits


def _spellings(name: str) -> list[str]:
    """'王 芳' is 王芳; 'Li Lei' stays itself (and LiLei, for a roster typed without the space)."""
    return list(dict.fromkeys([name, name.replace(" ", "")]))


class Binder:
    def __init__(self, cache: Cache, max_failures: int, identities: IdentityDirectory) -> None:
        self.cache = cache
        self.max_failures = max_failures
        self.identities = identities

    def _tries_key(self, req: BindRequest) -> str:
        return f"bind-tries:{req.appid}:{req.openid}"

    async def _count_try(self, req: BindRequest) -> None:
        # Counted before anything is looked up: guesses sent all at once are each counted
        # before any of them is answered, so none slips past the limit.
        tries = await self.cache.incr(self._tries_key(req), FAILURE_WINDOW)
        if tries > self.max_failures:
            raise RateLimited("绑定尝试次数过多，请一小时后再试，或联系支部书记协助绑定。")

    async def _succeeded(self, req: BindRequest) -> None:
        await self.cache.delete(self._tries_key(req))

    async def _fail(self, req: BindRequest, message: str) -> None:
        log.info("bind refused", extra={"openid": mask_openid(req.openid)})
        raise ValidationFailed(message, field="member")

    async def bind(self, req: BindRequest, *, among: tuple[int, ...] | None = None) -> BindResult:
        """Bind, or say why not.  `among` narrows to the candidates of an ambiguous first try."""
        await self._count_try(req)
        current = await WeChatIdentity.get_or_none(
            appid=req.appid, openid=req.openid
        ).prefetch_related("member")
        if current is not None:
            if current.member.name in _spellings(req.name) and current.member.phone.endswith(
                req.digits
            ):
                await self._succeeded(req)
                return BindResult(BindOutcome.ALREADY, current.member)
            raise Conflict(
                f"您的微信已绑定为 {current.member.name}。如需更换，请联系支部书记解除绑定。"
            )

        query = Member.filter(name__in=_spellings(req.name), status=MemberStatus.ACTIVE)
        if among is not None:
            query = query.filter(id__in=among)
        candidates = [m for m in await query if m.phone.endswith(req.digits)]
        if not candidates:
            await self._fail(req, NOT_FOUND)
        if len(candidates) > 1:
            return BindResult(BindOutcome.AMBIGUOUS, candidates=tuple(m.id for m in candidates))
        member = candidates[0]
        if await WeChatIdentity.exists(appid=req.appid, member_id=member.id):
            await self._fail(req, TAKEN)
        try:
            async with in_transaction():
                await WeChatIdentity.create(
                    appid=req.appid,
                    openid=req.openid,
                    unionid=req.unionid,
                    channel=req.channel,
                    member=member,
                )
        except IntegrityError:
            # Two taps on two processes: whoever lost sees what the winner wrote.
            again = await WeChatIdentity.get_or_none(appid=req.appid, openid=req.openid)
            if again is not None and again.member_id == member.id:  # type: ignore[attr-defined]
                return BindResult(BindOutcome.ALREADY, member)
            await self._fail(req, TAKEN)
        await self._succeeded(req)
        await self.identities.forget(req.appid, req.openid)
        log.info(
            "identity bound",
            extra={
                "member_id": member.id,
                "channel": req.channel.value,
                "openid": mask_openid(req.openid),
            },
        )
        return BindResult(BindOutcome.BOUND, member)
