"""党员接单 in chat: 报到 (with a unit's 报到码, or a street member where they live), 我的报到,
修改特长, 更换社区; 服务, 接单 N, 放弃 N, 完成 N, 我的服务; the community's standing posts
(先锋岗, 楼栋长): 岗位, 认岗 N, 退岗 N.

Members from units outside the street are no `Member` here: each is the WeChat user who
reported (`standing.volunteer_of`).  Only the member who claimed an order reads the resident's
phone, in the reply to 接单, kept no longer than WeChat's retries need it (`PrivateReply`).
"""

from __future__ import annotations

import re

from handlers.common import tidings as telling
from server.clock import Clock, when_text
from server.dispatch import PrivateReply, Router
from server.dispatch.filters import Command, InState, Keyword, Pattern
from server.dispatch.state import Conversation
from server.errors import PermissionDenied, ValidationFailed
from server.models.community import (
    VOLUNTEER_STATUS_LABELS,
    ClaimStatus,
    Community,
    OrderClaim,
    OrderStatus,
    ReportUnit,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Member, own_phone
from server.services.community import notify, orders, posts, standing, units, volunteers
from server.services.community.contact_card import progress
from server.services.community.wording import (
    community_at_start,
    short,
    split_at_phone,
    take_hours,
)
from server.services.delivery.messenger import WakeOutbox
from server.settings import Settings

router = Router("volunteers")
# The answers to the questions 报到 asks, after every command (a command typed midway is
# still a command), before free text is taken for a question.
answering = Router("volunteers:answering")
ASK_COMMUNITY = "volunteer:community"  # data: unit, name, phone — or member: True
ASK_SKILLS = "volunteer:skills"  # the same, and community
ASK_IDENTITY = "volunteer:identity"  # data: unit (and name, once given) — `报到 CODE` alone
ASK_IDENTITY_TEXT = "请回复您的姓名和手机号，例如：张三 13900000000。（回复 取消 放弃报到）"

REPORT = Command("报到", "党员报到", "双报到")
MINE = Keyword("我的报到", "报到信息")
SKILLS = Command("修改特长", "更新特长", "特长")
MOVE = Command("更换社区", "换社区")
OPEN = Keyword("服务", "接单", "可接服务", "服务列表")
CLAIM = Pattern(r"接单\s*(?P<number>\d{1,9})")
WITHDRAW = Pattern(r"(?:放弃|取消接单)\s*(?P<number>\d{1,9})")
DONE = Pattern(r"完成\s*(?P<number>\d{1,9})\s*(?P<note>.*)")
CLAIMS = Keyword("我的服务", "我的接单")

_CODE = re.compile(r"(?P<code>[A-Za-z0-9]{4,10})(?![A-Za-z0-9])\s*(?P<rest>.*)", re.S)
USAGE = (
    "在职党员报到请发送：报到 报到码 姓名 手机号，例如：报到 K7M4Q9 张三 13900000000"
    "（报到码向所在单位党组织索取）。"
)
USAGE_MEMBER = "本街道党员到居住地社区报到，请发送：报到 社区名 特长，例如：报到 红星村 水电维修。"
ASK_SKILLS_TEXT = (
    "请回复您的特长，多项用顿号分开，例如：水电维修、助老、法律咨询；没有请回复 无。"
    "（回复 取消 放弃报到）"
)
SHOWN = 8


async def _confirmed(appid: str, openid: str, member: Member | None) -> Volunteer:
    """The sender as a confirmed 报到党员; how to become one otherwise."""
    volunteer = await standing.volunteer_of(appid, openid, member)
    if volunteer is None:
        how = USAGE_MEMBER if member is not None else USAGE
        raise PermissionDenied("您还没有报到。" + how, code="NOT_REPORTED")
    if volunteer.status == VolunteerStatus.REFUSED:
        raise PermissionDenied(
            f"您的报到未通过（{volunteer.reason}）。回复 我的报到 查看。", code="NOT_CONFIRMED"
        )
    if volunteer.status != VolunteerStatus.CONFIRMED:
        raise PermissionDenied("您的报到还在等社区确认，确认后就可以接单了。", code="NOT_CONFIRMED")
    return volunteer


async def _communities_text() -> str:
    names = "、".join(c.name for c in await Community.all().order_by("name"))
    return f"请回复您居住的社区：{names}。（回复 取消 放弃报到）"


@router.message(REPORT)
async def report(
    args: str,
    appid: str,
    openid: str,
    member: Member | None,
    clock: Clock,
    conversation: Conversation,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    if not args:
        return USAGE_MEMBER + "\n" + USAGE if member is not None else USAGE
    found = _CODE.fullmatch(args)
    if found is not None:
        unit = await units.unit_by_code(found.group("code"))  # 报到码不对 …
        if not found.group("rest"):
            # One step at a time, as older members write: the name and phone next.
            conversation.set(ASK_IDENTITY, unit=unit.id)
            return f"报到单位：{unit.name}。\n{ASK_IDENTITY_TEXT}"
        name, phone, after = split_at_phone(found.group("rest"))
        if not name:
            raise ValidationFailed("请在手机号前写上您的姓名。" + USAGE, field="name")
        draft: dict[str, object] = {"unit": unit.id, "name": units.check_name(name), "phone": phone}
    elif member is not None:
        draft, after = {"member": True}, args
    else:
        return USAGE
    if await _reported(appid, openid, member, draft.get("phone")):
        # Said before any question is asked; `volunteers.apply` refuses it again at the end.
        return "您已经报到过了，每人只报到一次。回复 我的报到 查看报到信息和修改方法。"
    community, skills = await community_at_start(after)
    if community is None:
        conversation.set(ASK_COMMUNITY, **draft)
        return await _communities_text()
    return await _apply(
        draft,
        community,
        skills,
        appid,
        openid,
        member,
        clock,
        telling(settings, clock, wake_outbox),
    )


async def _reported(appid: str, openid: str, member: Member | None, phone: object) -> bool:
    """Reported already (a refused application may be made again)."""
    mine = await standing.volunteer_of(appid, openid, member)
    if mine is not None and mine.status != VolunteerStatus.REFUSED:
        return True
    return (
        bool(phone)
        and await Volunteer.filter(phone=str(phone))
        .exclude(status=VolunteerStatus.REFUSED)
        .exists()
    )


@answering.message(InState(ASK_IDENTITY))
async def identity_answered(
    text: str, appid: str, openid: str, member: Member | None, conversation: Conversation
) -> str:
    draft = dict(conversation.data)
    typed = text.strip()
    if not re.search(r"\d", typed) and "name" not in draft:
        # A name alone: keep it and ask for the phone.
        conversation.set(ASK_IDENTITY, **draft, name=units.check_name(typed))
        return "请回复您的手机号（11位）。"
    before, phone, after = split_at_phone(typed)  # a wrong number is refused with the rule
    name = before or str(draft.get("name") or "")
    if not name:
        raise ValidationFailed("请在手机号前写上您的姓名。" + ASK_IDENTITY_TEXT, field="name")
    if await _reported(appid, openid, member, phone):
        conversation.clear()
        return "您已经报到过了，每人只报到一次。回复 我的报到 查看报到信息和修改方法。"
    draft = {"unit": draft["unit"], "name": units.check_name(name), "phone": phone}
    community, _ = await community_at_start(after)
    if community is not None:
        conversation.set(ASK_SKILLS, **draft, community=community.id)
        return f"社区：{community.name}。\n{ASK_SKILLS_TEXT}"
    conversation.set(ASK_COMMUNITY, **draft)
    return await _communities_text()


@answering.message(InState(ASK_COMMUNITY))
async def community_answered(text: str, conversation: Conversation) -> str:
    community, _ = await community_at_start(text)  # a name no community has lists the names
    if community is None:
        return await _communities_text()
    conversation.set(ASK_SKILLS, **conversation.data, community=community.id)
    return f"社区：{community.name}。\n{ASK_SKILLS_TEXT}"


@answering.message(InState(ASK_SKILLS))
async def skills_answered(
    raw_text: str,
    appid: str,
    openid: str,
    member: Member | None,
    clock: Clock,
    conversation: Conversation,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    draft = dict(conversation.data)
    conversation.clear()
    community = await Community.get(id=int(str(draft["community"])))
    return await _apply(
        draft,
        community,
        raw_text,
        appid,
        openid,
        member,
        clock,
        telling(settings, clock, wake_outbox),
    )


async def _apply(
    draft: dict[str, object],
    community: Community,
    skills: str,
    appid: str,
    openid: str,
    member: Member | None,
    clock: Clock,
    tidings: notify.Tidings,
) -> str:
    if draft.get("member"):
        if member is None:  # unbound since the question was asked
            return USAGE
        application = volunteers.Application(
            member.name, member.phone or "", None, member, community, skills
        )
    else:
        unit = await ReportUnit.get(id=int(str(draft["unit"])))
        application = volunteers.Application(
            str(draft["name"]), str(draft["phone"]), unit, None, community, skills
        )
    volunteer = await volunteers.apply(
        application, clock.now(), appid=appid, openid=openid, tidings=tidings
    )
    source = application.unit.name if application.unit else "本街道党员"
    heard = "将通知社区，" if tidings.names("volunteer_registered") else ""
    have = f"特长：{volunteer.skills}。" if volunteer.skills else "特长可以之后补：修改特长 内容。"
    return (
        f"已提交报到：{volunteer.name}（{source}）报到到{community.name}，{have}\n"
        f"待社区确认，{heard}确认后会通知您，之后回复 服务 查看可以认领的服务。"
    )


@router.message(MINE)
async def my_report(appid: str, openid: str, member: Member | None) -> str:
    volunteer = await standing.volunteer_of(appid, openid, member)
    if volunteer is None:
        return "您还没有报到。" + (USAGE_MEMBER if member is not None else USAGE)
    community = await Community.get(id=volunteer.community_id)
    unit = await ReportUnit.get(id=volunteer.unit_id) if volunteer.unit_id else None
    source = unit.name if unit else "本街道党员"
    lines = [
        f"{volunteer.name}（{source}），手机 {own_phone(volunteer.phone)}",
        f"报到社区：{community.name}，{VOLUNTEER_STATUS_LABELS[volunteer.status]}",
    ]
    if volunteer.grid:
        lines.append(f"网格：{volunteer.grid}")
    lines.append(f"特长：{volunteer.skills or '（未填）'}")
    if volunteer.status == VolunteerStatus.REFUSED:
        lines.append(f"未通过的原因：{volunteer.reason}。信息有误可以重新发送 报到。")
    lines.append("修改特长：修改特长 水电维修、助老\n搬家后：更换社区 社区名（需社区重新确认）")
    return "\n".join(lines)


@router.message(SKILLS)
async def change_skills(args: str, appid: str, openid: str, member: Member | None) -> str:
    volunteer = await standing.volunteer_of(appid, openid, member)
    if volunteer is None:
        return "您还没有报到。" + (USAGE_MEMBER if member is not None else USAGE)
    if not args:
        return "请发送：修改特长 内容，例如：修改特长 水电维修、助老；清空请发送：修改特长 无。"
    volunteer = await volunteers.update_skills(volunteer, args)
    return f"已更新特长：{volunteer.skills or '（无）'}。"


@router.message(MOVE)
async def change_community(
    args: str,
    appid: str,
    openid: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    volunteer = await standing.volunteer_of(appid, openid, member)
    if volunteer is None:
        return "您还没有报到。" + (USAGE_MEMBER if member is not None else USAGE)
    community, _ = await community_at_start(args)
    if community is None:
        return await _communities_text()
    if community.id == volunteer.community_id:
        return f"您已经在{community.name}报到了，不用更换。"
    tidings = telling(settings, clock, wake_outbox)
    volunteer = await volunteers.move(volunteer, community, clock.now(), tidings=tidings)
    heard = "将通知社区，" if tidings.names("volunteer_registered") else ""
    return f"已申请更换到{community.name}，{heard}待社区确认；确认前不能认领新的服务。"


@router.message(OPEN)
async def open_orders(appid: str, openid: str, member: Member | None, clock: Clock) -> str:
    volunteer = await _confirmed(appid, openid, member)
    found = await orders.open_orders(volunteer, clock.now())
    if not found:
        return "目前没有可以认领的服务，有新服务时会通知您。回复 我的服务 查看已认领的。"
    lines = ["可以认领的服务："]
    for order in found[:SHOWN]:
        place = f"，{order.place}" if order.place else ""
        left = order.capacity - order.taken
        lines.append(
            f"【{order.id}】{order.kind}·{short(order.title, 20)}，"
            f"{_window(order, clock)}{place}，还差{left}人"
        )
    if len(found) > SHOWN:
        lines.append(f"……还有 {len(found) - SHOWN} 项。")
    lines.append(f"认领请回复：接单 编号，例如 接单 {found[0].id}")
    return "\n".join(lines)


def _window(order: ServiceOrder, clock: Clock) -> str:
    return f"{when_text(order.starts_at, clock.zone)}–{order.ends_at.astimezone(clock.zone):%H:%M}"


@router.message(CLAIM)
async def claim(
    number: str,
    appid: str,
    openid: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    volunteer = await _confirmed(appid, openid, member)
    tidings = telling(settings, clock, wake_outbox)
    row = await orders.claim(volunteer, int(number), clock.now(), tidings=tidings)
    order = await ServiceOrder.get(id=row.order_id)
    lines = [
        f"已认领服务单 {order.id}：{order.kind}·{short(order.title, 30)}",
        f"时间：{_window(order, clock)}",
    ]
    if order.place:
        lines.append(f"地点：{order.place}")
    resident = await orders.resident_of(order)
    if resident is not None:
        # Only the member who claimed reads this; a PrivateReply is not kept beyond retries.
        lines.append(
            f"居民：{resident.name} {resident.phone}，{resident.place}（仅供上门联系，请勿外传）"
        )
    lines.append(
        f"请按时前往。完成后回复：完成 {order.id} 做了什么 1小时；"
        f"去不了请在开始前回复：放弃 {order.id}"
    )
    return PrivateReply("\n".join(lines))


@router.message(WITHDRAW)
async def withdraw(
    number: str,
    appid: str,
    openid: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    volunteer = await _confirmed(appid, openid, member)
    order = await orders.withdraw(
        volunteer, int(number), clock.now(), tidings=telling(settings, clock, wake_outbox)
    )
    return f"已放弃服务单 {order.id}，名额已让给其他党员。"


@router.message(DONE)
async def done(
    number: str,
    note: str,
    raw_text: str,
    appid: str,
    openid: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    volunteer = await _confirmed(appid, openid, member)
    typed = DONE.pattern.fullmatch((raw_text or "").strip())
    hours, said = take_hours(typed.group("note") if typed else note)
    tidings = telling(settings, clock, wake_outbox)
    row = await orders.report_done(
        volunteer, int(number), said, clock.now(), hours, tidings=tidings
    )
    order = await ServiceOrder.get(id=row.order_id)
    heard = "将通知社区核实" if tidings.names("work_reported") else "待社区核实"
    return f"已报告完成：服务单 {order.id}，{row.hours}小时，{heard}。谢谢您！"


@router.message(CLAIMS)
async def my_claims(
    appid: str, openid: str, member: Member | None, clock: Clock, settings: Settings
) -> str:
    volunteer = await standing.volunteer_of(appid, openid, member)
    if volunteer is None:
        return "您还没有报到。" + (USAGE_MEMBER if member is not None else USAGE)
    # The member's own year against the expectation: theirs to see, never compared.
    mine = await progress(volunteer, clock.local_now().year, clock.now(), settings)
    rows = await orders.claims_of(volunteer, limit=SHOWN)
    if not rows:
        if volunteer.status == VolunteerStatus.PENDING:
            return "您的报到还在等社区确认，确认后回复 服务 就能看到可以认领的服务。"
        return f"您还没有认领服务。回复 服务 查看可以认领的服务。\n{mine.sentence()}"
    lines = [mine.sentence(), "您认领的服务（最近的在前）："]
    for row in rows:
        order = row.order
        lines.append(
            f"【{order.id}】{order.kind}·{short(order.title, 20)}，"
            f"{when_text(order.starts_at, clock.zone)}：{_claim_state(row, order)}"
        )
    return "\n".join(lines)


def _claim_state(row: OrderClaim, order: ServiceOrder) -> str:
    if order.status == OrderStatus.CANCELLED:
        return "社区已撤销"
    if order.status == OrderStatus.COMPLETED:
        return f"已完成（{row.hours}小时）" if row.status == ClaimStatus.DONE else "已办结"
    if row.status == ClaimStatus.DONE:
        return "已报告完成，待社区确认"
    return f"已认领，完成后回复 完成 {order.id} 做了什么"


# --- standing posts (先锋岗, 楼栋长) ----------------------------------------------------------
# `岗位` from one who runs a community is answered in handlers/community.py, which comes first.

POSTS = Keyword("岗位", "岗位列表", "认岗", "我的岗位")
TAKE_POST = Pattern(r"认岗\s*(?P<number>\d{1,9})")
LEAVE_POST = Pattern(r"退岗\s*(?P<number>\d{1,9})")


@router.message(POSTS)
async def open_posts(appid: str, openid: str, member: Member | None, clock: Clock) -> str:
    volunteer = await _confirmed(appid, openid, member)
    found = await posts.open_posts(volunteer, clock.today())
    held = set(await posts.held_ids(volunteer))
    elsewhere = [p for p in await posts.held_by(volunteer) if p.id not in {f.id for f in found}]
    if not found and not elsewhere:
        return "社区目前没有开放的岗位（先锋岗、楼栋长等），有需要时社区会发布。"
    lines = ["社区的岗位（先锋岗、楼栋长等，长期担任）："] if found else []
    for post in found[:SHOWN]:
        state = "您在岗" if post.id in held else f"还差{post.places - post.taken}人"
        duty = f"，职责：{short(post.duty, 30)}" if post.duty else ""
        lines.append(
            f"【{post.id}】{post.kind}·{short(post.title, 20)}，"
            f"至{posts.until_text(post.ends_on)}{duty}；{state}"
        )
    for post in elsewhere:  # held in a community since left, or closed meanwhile
        lines.append(f"【{post.id}】{post.kind}·{short(post.title, 20)}：您在岗")
    if any(p.id not in held for p in found):
        example = next(p.id for p in found if p.id not in held)
        lines.append(f"认岗请回复：认岗 编号，例如 认岗 {example}")
    if held:
        lines.append("不再担任请回复：退岗 编号")
    return "\n".join(lines)


@router.message(TAKE_POST)
async def take_post(
    number: str,
    appid: str,
    openid: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    volunteer = await _confirmed(appid, openid, member)
    tidings = telling(settings, clock, wake_outbox)
    post = await posts.take(volunteer, int(number), clock.now(), clock.today(), tidings=tidings)
    duty = f"\n职责：{post.duty}" if post.duty else ""
    return (
        f"已认岗：{posts.post_line(post)}，期限：{posts.until_text(post.ends_on)}。{duty}\n"
        f"社区会与您联系。不再担任时回复：退岗 {post.id}"
    )


@router.message(LEAVE_POST)
async def leave_post(
    number: str,
    appid: str,
    openid: str,
    member: Member | None,
    clock: Clock,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    volunteer = await standing.volunteer_of(appid, openid, member)
    tidings = telling(settings, clock, wake_outbox)
    post = await posts.leave(volunteer, int(number), clock.now(), tidings=tidings)
    heard = "将告知社区。" if tidings.names("post_left") else ""
    return f"已退出{posts.post_line(post)}，名额已空出。{heard}谢谢您的付出！"
