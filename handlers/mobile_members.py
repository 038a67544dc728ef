"""流动党员 in chat, the members' side, one question at a time (回复 取消 leaves):

- 年度报告: a 流出 member tells the branch where they took part in 组织生活 this year and how
  their 党费 stand (and where they paid) — the 流动党员活动证's yearly review.
- 流入 报到: a member of another organisation who lives or works in the street, not bound to
  anyone here, reports to a branch: name and phone, the organisation that holds their
  relationship and its phone, which branch, where they live or work, why.  The branch confirms.

The answers are taken by `answering`, after every command (a command typed midway is still a
command) and before free text is taken for a question.
"""

from __future__ import annotations

import re

from handlers.common import tidings
from server.channels import Channel
from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.filters import Command, InState, Keyword, bound, unbound
from server.dispatch.state import Conversation
from server.errors import ValidationFailed
from server.models.mobility import Direction, FlowReason, YearlyReport
from server.models.people import Member, Organisation
from server.services.community import units
from server.services.community.wording import split_at_phone
from server.services.delivery.messenger import WakeOutbox
from server.services.mobility import contacts, incoming, notify, outgoing
from server.services.mobility.words import REASONS_TEXT, check_text, reason_of
from server.settings import Settings

router = Router("mobile_members")
answering = Router("mobile_members:answering")


def mobile_out(ctx: ChatContext) -> bool:
    return ctx.member is not None and ctx.member.is_mobile and not ctx.member.incoming


router.help(
    "年度报告", "流出党员每年向支部报告参加组织生活和交纳党费的情况", visible=mobile_out, order=72
)

CANCEL_HINT = "（回复 取消 放弃）"

# --- 年度报告 ------------------------------------------------------------------------------------

ASK_LIFE = "mobile:yearly:life"
ASK_DUES = "mobile:yearly:dues"  # data: life
ASK_WHERE = "mobile:yearly:where"  # data: life, dues
YEARLY_CHECK = "mobile:yearly:check"  # data: life, dues, where — 提交 sends it
LIFE_QUESTION = (
    "请回复今年您在哪里参加组织生活，例如：在苏州XX公司党支部参加主题党日和党课；"
    "线上参加本支部会议的也请写上。" + CANCEL_HINT
)
DUES_QUESTION = "今年的党费交得怎样？请回复：已交清、部分交纳 或 未交。" + CANCEL_HINT
WHERE_QUESTION = "党费交到了哪里？例如：交给本支部，或 在苏州XX公司党支部交纳。" + CANCEL_HINT
NOT_OUT = (
    "年度报告是流出党员（在外地居住或工作、组织关系仍在本支部的党员）每年向支部报告的，"
    "您没有登记为流出党员，不用报告。如果您已在外地，请告诉支部书记。"
)


@router.message(Command("年度报告", "流动党员年度报告"), bound)
async def yearly(member: Member, clock: Clock, conversation: Conversation) -> str:
    record = await outgoing.open_record(member.id)
    if record is None or record.direction != Direction.OUT or member.incoming:
        return NOT_OUT
    year = clock.today().year
    done = await YearlyReport.get_or_none(member_id=member.id, year=year)
    before = f"您{year}年已经报告过（{done.dues}），再报一次会替换原来的。\n" if done else ""
    conversation.set(ASK_LIFE)
    return f"{before}{year}年度报告（共三问，答完核对后提交）。\n{LIFE_QUESTION}"


@answering.message(InState(ASK_LIFE), bound)
async def life_answered(raw_text: str, conversation: Conversation) -> str:
    life = check_text(raw_text, "org_life", 300, "在苏州XX公司党支部参加主题党日")
    conversation.set(ASK_DUES, life=life)
    return DUES_QUESTION


@answering.message(InState(ASK_DUES), bound)
async def dues_answered(text: str, member: Member, clock: Clock, conversation: Conversation) -> str:
    answer = contacts.DUES_ANSWERS.get(text.strip())
    if answer is None:
        return DUES_QUESTION  # asked again; the answer so far is kept
    life = str(conversation.data.get("life", ""))
    if answer == "未交":
        conversation.set(YEARLY_CHECK, life=life, dues=answer, where="")
        return _yearly_summary(conversation.data)
    conversation.set(ASK_WHERE, life=life, dues=answer)
    return WHERE_QUESTION


@answering.message(InState(ASK_WHERE), bound)
async def where_answered(raw_text: str, conversation: Conversation) -> str:
    where = check_text(raw_text, "dues_where", 100, "交给本支部")
    conversation.set(YEARLY_CHECK, **conversation.data, where=where)
    return _yearly_summary(conversation.data)


def _yearly_summary(data: dict[str, object]) -> str:
    # 提交, not 确认: a bound member's 确认 is the meeting draft's, read before this flow.
    where = f"，交纳地：{data['where']}" if data.get("where") else ""
    return (
        f"请核对您的年度报告：\n组织生活：{data['life']}\n党费：{data['dues']}{where}\n"
        "核对无误请回复 提交；要改请回复 重填。" + CANCEL_HINT
    )


@router.message(Keyword("提交", "确认提交"), InState(YEARLY_CHECK), bound)
async def yearly_sent(member: Member, clock: Clock, conversation: Conversation) -> str:
    data = dict(conversation.data)
    conversation.clear()
    return await _report(
        member, clock, str(data["life"]), str(data["dues"]), str(data.get("where", ""))
    )


@router.message(Keyword("重填", "重新填写"), InState(YEARLY_CHECK), bound)
async def yearly_again(conversation: Conversation) -> str:
    conversation.set(ASK_LIFE)
    return "好的，从头填写。\n" + LIFE_QUESTION


@answering.message(InState(YEARLY_CHECK), bound)
async def yearly_not_sent(conversation: Conversation) -> str:
    return _yearly_summary(conversation.data)


async def _report(member: Member, clock: Clock, life: str, dues: str, where: str) -> str:
    year = clock.today().year
    report = await contacts.yearly_report(member, year, life, dues, where, clock.now())
    paid = f"，交纳地：{report.dues_where}" if report.dues_where else ""
    unpaid = "请尽快与联系人或支部书记联系补交党费。\n" if report.dues != "已交清" else ""
    return (
        f"已收到您{year}年的年度报告：\n组织生活：{report.org_life}\n党费：{report.dues}{paid}\n"
        f"{unpaid}支部会据此填写流动党员活动证的年度情况。谢谢您！回复 我的 可以查看。"
    )


# --- 流入 报到 -----------------------------------------------------------------------------------

ASK_WHO = "mobile:in:who"  # data: name (once given alone)
ASK_HOME = "mobile:in:home"  # data: name, phone
ASK_HOME_PHONE = "mobile:in:home_phone"  # … home
ASK_BRANCH = "mobile:in:branch"  # … home_contact
PICK_BRANCH = "mobile:in:pick"  # … and choices: branch ids
ASK_PLACE = "mobile:in:place"  # … branch
ASK_REASON = "mobile:in:reason"  # … place
CONFIRMING = "mobile:in:confirm"  # … reason: the summary shown, 确认 sends it

START = Keyword("流入报到", "流入 报到", "流入党员报到", "流入党员 报到")
# What each step waits for, said again whenever the reporter types something else.
ASKS = {
    ASK_WHO: "请回复您的姓名和手机号，例如：张三 13900000000",
    ASK_HOME: "请回复您的组织关系所在党组织（写全称），例如：安徽省XX县XX镇XX村党支部",
    ASK_HOME_PHONE: ("请回复该党组织的联系电话，例如：0550-1234567 或手机号（不知道请回复 无）"),
    ASK_BRANCH: "请回复您要报到的本街道党支部（写村或社区名即可），例如：红星村",
    PICK_BRANCH: "请回复党支部的序号",
    ASK_PLACE: "请回复您在本地居住或工作的地方，例如：红星村3组，或 幸福小区3栋",
    ASK_REASON: f"请回复流动原因：{REASONS_TEXT}",
    CONFIRMING: "核对无误请回复 确认；要改请回复 重填",
}
PHONE_ONLY = "请回复您的手机号（11位）"
INTRO = (
    "流入报到：组织关系在外地、在本街道居住或工作的党员，向所在党支部报到，"
    "参加支部的组织生活和学习。"
)
MOST_CHOICES = 9
UNKNOWN = ("无", "没有", "不知道", "不清楚")
# A landline with or without its area code and extension, or a mobile number.
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|[2-9]\d{6,7}|1\d{10}|400-?\d{3}-?\d{4}")


def _ask(state: str, data: dict[str, object]) -> str:
    return PHONE_ONLY if state == ASK_WHO and data.get("name") else ASKS[state]


def question(state: str, data: dict[str, object]) -> str:
    return _ask(state, data) + "。" + CANCEL_HINT


def still_waiting(state: str, data: dict[str, object]) -> str:
    return f"（流入报到还在进行，{_ask(state, data)}；回复 取消 放弃）"


def reporting_in(ctx: ChatContext) -> bool:
    return ctx.member is None and ctx.conversation.name in ASKS


def command_word(ctx: ChatContext) -> dict[str, str] | bool:
    """The message is one of the menu's commands (帮助, 社区, 打卡 …): not an answer."""
    text = ctx.text or ""
    entries = ctx.deps.get("help_entries") or []
    words = {str(e.usage).split()[0] for e in entries} | {"菜单", "功能", "help", "menu"}
    words -= {"流入报到", "取消"}
    for word in words:
        if text == word or text.startswith(word + " "):
            return {"command": word}
    return False


@router.message(START)
async def report_in(
    member: Member | None, appid: str, openid: str, conversation: Conversation
) -> str:
    if member is not None:
        branch = await Organisation.get(id=member.organisation_id)
        return (
            f"您已绑定党员身份（{branch.name}），不用流入报到。"
            "如果您在外地居住或工作，请告诉支部书记登记为流出党员。"
        )
    waiting = await incoming.pending_of(appid, openid)
    if waiting is not None:
        branch = await Organisation.get(id=waiting.branch_id)
        return f"您已提交流入报到（{waiting.name}，{branch.name}），正在等待支部确认。"
    conversation.set(ASK_WHO)
    return f"{INTRO}\n{question(ASK_WHO, {})}"


@router.message(reporting_in, command_word)
async def command_midway(command: str, conversation: Conversation) -> str:
    """帮助, 社区, 打卡 … typed in the middle: not taken as the answer; the flow waits on."""
    waiting = still_waiting(str(conversation.name), conversation.data)
    if command in ("帮助", "菜单", "功能", "help", "menu"):
        return f"{INTRO}\n{waiting}"
    return f"「{command}」没有当作回答。{waiting}"


async def waiting_reporter(ctx: ChatContext) -> bool:
    return ctx.member is None and (
        await incoming.pending_of(ctx.appid, ctx.message.from_user) is not None
    )


@router.message(Keyword("我的", "帮助", "菜单", "功能", "我的身份"), waiting_reporter)
async def waiting_for_branch(appid: str, openid: str) -> str:
    """A reporter not yet confirmed: nothing is theirs to use yet, and they are told why."""
    waiting = await incoming.pending_of(appid, openid)
    assert waiting is not None
    branch = await Organisation.get(id=waiting.branch_id)
    return (
        f"您的流入报到（{waiting.name}，{branch.name}）已提交，正在等待支部确认；"
        "支部核实后会通知您。确认后可以使用打卡、学习、会议签到等功能。"
    )


@answering.message(InState(ASK_WHO))
async def who_answered(text: str, conversation: Conversation) -> str:
    typed = text.strip()
    if not re.search(r"\d", typed) and "name" not in conversation.data:
        conversation.set(ASK_WHO, name=units.check_name(typed, "name", 20))
        return question(ASK_WHO, conversation.data)
    before, phone, _ = split_at_phone(typed)  # a wrong number is refused with the rule
    name = before or str(conversation.data.get("name") or "")
    if not name:
        raise ValidationFailed("请在手机号前写上您的姓名。" + question(ASK_WHO, {}), field="name")
    conversation.set(ASK_HOME, name=units.check_name(name, "name", 20), phone=phone)
    return question(ASK_HOME, {})


@answering.message(InState(ASK_HOME))
async def home_answered(raw_text: str, conversation: Conversation) -> str:
    home = check_text(raw_text, "home_org", 100, "安徽省XX县XX镇XX村党支部")
    conversation.set(ASK_HOME_PHONE, **conversation.data, home=home)
    return question(ASK_HOME_PHONE, {})


def home_phone(said: str) -> str:
    """0550-1234567, (0550)1234567, 13900000000 — or 无: the branch calls it to check."""
    if said in UNKNOWN:
        return ""
    typed = re.sub(r"[\s（）()—–]", lambda m: "-" if m.group() in "）)—–" else "", said)
    typed = typed.strip("-")
    if _LANDLINE.fullmatch(typed) is None:
        raise ValidationFailed(
            "电话号码请写数字，例如：0550-1234567 或 13900000000；不知道请回复 无。" + CANCEL_HINT,
            field="home_contact",
        )
    return typed


@answering.message(InState(ASK_HOME_PHONE))
async def home_phone_answered(text: str, conversation: Conversation) -> str:
    contact = home_phone(text.strip())
    conversation.set(ASK_BRANCH, **conversation.data, home_contact=contact)
    return question(ASK_BRANCH, {})


@answering.message(InState(ASK_BRANCH))
async def branch_answered(text: str, conversation: Conversation) -> str:
    given = text.strip()[:50]
    found = await incoming.branches_named(given)
    if not found:
        return f"没有找到名称里有「{given}」的党支部，请换个写法（例如村或社区名）。" + CANCEL_HINT
    if len(found) == 1:
        return _ask_place(conversation, found[0])
    if len(found) > MOST_CHOICES:
        return f"名称里有「{given}」的党支部有 {len(found)} 个，请写得更具体些。" + CANCEL_HINT
    conversation.set(PICK_BRANCH, **conversation.data, choices=[b.id for b in found])
    listed = "\n".join(f"{i}. {b.name}" for i, b in enumerate(found, 1))
    return f"找到 {len(found)} 个党支部，请回复序号：\n{listed}" + CANCEL_HINT


@answering.message(InState(PICK_BRANCH))
async def branch_picked(text: str, conversation: Conversation) -> str:
    choices = [int(c) for c in conversation.data.get("choices", [])]
    number = text.strip()
    if not number.isdigit() or not 1 <= int(number) <= len(choices):
        return f"请回复 1 到 {len(choices)} 之间的序号。" + CANCEL_HINT
    return _ask_place(conversation, await Organisation.get(id=choices[int(number) - 1]))


def _ask_place(conversation: Conversation, branch: Organisation) -> str:
    data = {k: v for k, v in conversation.data.items() if k != "choices"}
    conversation.set(ASK_PLACE, **data, branch=branch.id)
    return f"报到支部：{branch.name}。\n{question(ASK_PLACE, {})}"


@answering.message(InState(ASK_PLACE))
async def place_answered(raw_text: str, conversation: Conversation) -> str:
    place = check_text(raw_text, "place", 100, "红星村3组")
    conversation.set(ASK_REASON, **conversation.data, place=place)
    return question(ASK_REASON, {})


@answering.message(InState(ASK_REASON))
async def reason_answered(text: str, conversation: Conversation) -> str:
    reason = reason_of(text.strip())
    if reason is None:
        return question(ASK_REASON, {})
    conversation.set(CONFIRMING, **conversation.data, reason=reason.value)
    return await _summary(conversation.data)


async def _summary(data: dict[str, object]) -> str:
    branch = await Organisation.get(id=int(str(data["branch"])))
    home = str(data["home"])
    if data.get("home_contact"):
        home += f"（电话 {data['home_contact']}）"
    return (
        "请核对您的流入报到：\n"
        f"姓名：{data['name']}，手机号：{data['phone']}\n"
        f"组织关系所在党组织：{home}\n"
        f"报到支部：{branch.name}\n"
        f"居住或工作地：{data['place']}\n"
        f"流动原因：{data['reason']}\n" + question(CONFIRMING, {})
    )


@router.message(Keyword("重填", "重新填写"), InState(CONFIRMING), unbound)
async def fill_again(conversation: Conversation) -> str:
    conversation.set(ASK_WHO)
    return "好的，从头填写。\n" + question(ASK_WHO, {})


@router.message(Keyword("确认", "确定", "提交", "确认提交"), InState(CONFIRMING), unbound)
async def confirmed(
    appid: str,
    openid: str,
    channel: Channel,
    clock: Clock,
    conversation: Conversation,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    data = dict(conversation.data)
    conversation.clear()
    branch = await Organisation.get(id=int(data["branch"]))
    record = await incoming.report_in(
        appid,
        openid,
        channel,
        branch,
        incoming.Incoming(
            name=str(data["name"]),
            phone=str(data["phone"]),
            home_org=str(data["home"]),
            home_contact=str(data.get("home_contact", "")),
            place=str(data["place"]),
            reason=FlowReason(str(data["reason"])),
        ),
        clock.today(),
        clock.now(),
    )
    told = tidings(settings, clock, wake_outbox)
    await notify.incoming_reported(told, record, clock.now())
    told.wake()
    return (
        f"已提交流入报到：{record.name}（组织关系在{record.other_org}）报到到{branch.name}，"
        f"居住或工作在{record.place}。\n"
        "支部核实后会通知您；确认后" + notify.INCOMING_RIGHTS + "\n等待支部确认。"
    )


@answering.message(InState(CONFIRMING))
async def not_confirmed(conversation: Conversation) -> str:
    return await _summary(conversation.data)
