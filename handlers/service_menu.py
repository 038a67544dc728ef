"""帮助 for the 双报到 loop: a resident and a reported member each see their own commands, as real
examples; a community's leader, whose menu is full already, one line pointing to 社区.

Who someone is in the loop takes the database to tell (a resident or a member from a unit
outside the street has no binding), and a help entry's predicate is plain: so this router's
帮助 comes before the general one, reads the sender's standing once, keeps it on the context
for the predicates below, and answers for everyone in the loop.  Anyone else gets the general
帮助, where the same predicates see nobody in the loop — a stranger is shown how to register
or report, a bound member how to report where they live.  The loop's entries are all here, so
the predicates and what they read stay in one place.
"""

from __future__ import annotations

from server.dispatch import ChatContext, Router
from server.dispatch.filters import Keyword, unbound
from server.dispatch.router import HelpEntry
from server.services.community.standing import NOBODY, Standing, standing_of
from server.services.people.access import is_leader

router = Router("service_menu")
# Free text from a resident or a member from a unit, after every command: not a 问 (that is a
# bound member's), and not "please bind" either — they have nothing to bind.
late = Router("service_menu:late")
HELP = Keyword("帮助", "菜单", "功能", "help", "menu", "?", "？")  # as the general 帮助
_STANDING = "community_standing"  # on ctx.deps, for this message only
NUMBER_HINT = "（示例里的 12 换成会议编号，发送 会议 可以查到）"


def _of(ctx: ChatContext) -> Standing:
    found = ctx.deps.get(_STANDING)
    return found if isinstance(found, Standing) else NOBODY


def may_register(ctx: ChatContext) -> bool:
    """A stranger, or a resident correcting their details; never a member of the street."""
    standing = _of(ctx)
    return ctx.member is None and standing.volunteer is None


def resident(ctx: ChatContext) -> bool:
    return _of(ctx).resident is not None


def may_report_with_code(ctx: ChatContext) -> bool:
    standing = _of(ctx)
    return ctx.member is None and standing.volunteer is None and standing.resident is None


def may_report_as_member(ctx: ChatContext) -> bool:
    """A street member not yet reported; not a leader, whose menu has no room left (their
    `报到` works all the same)."""
    return ctx.member is not None and not is_leader(ctx.member) and _of(ctx).volunteer is None


def volunteer(ctx: ChatContext) -> bool:
    return _of(ctx).volunteer is not None


def runs_a_community(ctx: ChatContext) -> bool:
    return bool(_of(ctx).communities)


router.help(
    "居民登记 张三 13800000000 红星村 幸福小区3栋",
    "居民登记（信息有变也用它更正）",
    visible=may_register,
    order=2,
)
router.help("点单 楼道灯坏了，3栋2单元5楼", "向社区反映需要帮助的事", visible=resident, order=3)
router.help("我的点单", "查看点单的进展，评价服务", visible=resident, order=4)
router.help("评价 8 5 很满意", "为服务单8打分（1到5分）", visible=resident, order=5)
router.help(
    "报到 K7M4Q9 张三 13900000000",
    "在职党员到居住地社区报到（报到码向单位党组织索取）",
    visible=may_report_with_code,
    order=6,
)
router.help(
    "流入报到",
    "外地党组织的党员在本街道居住或工作，向所在支部报到",
    visible=may_report_with_code,
    order=7,
)
router.help(
    "报到 红星村 水电维修", "到居住地社区报到，参加志愿服务", visible=may_report_as_member, order=53
)
router.help("服务", "可以认领的服务；接单 8 认领", visible=volunteer, order=54)
router.help("完成 8 已换好楼道灯 1小时", "服务完成后报告", visible=volunteer, order=55)
router.help("放弃 8", "服务开始前放弃认领", visible=volunteer, order=56)
router.help("我的服务 / 我的报到", "认领的服务；报到信息和修改方法", visible=volunteer, order=57)
router.help("岗位", "社区的先锋岗、楼栋长；认岗 3 认领，退岗 3 退出", visible=volunteer, order=58)
# A leader's menu is full already: one line here, the community's own commands under 社区.
router.help("社区", "居民点单、党员报到、服务单的处理方法", visible=runs_a_community, order=44)


async def in_the_loop(ctx: ChatContext) -> bool:
    """Reads the sender's standing for the predicates above; True when there is one."""
    found = await standing_of(ctx.appid, ctx.message.from_user, ctx.member)
    ctx.deps[_STANDING] = found
    return found.in_the_loop


@router.message(HELP, in_the_loop)
async def show_help(ctx: ChatContext, help_entries: list[HelpEntry]) -> str:
    lines = [f"{ctx.member.name}同志，您可以发送：" if ctx.member else "您可以发送："]
    shown = [entry for entry in help_entries if entry.visible(ctx)]
    lines += [f"· {entry.usage} —— {entry.summary}" for entry in shown]
    if any(" 12" in entry.usage for entry in shown):
        lines.append(NUMBER_HINT)
    # A resident or a member from a unit is not asked to bind: there is nothing for them to bind.
    return "\n".join(lines)


@late.message(unbound, in_the_loop)
async def not_understood(ctx: ChatContext, text: str) -> str:
    if _of(ctx).resident is not None:
        said = text if len(text) <= 20 else text[:20] + "…"
        return (
            "没看懂这条消息。要向社区反映需要帮助的事，请在前面加上 点单，"
            f"例如：点单 {said}\n回复 帮助 查看可以做的事。"
        )
    return "没看懂这条消息。回复 帮助 查看可以做的事。"
