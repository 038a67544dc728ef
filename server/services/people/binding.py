"""Binding a WeChat identity to a member: a one-time code, WeChat's phone verification, or,
where the committee allows it and for plain 党员 only, 绑定 姓名 手机号后四位.

Guarded against guessing three ways, all counted in the shared cache before anything is
looked up (guesses sent all at once are each counted before any is answered): each WeChat
user gets a few failed tries an hour; each member named in a guess gets a few a day, after
which that member can be bound only by code or phone verification and the secretary is told;
and all failures together an hour, after which guessable binding stops for everyone.  A
refusal never says which part was wrong, nor that the member is bound to someone else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NoReturn

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.cache import Cache
from server.channels import Channel
from server.errors import Conflict, RateLimited, ValidationFailed
from server.models.people import Member, MemberStatus, Role, WeChatIdentity, mask_openid
from server.services.people import bind_codes
from server.services.people.identities import IdentityDirectory

log = logging.getLogger("dangjian.binding")

FAILURE_WINDOW = 3600
TARGET_WINDOW = 86400
_DIGITS = re.compile(r"^\d{4}$|^1\d{10}$")

# Told which member's guessable paths just locked (the app tells their secretary).
LockNotifier = Callable[[Member], Awaitable[None]]


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
    name: str = ""
    digits: str = ""
    unionid: str | None = None


@dataclass(frozen=True)
class BindLimits:
    per_user: int = 5  # failed tries per WeChat user an hour
    per_target: int = 5  # failed guesses naming one member a day
    overall: int = 200  # failed tries by everyone an hour
    by_name: bool = False  # 绑定 姓名 后四位 allowed at all (plain 党员 only)


NOT_FOUND = (
    "没有找到匹配的党员信息。请核对姓名和手机号后四位（格式：绑定 张三 1234）。"
    "支委委员、党小组长等负责同志，请使用支部书记发给您的绑定码（绑定 绑定码）。"
    "如果信息无误，请联系支部书记。"
)
CODE_REFUSED = "绑定码无效、已使用或已过期。请向支部书记索取新的绑定码，然后发送：绑定 绑定码。"
PHONE_REFUSED = "这个手机号不在党员名册中，或无法用于绑定。请联系支部书记索取绑定码。"
BY_NAME_OFF = (
    "本组织不使用姓名和手机号绑定。请向支部书记索取绑定码，然后发送：绑定 绑定码"
    "（在小程序中也可以用手机号快捷验证绑定）。"
)
TOO_MANY = "绑定尝试次数过多，请一小时后再试，或联系支部书记获取绑定码。"
PAUSED = "自助绑定暂时暂停，请一小时后再试，或联系支部书记获取绑定码。"


def parse_bind_args(args: str) -> tuple[str, str]:
    """'张三 1234', '张三1234', '张三 13800001234' → (name, digits)."""
    match = re.match(r"^\s*(\D+?)\s*(\d[\d\s-]*)\s*$", args)
    if not match:
        raise ValidationFailed(
            "请按格式发送：绑定 绑定码，或 绑定 姓名 手机号后四位，例如：绑定 张三 1234",
            field="args",
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
    def __init__(
        self,
        cache: Cache,
        identities: IdentityDirectory,
        limits: BindLimits,
        now: Callable[[], datetime],
        on_lock: LockNotifier | None = None,
    ) -> None:
        self.cache = cache
        self.identities = identities
        self.limits = limits
        self.now = now
        self.on_lock = on_lock

    # --- the counters ------------------------------------------------------------------------

    def _tries_key(self, req: BindRequest) -> str:
        return f"bind-tries:{req.appid}:{req.openid}"

    @staticmethod
    def _target_key(member_id: int) -> str:
        return f"bind-target:{member_id}"

    async def _count_try(self, req: BindRequest) -> None:
        tries = await self.cache.incr(self._tries_key(req), FAILURE_WINDOW)
        if tries > self.limits.per_user:
            raise RateLimited(TOO_MANY, retry_after=FAILURE_WINDOW, code="BIND_LOCKED")
        overall = await self.cache.get("bind-failures")
        if overall is not None and int(overall) >= self.limits.overall:
            raise RateLimited(PAUSED, retry_after=FAILURE_WINDOW, code="BIND_PAUSED")

    async def _fail(self, req: BindRequest, message: str) -> NoReturn:
        await self.cache.incr("bind-failures", FAILURE_WINDOW)
        log.info("bind refused", extra={"openid": mask_openid(req.openid)})
        raise ValidationFailed(message, field="member")

    async def _succeeded(self, req: BindRequest, member: Member) -> None:
        await self.cache.delete(self._tries_key(req))
        await self.cache.delete(self._target_key(member.id))

    async def _current(self, req: BindRequest) -> WeChatIdentity | None:
        return await WeChatIdentity.get_or_none(
            appid=req.appid, openid=req.openid
        ).prefetch_related("member")

    @staticmethod
    def _already_other(current: WeChatIdentity) -> Conflict:
        return Conflict(
            f"您的微信已绑定为 {current.member.name}。如需更换，请联系支部书记解除绑定。"
        )

    # --- the three ways in -------------------------------------------------------------------

    async def bind(self, req: BindRequest, *, among: tuple[int, ...] | None = None) -> BindResult:
        """绑定 姓名 后四位.  `among` narrows to the candidates of an ambiguous first try."""
        await self._count_try(req)
        current = await self._current(req)
        if current is not None:
            if current.member.name in _spellings(req.name) and current.member.phone.endswith(
                req.digits
            ):
                await self._succeeded(req, current.member)
                return BindResult(BindOutcome.ALREADY, current.member)
            raise self._already_other(current)
        if not self.limits.by_name:
            raise ValidationFailed(BY_NAME_OFF, field="member")

        query = Member.filter(name__in=_spellings(req.name), status=MemberStatus.ACTIVE)
        if among is not None:
            query = query.filter(id__in=among)
        named = await query
        # Each member named is charged before the digits are compared: a guess spread over
        # many WeChat accounts still runs out, per member.
        open_to_guess: list[Member] = []
        charged: dict[int, int] = {}
        for member in named:
            charged[member.id] = await self.cache.incr(self._target_key(member.id), TARGET_WINDOW)
            if charged[member.id] <= self.limits.per_target:
                open_to_guess.append(member)
        # Leadership can never be bound by what a roster reader might know.
        candidates = [
            m for m in open_to_guess if m.role is Role.MEMBER and m.phone.endswith(req.digits)
        ]
        if len(candidates) > 1:
            return BindResult(BindOutcome.AMBIGUOUS, candidates=tuple(m.id for m in candidates))
        if candidates and not await WeChatIdentity.exists(
            appid=req.appid, member_id=candidates[0].id
        ):
            return await self._attach(req, candidates[0], NOT_FOUND)
        await self._lock_alarm(named, charged)
        await self._fail(req, NOT_FOUND)

    async def bind_with_code(self, req: BindRequest, code: str) -> BindResult:
        """绑定 <code>: the code the secretary issued, used once."""
        await self._count_try(req)
        compact = bind_codes.normalise(code)
        holder = await bind_codes.code_holder(compact, self.now()) if compact else None
        current = await self._current(req)
        if current is not None:
            if holder is not None and holder.id == current.member.id:
                await self._succeeded(req, current.member)
                return BindResult(BindOutcome.ALREADY, current.member)
            raise self._already_other(current)
        if (
            holder is None
            or compact is None
            or await WeChatIdentity.exists(appid=req.appid, member_id=holder.id)
            or not await bind_codes.use_code(compact, self.now())
        ):
            await self._fail(req, CODE_REFUSED)
        assert holder is not None
        return await self._attach(req, holder, CODE_REFUSED)

    async def bind_verified_phone(self, req: BindRequest, phone: str) -> BindResult:
        """The phone number WeChat verified for this user binds the member on the roster."""
        await self._count_try(req)
        member = await Member.get_or_none(phone=phone, status=MemberStatus.ACTIVE)
        current = await self._current(req)
        if current is not None:
            if member is not None and member.id == current.member.id:
                await self._succeeded(req, current.member)
                return BindResult(BindOutcome.ALREADY, current.member)
            raise self._already_other(current)
        if member is None or await WeChatIdentity.exists(appid=req.appid, member_id=member.id):
            await self._fail(req, PHONE_REFUSED)
        assert member is not None
        return await self._attach(req, member, PHONE_REFUSED)

    # --- the shared end ----------------------------------------------------------------------

    async def _attach(self, req: BindRequest, member: Member, refusal: str) -> BindResult:
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
            if again is not None and again.member_id == member.id:
                return BindResult(BindOutcome.ALREADY, member)
            await self._fail(req, refusal)
        await self._succeeded(req, member)
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

    async def _lock_alarm(self, named: list[Member], charged: dict[int, int]) -> None:
        """The guess that used a member's last try locks them: their secretary hears once."""
        for member in named:
            if charged.get(member.id) == self.limits.per_target:
                log.warning("bind guesses locked a member", extra={"member_id": member.id})
                if self.on_lock is not None:
                    await self.on_lock(member)
