"""社区下单 in chat, for those who run a community (the 总支书记 of a 社区党总支, staff, admins):
需求, 下单 N, 发布, 不受理 N, 报到审核, 确认报到 N, 退回报到 N, 确认完成 N, 撤销服务 N, 服务单 N;
standing posts: 发布岗位, 岗位, 关闭岗位 N.

Anyone else sending these is told plainly that they are the community's, and nothing changes;
a number from a community the sender does not run gets the same answer as one that does not
exist (`Hidden`).  An order's title is the community's public wording (the 晒单 page shows it),
never the resident's own message.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from handlers.common import tidings as telling
from server.clock import Clock, when_text
from server.dispatch import ChatContext, PrivateReply, Router
from server.dispatch.context import text_after_number
from server.dispatch.filters import Command, Keyword, Pattern
from server.errors import NotFound, PermissionDenied, ValidationFailed
from server.models.community import (
    NEED_STATUS_LABELS,
    ORDER_STATUS_LABELS,
    ClaimStatus,
    Community,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    PostHolder,
    PostStatus,
    ReportUnit,
    ServiceOrder,
    VolunteerStatus,
)
from server.models.people import Member
from server.services.community import (
    needs,
    notify,
    orders,
    posts,
    roles,
    standing,
    timeline,
    volunteers,
)
from server.services.community.wording import community_at_start, short, take_hours, take_people
from server.services.delivery.messenger import WakeOutbox
from server.services.meetings.when import UnparseableTime, parse_when
from server.settings import Settings
from server.wechat.replies import MAX_TEXT_BYTES, fit

router = Router("community")

MENU = Keyword("社区", "社区服务", "社区帮助", "社区菜单")
NEEDS = Keyword("需求", "居民需求", "需求列表", "待受理")
DISPATCH = Pattern(r"下单\s*(?P<number>\d{1,9})\s*(?P<rest>.*)")
DISPATCH_MALFORMED = Command("下单")
PUBLISH = Command("发布", "发布服务")
REFUSE = Pattern(r"不受理\s*(?P<number>\d{1,9})\s*(?P<reason>.*)")
PENDING = Keyword("报到审核", "审核报到", "待确认报到")
CONFIRM = Pattern(r"确认报到\s*(?P<number>\d{1,9})\s*(?P<grid>.*)")
SEND_BACK = Pattern(r"退回报到\s*(?P<number>\d{1,9})\s*(?P<reason>.*)")
CONFIRM_DONE = Pattern(r"确认完成\s*(?P<number>\d{1,9})")
CANCEL = Pattern(r"撤销服务\s*(?P<number>\d{1,9})\s*(?P<reason>.*)")
SHOW = Pattern(r"服务单\s*(?P<number>\d{1,9})")
# The same words without their number: the community's open orders, or how to go on.
OPEN_ORDERS = Keyword("服务单", "服务单列表", "进行中的服务单")
NUMBER_MISSING = Keyword("确认完成", "下单", "不受理", "撤销服务", "确认报到", "退回报到")
NEED_ONE = Pattern(r"需求\s*(?P<number>\d{1,9})")

NOT_YOURS = (
    "这是社区处理居民点单和党员报到用的，只有社区党组织书记、书记指定的社区工作人员"
    "和街道党工委可以使用。"
    "居民有需要帮助的事，请发送：点单 内容。"
)
DISPATCH_USAGE = (
    "下单请发送：下单 需求编号 时间 类别 标题，例如：下单 3 明天上午9点 维修 楼道灯维修；"
    "可在末尾加 2人、1.5小时、地点 幸福小区3栋、限 单位名。"
)
PUBLISH_USAGE = (
    "发布社区自己的服务请发送：发布 时间 类别 标题，"
    "例如：发布 周六上午9点 环境 清理楼道杂物 5人 2小时。"
)
SHOWN = 8
_TRIM = " ，,、；;。：:"


async def _mine(member: Member | None) -> list[Community]:
    communities = await roles.managed_by(member)
    if not communities:
        raise PermissionDenied(NOT_YOURS, code="NOT_COMMUNITY")
    return communities


def _at(moment: datetime, clock: Clock) -> str:
    local = moment.astimezone(clock.zone)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


COMMUNITY_MENU = (
    "社区服务（居民点单、社区下单、党员接单、组织晒单），您可以发送：\n"
    "· 需求 —— 待受理的居民点单\n"
    "· 下单 3 明天上午9点 维修 楼道灯维修 —— 把需求3派为服务单；"
    "可加 2人、1.5小时、地点 幸福小区3栋、限 单位名\n"
    "· 不受理 3 属于物业维修范围 —— 不受理，原因会告诉居民\n"
    "· 发布 周六上午9点 环境 清理楼道杂物 5人 2小时 —— 社区自己的服务（先锋岗、微心愿）\n"
    "· 报到审核 —— 待确认的党员报到\n"
    "· 确认报到 4 第一网格 / 退回报到 4 不是本社区居民 —— 确认或退回，本人会收到结果\n"
    "· 服务单 8 —— 一单的接单人和经过\n"
    "· 确认完成 8 —— 党员报告完成后核实办结，居民随后可以评价\n"
    "· 撤销服务 8 居民已自行解决 —— 撤销，原因会告诉接单党员\n"
    "· 发布岗位 楼栋长 3栋楼栋长 1人 至2027年6月30日 职责 通知传达 —— 长期岗位（先锋岗、楼栋长），"
    "党员回复 认岗 编号 认领\n"
    "· 岗位 / 关闭岗位 5 —— 各岗位的在岗党员；关闭岗位，在岗的党员会收到\n"
    "· 社区工作人员 / 指定社区工作人员 手机号 —— 请党员协助处理（书记指定）\n"
    f"服务类别：{'、'.join(orders.KINDS)}。"
)


@router.message(MENU)
async def menu(member: Member | None) -> str:
    await _mine(member)
    return COMMUNITY_MENU


@router.message(NEEDS)
async def list_needs(member: Member | None, clock: Clock) -> str:
    communities = await _mine(member)
    lines: list[str] = []
    shown = 0
    for community in communities:
        found = await needs.needs_of(community)
        if not found:
            continue
        lines.append(f"{community.name}待受理的需求 {len(found)} 条：")
        for need in found[: max(0, SHOWN - shown)]:
            photo = "（附照片）" if need.media_id else ""
            lines.append(
                f"【{need.id}】{_at(need.created_at, clock)} {need.resident.name}"
                f"（{need.resident.place}）：{short(need.text, 60)}{photo}"
            )
        shown += len(found)
    if not lines:
        return "目前没有待受理的居民需求。"
    if shown > SHOWN:
        lines.append(f"……共 {shown} 条，处理完这些再回复 需求。")
    lines.append("下单：下单 编号 时间 类别 标题（如 下单 3 明天上午9点 维修 楼道灯维修）")
    lines.append("不受理：不受理 编号 原因")
    # Residents' names and addresses: kept only as long as WeChat's retries can come.
    return PrivateReply(fit("\n".join(lines), MAX_TEXT_BYTES))


def _when(text: str, clock: Clock) -> tuple[datetime, str]:
    now = clock.local_now()
    try:
        parsed = parse_when(text, now)
    except UnparseableTime:
        raise ValidationFailed(
            "没看懂服务时间，请写成 明天上午9点、周六下午3点 或 12月1日9:00。", field="starts_at"
        ) from None
    if abs(parsed.start.year - now.year) > 1:
        raise ValidationFailed("服务时间请写在一年以内。", field="starts_at")
    return parsed.start, parsed.rest


async def _unit_named(name: str) -> ReportUnit:
    found = await ReportUnit.get_or_none(name=name)
    if found is None:
        candidates = await ReportUnit.filter(name__startswith=name)
        found = candidates[0] if len(candidates) == 1 else None
    if found is None:
        raise NotFound(f"没有找到报到单位「{name[:20]}」。", field="unit")
    return found


async def _spec(starts_at: datetime, rest: str, place: str) -> orders.OrderSpec:
    """`维修 楼道灯维修 2人 1.5小时 地点 3栋 限 区税务局` after the time."""
    rest = rest.strip(_TRIM)
    kind = next((k for k in orders.KINDS if rest.startswith(k)), None)
    if kind is None:
        raise ValidationFailed(f"请在时间后写上服务类别：{'、'.join(orders.KINDS)}。", field="kind")
    rest = rest[len(kind) :].strip(_TRIM)
    rest = rest.removeprefix("服务").strip(_TRIM) if rest.startswith("服务 ") else rest
    unit = None
    # A word of its own (` 限 区税务局`), so 清理限高杆 in a title is not a restriction.
    only = re.search(r"(?:^|\s)限\s*(?P<unit>\S+)", rest)
    if only is not None:
        unit = await _unit_named(only.group("unit"))
        rest = (rest[: only.start()] + " " + rest[only.end() :]).strip(_TRIM)
    where = re.search(r"(?:^|\s)地点\s*(?P<place>\S+)", rest)
    if where is not None:
        place = where.group("place")
        rest = (rest[: where.start()] + " " + rest[where.end() :]).strip(_TRIM)
    # `2人` and `1.5小时` at the end, in either order; a number inside the title stays in it.
    hours: Decimal | None = None
    people: int | None = None
    while True:
        if hours is None and (taken := take_hours(rest))[0] is not None:
            hours, rest = taken
        elif people is None and (counted := take_people(rest))[0] is not None:
            people, rest = counted
        else:
            break
    return orders.OrderSpec(
        kind=kind,
        title=rest.strip(_TRIM) or f"{kind}服务",
        place=place,
        starts_at=starts_at,
        hours=orders.hours_from(hours if hours is not None else Decimal(1)),
        capacity=people if people is not None else 1,
        unit=unit,
    )


def _window(order: ServiceOrder, clock: Clock) -> str:
    return f"{when_text(order.starts_at, clock.zone)}–{order.ends_at.astimezone(clock.zone):%H:%M}"


def _dispatched(order: ServiceOrder, tidings: notify.Tidings, clock: Clock, suited: int) -> str:
    need = f"（需求 {order.need_id}）" if order.need_id else ""
    place = f"，{order.place}" if order.place else ""
    lines = [
        f"已下单：服务单 {order.id}{need}，{order.kind}·{order.title}，"
        f"{_window(order, clock)}{place}，需{order.capacity}人。"
    ]
    told = tidings.names("order_dispatched")
    if told:
        lines.append(f"将通知 {len(told)} 名报到党员（收不到推送的回复 服务 时能看到）。")
    elif suited:
        # Members who may claim it, none of them reachable by WeChat: they see it in 服务.
        lines.append(f"有 {suited} 名报到党员可以认领，但暂时收不到推送，回复 服务 时能看到。")
    else:
        lines.append("本社区还没有可以接这一单的已确认报到党员。")
    lines.append(f"回复 服务单 {order.id} 查看进展。")
    return "\n".join(lines)


@router.message(DISPATCH)
async def dispatch(
    number: str,
    rest: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    await _mine(member)
    assert member is not None  # one who runs a community is a member
    need = await needs.need_for_manager(member, int(number))
    # No place unless the community writes one: the resident's address goes to the claimer
    # alone (with their phone), not to every member told of the order.
    spec = await _spec(*_when(rest, clock), "")
    tidings = telling(settings, clock, wake_outbox)
    order = await orders.dispatch(member, spec, clock.now(), need_id=need.id, tidings=tidings)
    return _dispatched(order, tidings, clock, len(await orders.who_to_tell(order)))


@router.message(DISPATCH_MALFORMED)
async def dispatch_malformed(member: Member | None) -> str:
    await _mine(member)
    return DISPATCH_USAGE


def _not_a_post(ctx: ChatContext) -> bool:
    """`发布岗位` starts with `发布`: it is a standing post's (at the end of this module)."""
    return not (ctx.text or "").startswith("发布岗位")


@router.message(PUBLISH, _not_a_post)
async def publish(
    args: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    communities = await _mine(member)
    assert member is not None
    if not args:
        return PUBLISH_USAGE
    community = communities[0]
    if len(communities) > 1:
        named = next((c for c in communities if args.startswith(c.name)), None)
        if named is None:
            names = "、".join(c.name for c in communities)
            example = f"发布 {communities[0].name} 时间 类别 标题"
            return f"您负责多个社区（{names}），请写明社区：{example}。"
        community, args = named, args[len(named.name) :]
    spec = await _spec(*_when(args, clock), "")
    tidings = telling(settings, clock, wake_outbox)
    order = await orders.dispatch(
        member, spec, clock.now(), community_id=community.id, tidings=tidings
    )
    return _dispatched(order, tidings, clock, len(await orders.who_to_tell(order)))


@router.message(REFUSE)
async def refuse(
    number: str,
    reason: str,
    raw_text: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    await _mine(member)
    assert member is not None
    why = text_after_number(raw_text, "不受理") or reason
    tidings = telling(settings, clock, wake_outbox)
    need = await needs.refuse(member, int(number), why, clock.now(), tidings=tidings)
    return f"需求 {need.id} 不予受理（原因：{need.reason}），将告知居民（我的点单 中也能看到）。"


@router.message(PENDING)
async def pending(member: Member | None, clock: Clock) -> str:
    communities = await _mine(member)
    lines: list[str] = []
    for community in communities:
        found = await volunteers.pending(community)
        if not found:
            continue
        lines.append(f"{community.name}待确认的报到 {len(found)} 人：")
        for v in found[:SHOWN]:
            source = v.unit.name if v.unit else "本街道党员"
            skills = f"，特长：{v.skills}" if v.skills else ""
            lines.append(
                f"【{v.id}】{v.name}（{source}）{v.phone}{skills}，{_at(v.registered_at, clock)}"
            )
    if not lines:
        return "目前没有待确认的党员报到。"
    lines.append("确认：确认报到 编号 网格名（如 确认报到 4 第一网格）\n退回：退回报到 编号 原因")
    # The phones are for the community to call; the reply is not kept beyond WeChat's retries.
    return PrivateReply(fit("\n".join(lines), MAX_TEXT_BYTES))


def _decided_reply(heard: bool, head: str) -> str:
    tail = "将通知本人。" if heard else "本人暂时收不到推送，回复 我的报到 时会看到。"
    return f"{head}{tail}"


@router.message(CONFIRM)
async def confirm(
    number: str,
    grid: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    await _mine(member)
    assert member is not None
    tidings = telling(settings, clock, wake_outbox)
    v = await volunteers.decide(
        member, int(number), clock.now(), confirm=True, grid=grid, tidings=tidings
    )
    heard = bool(tidings.names("volunteer_decided"))
    placed = f"，编入{v.grid}" if v.grid else ""
    return _decided_reply(heard, f"已确认{v.name}的报到{placed}。")


@router.message(SEND_BACK)
async def send_back(
    number: str,
    reason: str,
    raw_text: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    await _mine(member)
    assert member is not None
    why = text_after_number(raw_text, "退回报到") or reason
    tidings = telling(settings, clock, wake_outbox)
    v = await volunteers.decide(
        member, int(number), clock.now(), confirm=False, reason=why, tidings=tidings
    )
    heard = bool(tidings.names("volunteer_decided"))
    return _decided_reply(heard, f"已退回{v.name}的报到（原因：{v.reason}）。")


@router.message(CONFIRM_DONE)
async def confirm_done(
    number: str, member: Member | None, clock: Clock, settings: Settings, wake_outbox: WakeOutbox
) -> str:
    await _mine(member)
    assert member is not None
    tidings = telling(settings, clock, wake_outbox)
    order = await orders.confirm_done(member, int(number), clock.now(), tidings=tidings)
    # Who held a place but never reported: not counted as having served, and told here.
    silent = await OrderClaim.filter(
        order_id=order.id, status=ClaimStatus.CLAIMED
    ).prefetch_related("volunteer")
    unreported = (
        f"\n{'、'.join(c.volunteer.name for c in silent)}未报告完成，不计入这次服务。"
        if silent
        else ""
    )
    if order.need_id is None:
        return f"已确认服务单 {order.id} 完成，会在晒单中展示。{unreported}"
    tail = "将请居民评价（回复 我的点单 时也可以评价）。"
    return f"已确认服务单 {order.id} 完成，会在晒单中展示；{tail}{unreported}"


@router.message(CANCEL)
async def cancel(
    number: str,
    reason: str,
    raw_text: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    await _mine(member)
    assert member is not None
    why = text_after_number(raw_text, "撤销服务") or reason
    tidings = telling(settings, clock, wake_outbox)
    order = await orders.cancel(member, int(number), why, clock.now(), tidings=tidings)
    line = f"已撤销服务单 {order.id}。"
    told = tidings.names("order_cancelled")
    if told:
        # Sent within seconds, but only to those who wrote to the account in the last 48 hours.
        line += f"将通知接单党员：{'、'.join(told)}；如急，请电话告知。"
    unreached = [v.name for v in await orders.claimers(order) if v.name not in told]
    if unreached:
        line += f"{'、'.join(unreached)}收不到推送，请电话告知。"
    return line


@router.message(SHOW)
async def show(number: str, member: Member | None, clock: Clock) -> str:
    await _mine(member)
    assert member is not None
    order = await orders.order_for_manager(member, int(number))
    lines = [
        f"服务单 {order.id}（{ORDER_STATUS_LABELS[order.status]}）：{order.kind}·{order.title}",
        f"时间：{_window(order, clock)}，需{order.capacity}人，已接{order.taken}人",
    ]
    if order.place:
        lines.append(f"地点：{order.place}")
    resident = await orders.resident_of(order)
    if resident is not None:
        lines.append(f"居民：{resident.name} {resident.phone}（需求 {order.need_id}）")
    claims = await OrderClaim.filter(order_id=order.id).prefetch_related("volunteer__unit")
    for row in sorted(claims, key=lambda c: c.id):
        v = row.volunteer
        source = v.unit.name if v.unit else "本街道党员"
        lines.append(f"接单：{v.name}（{source}）{v.phone}，{_claim_label(row)}")
    if order.rating is not None:
        note = f"，{order.rating_note}" if order.rating_note else ""
        lines.append(f"居民评价：{order.rating}分{note}")
    lines.append("经过：")
    for event in await timeline.timeline(order.need_id, order.id):
        note = f"：{short(event.note, 40)}" if event.note else ""
        lines.append(f"· {_at(event.at, clock)} {event.actor} {event.action}{note}")
    # The phones are for the community; the reply is not kept beyond WeChat's retries.
    return PrivateReply(fit("\n".join(lines), MAX_TEXT_BYTES))


def _claim_label(row: OrderClaim) -> str:
    if row.status == ClaimStatus.DONE:
        return f"已完成（{row.hours}小时）：{short(row.note, 40)}"
    if row.status == ClaimStatus.WITHDRAWN:
        return "已放弃"
    return "已认领"


# --- the community's own staff ---------------------------------------------------------------

STAFF = Keyword("社区工作人员", "工作人员名单")
NAME_STAFF = Pattern(r"指定社区工作人员\s*(?P<rest>.*)")
REMOVE_STAFF = Pattern(r"取消社区工作人员\s*(?P<rest>.*)")
STAFF_USAGE = (
    "请发送：指定社区工作人员 手机号（负责多个社区的请在前面写社区名），"
    "例如：指定社区工作人员 13800000000。被指定的党员可以处理需求、下单、确认报到和完成。"
)


async def _led_community(member: Member | None, rest: str) -> tuple[Community, str]:
    """The community named at the start (or the only one the member runs), and the phone."""
    await _mine(member)
    phone = re.search(r"1\d{10}", rest)
    if phone is None:
        raise ValidationFailed(STAFF_USAGE, field="phone")
    named, _ = await community_at_start(rest[: phone.start()])
    community = await roles.community_run_by(member, named.id if named else None)
    return community, phone.group()


@router.message(STAFF)
async def list_staff(member: Member | None) -> str:
    lines = []
    for community in await _mine(member):
        names = "、".join(m.name for m in await roles.staff_of(community)) or "（无）"
        lines.append(f"{community.name}的社区工作人员：{names}")
    lines.append("指定：指定社区工作人员 手机号；取消：取消社区工作人员 手机号（社区党组织书记）")
    return "\n".join(lines)


@router.message(NAME_STAFF)
async def name_staff(rest: str, member: Member | None, clock: Clock) -> str:
    community, phone = await _led_community(member, rest)
    named = await roles.name_staff(member, community, phone, clock.now())
    return (
        f"已指定{named.name}为{community.name}的社区工作人员：可以处理需求、下单、确认报到和完成。"
        f"取消请发送：取消社区工作人员 {phone}"
    )


@router.message(REMOVE_STAFF)
async def remove_staff(rest: str, member: Member | None) -> str:
    community, phone = await _led_community(member, rest)
    removed = await roles.remove_staff(member, community, phone)
    return f"已取消{removed.name}的{community.name}社区工作人员身份。"


# --- standing posts (先锋岗, 楼栋长): roles members take on for months ---------------------------

PUBLISH_POST = Command("发布岗位")
POSTS = Keyword("岗位", "岗位列表")
CLOSE_POST = Pattern(r"关闭岗位\s*(?P<number>\d{1,9})")
POST_USAGE = (
    "发布长期岗位请发送：发布岗位 类别 岗位名称 人数，例如：发布岗位 楼栋长 3栋楼栋长 1人；"
    "可在后面加 至2027年6月30日（不写为长期）、职责 负责通知传达和邻里调解。"
)
_UNTIL = re.compile(
    r"(?:^|\s)(?:至|到|截至)\s*(?P<y>\d{4})\s*[年./-]\s*(?P<m>\d{1,2})\s*[月./-]\s*(?P<d>\d{1,2})\s*日?"
)
_DUTY = re.compile(r"(?:^|\s)职责[:：]?\s*(?P<duty>.*)$", re.S)
POSTS_SHOWN = 10


async def _runs_a_community(ctx: ChatContext) -> bool:
    """`岗位` from one who runs a community is theirs; from anyone else, a member's (volunteers)."""
    return bool(await roles.managed_by(ctx.member))


def _post_spec(args: str, today: date) -> posts.PostSpec:
    """`楼栋长 3栋楼栋长 1人 至2027年6月30日 职责 …`"""
    duty = ""
    if (said := _DUTY.search(args)) is not None:
        duty, args = said.group("duty").strip(), args[: said.start()]
    ends_on = None
    if (until := _UNTIL.search(args)) is not None:
        try:
            ends_on = date(int(until["y"]), int(until["m"]), int(until["d"]))
        except ValueError:
            raise ValidationFailed(
                "没看懂截止日期，请写成 至2027年6月30日。", field="ends_on"
            ) from None
        args = args[: until.start()] + " " + args[until.end() :]
    people, args = take_people(args.strip(_TRIM))
    words = args.strip(_TRIM).split()
    if not words:
        raise ValidationFailed(POST_USAGE, field="kind")
    kind, title = words[0], " ".join(words[1:])
    if not title:  # 文明劝导先锋岗: the kind is the known word it ends with
        title = kind
        kind = next((k for k in posts.KINDS if kind.endswith(k)), kind)
    return posts.PostSpec(
        kind=kind,
        title=title,
        starts_on=today,
        places=people if people is not None else 1,
        duty=duty,
        ends_on=ends_on,
    )


@router.message(PUBLISH_POST)
async def publish_post(args: str, member: Member | None, clock: Clock) -> str:
    communities = await _mine(member)
    assert member is not None
    if not args:
        return POST_USAGE
    community = communities[0]
    if len(communities) > 1:
        named = next((c for c in communities if args.startswith(c.name)), None)
        if named is None:
            names = "、".join(c.name for c in communities)
            example = f"发布岗位 {communities[0].name} 楼栋长 3栋楼栋长 1人"
            return f"您负责多个社区（{names}），请写明社区：{example}。"
        community, args = named, args[len(named.name) :]
    spec = _post_spec(args, clock.today())
    post = await posts.publish(member, spec, clock.now(), community_id=community.id)
    duty = f"职责：{post.duty}。" if post.duty else ""
    return (
        f"已发布{posts.post_line(post)}，{post.places}人，期限：{posts.until_text(post.ends_on)}。"
        f"{duty}\n{community.name}已确认的报到党员回复 岗位 可以看到，回复 认岗 {post.id} 认领。"
    )


def _holders_text(rows: list[PostHolder]) -> str:
    return "、".join(r.volunteer.name for r in rows) or "（暂无）"


@router.message(POSTS, _runs_a_community)
async def list_posts(appid: str, openid: str, member: Member | None) -> str:
    communities = await _mine(member)
    lines: list[str] = []
    for community in communities:
        found = await posts.posts_of(community)
        open_ = [p for p in found if p.status == PostStatus.OPEN]
        if not open_:
            continue
        held = await posts.holder_rows([p.id for p in open_])
        lines.append(f"{community.name}的岗位 {len(open_)} 个：")
        for post in open_[:POSTS_SHOWN]:
            lines.append(
                f"【{post.id}】{post.kind}·{short(post.title, 20)}，{post.taken}/{post.places}人，"
                f"至{posts.until_text(post.ends_on)}；在岗：{_holders_text(held[post.id])}"
            )
    if not lines:
        lines.append("还没有开放的岗位。")
    lines.append("发布：发布岗位 楼栋长 3栋楼栋长 1人；关闭：关闭岗位 编号")
    mine = await standing.volunteer_of(appid, openid, member)
    if mine is not None and mine.status == VolunteerStatus.CONFIRMED:
        # One who runs a community and reported to one too takes a post as any member does.
        lines.append("您本人也是报到党员：认岗请回复 认岗 编号，退出请回复 退岗 编号。")
    return fit("\n".join(lines), MAX_TEXT_BYTES)


@router.message(CLOSE_POST)
async def close_post(
    number: str, member: Member | None, clock: Clock, settings: Settings, wake_outbox: WakeOutbox
) -> str:
    await _mine(member)
    assert member is not None
    post = await posts.post_for_manager(member, int(number))
    held = [v.name for v in await posts.holders(post)]
    tidings = telling(settings, clock, wake_outbox)
    post = await posts.close(member, post.id, clock.now(), tidings=tidings)
    line = f"已关闭{posts.post_line(post)}。"
    told = tidings.names("post_closed")
    if told:
        line += f"将通知在岗党员：{'、'.join(told)}。"
    unreached = [name for name in held if name not in told]
    if unreached:
        line += f"{'、'.join(unreached)}收不到推送，请电话告知。"
    return line


@router.message(NEED_ONE)
async def one_need(number: str, member: Member | None, clock: Clock) -> str:
    await _mine(member)
    assert member is not None
    need = await needs.need_for_manager(member, int(number))
    photo = "（附照片）" if need.media_id else ""
    lines = [
        f"需求 {need.id}（{NEED_STATUS_LABELS[need.status]}）{_at(need.created_at, clock)}",
        f"居民：{need.resident.name} {need.resident.phone}，{need.resident.place}",
        f"内容：{need.text}{photo}",
    ]
    if need.reason:
        lines.append(f"原因：{need.reason}")
    order = await ServiceOrder.get_or_none(need_id=need.id)
    if order is not None:
        state = ORDER_STATUS_LABELS[order.status]
        lines.append(f"服务单 {order.id}（{state}），回复 服务单 {order.id} 看经过")
    elif need.status == NeedStatus.NEW:
        lines.append(f"下单：下单 {need.id} 时间 类别 标题；不受理：不受理 {need.id} 原因")
    return PrivateReply(fit("\n".join(lines), MAX_TEXT_BYTES))


@router.message(OPEN_ORDERS)
async def open_orders(member: Member | None, clock: Clock) -> str:
    communities = await _mine(member)
    rows = await ServiceOrder.filter(
        community_id__in=[c.id for c in communities], status=OrderStatus.OPEN
    ).order_by("starts_at", "id")
    if not rows:
        return "目前没有进行中的服务单。回复 需求 查看待受理的居民点单。"
    lines = [f"进行中的服务单 {len(rows)} 个："]
    for order in rows[:SHOWN]:
        lines.append(
            f"【{order.id}】{order.kind}·{short(order.title, 20)}，{_window(order, clock)}，"
            f"已接{order.taken}/{order.capacity}人"
        )
    lines.append("回复 服务单 编号 看接单人和经过；党员报告完成后回复 确认完成 编号")
    return fit("\n".join(lines), MAX_TEXT_BYTES)


@router.message(NUMBER_MISSING)
async def number_missing(text: str, member: Member | None) -> str:
    await _mine(member)
    return f"请在“{text}”后面写上编号，例如：{text} 8。回复 社区 查看各项的写法。"
