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
from server.dispatch.filters import Command, InState, Keyword, bound
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
    return f"{before}{year}年度报告（共三问）。\n{LIFE_QUESTION}"


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
        conversation.clear()
        return await _report(member, clock, life, answer, "")
    conversation.set(ASK_WHERE, life=life, dues=answer)
    return WHERE_QUESTION


@answering.message(InState(ASK_WHERE), bound)
async def where_answered(
    raw_text: str, member: Member, clock: Clock, conversation: Conversation
) -> str:
    where = check_text(raw_text, "dues_where", 100, "交给本支部")
    data = dict(conversation.data)
    conversation.clear()
    return await _report(member, clock, str(data.get("life", "")), str(data["dues"]), where)


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

START = Keyword("流入报到", "流入 报到", "流入党员报到", "流入党员 报到")
WHO_QUESTION = "请回复您的姓名和手机号，例如：张三 13900000000。" + CANCEL_HINT
HOME_QUESTION = (
    "请回复您的组织关系所在党组织（写全称），例如：安徽省XX县XX镇XX村党支部。" + CANCEL_HINT
)
HOME_PHONE_QUESTION = "请回复该党组织的联系电话（不知道请回复 无）。" + CANCEL_HINT
BRANCH_QUESTION = "请回复您要报到的本街道党支部（写村或社区名即可），例如：红星村。" + CANCEL_HINT
PLACE_QUESTION = "请回复您在本地居住或工作的地方，例如：红星村3组，或 幸福小区3栋。" + CANCEL_HINT
REASON_QUESTION = f"请回复流动原因：{REASONS_TEXT}。" + CANCEL_HINT
MOST_CHOICES = 9


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
    return (
        "流入报到：组织关系在外地、在本街道居住或工作的党员，向所在党支部报到，"
        f"参加支部的组织生活和学习。\n{WHO_QUESTION}"
    )


@answering.message(InState(ASK_WHO))
async def who_answered(text: str, conversation: Conversation) -> str:
    typed = text.strip()
    if not re.search(r"\d", typed) and "name" not in conversation.data:
        conversation.set(ASK_WHO, name=units.check_name(typed, "name", 20))
        return "请回复您的手机号（11位）。" + CANCEL_HINT
    before, phone, _ = split_at_phone(typed)  # a wrong number is refused with the rule
    name = before or str(conversation.data.get("name") or "")
    if not name:
        raise ValidationFailed("请在手机号前写上您的姓名。" + WHO_QUESTION, field="name")
    conversation.set(ASK_HOME, name=units.check_name(name, "name", 20), phone=phone)
    return HOME_QUESTION


@answering.message(InState(ASK_HOME))
async def home_answered(raw_text: str, conversation: Conversation) -> str:
    home = check_text(raw_text, "home_org", 100, "安徽省XX县XX镇XX村党支部")
    conversation.set(ASK_HOME_PHONE, **conversation.data, home=home)
    return HOME_PHONE_QUESTION


@answering.message(InState(ASK_HOME_PHONE))
async def home_phone_answered(raw_text: str, conversation: Conversation) -> str:
    said = check_text(raw_text, "home_contact", 100, "0550-1234567")
    contact = "" if said in ("无", "没有", "不知道") else said
    conversation.set(ASK_BRANCH, **conversation.data, home_contact=contact)
    return BRANCH_QUESTION


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
    return f"报到支部：{branch.name}。\n{PLACE_QUESTION}"


@answering.message(InState(ASK_PLACE))
async def place_answered(raw_text: str, conversation: Conversation) -> str:
    place = check_text(raw_text, "place", 100, "红星村3组")
    conversation.set(ASK_REASON, **conversation.data, place=place)
    return REASON_QUESTION


@answering.message(InState(ASK_REASON))
async def reason_answered(
    text: str,
    appid: str,
    openid: str,
    channel: Channel,
    clock: Clock,
    conversation: Conversation,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    reason = reason_of(text.strip())
    if reason is None:
        return REASON_QUESTION
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
            reason=FlowReason(reason),
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
