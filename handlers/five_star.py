"""支部评星: a branch's secretary (or deputy) sees where the branch stands in the year's 五星支部
assessment — each area's points so far, what is still open, the next step of the cycle.

A to-do, never a ranking: only the branch's own figures, nothing of other branches.  Anyone
else is told politely who may ask; scoring and applying are done on the dashboard.
"""

from __future__ import annotations

from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.filters import Keyword, bound
from server.models.people import Member, Organisation
from server.services.five_star.cycle import BRANCH_ROLES, STAR_WORDS
from server.services.five_star.evidence import Basis
from server.services.five_star.standing import branch_standing
from server.services.people.access import NotAllowed
from server.settings import Settings
from server.wechat.replies import fit

router = Router("five_star")


def leads_a_branch(ctx: ChatContext) -> bool:
    return ctx.member is not None and ctx.member.role in BRANCH_ROLES


router.help("支部评星", "本支部五星支部评星的得分、待办和下一步", visible=leads_a_branch, order=68)


@router.message(Keyword("支部评星", "五星支部", "评星"), bound)
async def branch_stars(member: Member, clock: Clock, settings: Settings) -> str:
    if member.role not in BRANCH_ROLES:
        raise NotAllowed("支部评星由支部书记、副书记查看；评星结果经党工委会议决定后公示。")
    branch = await Organisation.get(id=member.organisation_id)
    today = clock.today()
    basis = Basis(
        today, clock.now(), clock.zone, settings.lecture_every, settings.mobile_contact_days
    )
    s = await branch_standing(branch, today.year, basis)
    lines = [
        f"{branch.name}{s.year}年度五星支部评星（截至{today.month}月{today.day}日）：",
        f"目前得分 {s.total}/{s.scheme.points}（按方案：{STAR_WORDS[s.reached]}）",
    ]
    lines += [f"· {a.area.name} {a.points}/{a.out_of}" for a in s.areas]
    if s.open or s.unscored:
        lines.append(f"还未完成（{len(s.open) + len(s.unscored)}项）：")
        lines += [f"· {line}" for line in s.open]
        if s.unscored:
            names = "、".join(i.name for i in s.unscored)
            lines.append(f"· 待自评 {len(s.unscored)} 项：{names}")
    else:
        lines.append("各项均已完成。")
    lines.append(s.next_step)
    lines.append("得分只是对照，星级由党工委会议决定；不排名，不通报。")
    return fit("\n".join(lines))
