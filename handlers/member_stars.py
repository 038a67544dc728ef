"""星级党员 in chat: `我的星级` — a member's own star and their own year's records; `星级台账`
— for a branch's leaders, the branch's members by 党小组 with each one's status (已评定 ★★★★ /
免评 / 待评定), in the order of the list, never by stars.  Deciding is done on the dashboard's
台账 page, where the evidence and the reasons sit beside the form."""

from __future__ import annotations

from datetime import date

from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.filters import Command, bound
from server.errors import ValidationFailed
from server.models.member_stars import StarStatus
from server.models.people import Member, Organisation, OrgKind
from server.services.member_stars import ledger
from server.services.member_stars.evidence import Evidence, gather
from server.services.member_stars.rule import suggest
from server.services.member_stars.words import decided_text
from server.services.people.access import NotAllowed, branches_in, is_leader, scope_of
from server.settings import Settings
from server.wechat.replies import MAX_TEXT_BYTES, fit

router = Router("member_stars")


def keeps_ledger(ctx: ChatContext) -> bool:
    """书记, 副书记, 总支书记, staff, admin: who reads a branch's ledger (or the counts above)."""
    return ctx.member is not None and is_leader(ctx.member)


router.help("我的星级", "支部评定的星级和本人今年的记录（只有本人能看到）", visible=bound, order=71)
router.help(
    "星级台账", "本支部党员的星级评定情况（已评定、免评、待评定）", visible=keeps_ledger, order=69
)

ONLY_OWN = (
    "星级只能查看本人的。请回复 我的星级 查看您自己的；支部的评定情况由支部书记在台账中查看。"
)
TO_DASHBOARD = "评定请到后台的星级党员台账（回复 后台 获取登录链接）。"


def _evidence_lines(e: Evidence) -> list[str]:
    hours = f"{e.service_hours.normalize():f}"
    return [
        f"· 组织生活：应到 {e.expected} 次，出席 {e.present} 次，请假 {e.leave} 次，"
        f"缺席 {e.absent} 次",
        f"· 心得：交流 {e.submitted} 篇，通过 {e.approved} 篇",
        f"· 双报到服务：完成 {e.services} 次，共 {hours} 小时",
        f"· 担任职务：{'、'.join(e.duties) if e.duties else '无'}",
    ]


@router.message(Command("我的星级", "我的星", "我的星级评定"), bound)
async def my_star(member: Member, clock: Clock, settings: Settings, args: str) -> str:
    if args:
        return ONLY_OWN  # nobody else's star, whoever asks
    mine = await ledger.my_star(member)
    year = ledger.default_year(clock.today())
    e = (await gather([member], year, clock.now(), settings))[member.id]
    if mine.decided is None:
        head = f"{member.name}同志，您的星级：尚未评定。"
    else:
        row = mine.decided
        at = f"，{mine.meeting.kind}（编号 {mine.meeting.id}）评定" if mine.meeting else ""
        why = f"\n理由：{row.reason}" if row.status == StarStatus.EXEMPT and row.reason else ""
        head = f"{member.name}同志，您的星级：{decided_text(row)}{at}。{why}"
    return fit(
        "\n".join(
            [
                head,
                f"{year}年您的记录（支部评定时参考）：",
                *_evidence_lines(e),
                f"按这些记录的建议：{suggest(e).level} 星，由支部在民主评议时评定。",
                "星级由支部评定，不按积分、学习时长或点击计算；只有您本人和支部能看到。",
            ]
        ),
        MAX_TEXT_BYTES,
    )


def _year_of(args: str, today: date) -> int:
    raw = args.removesuffix("年").removesuffix("年度").strip()
    if not raw:
        return ledger.default_year(today)
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4):
        raise ValidationFailed("请写年份，如：星级台账 2026", field="year")
    return ledger.check_year(int(raw), today)


@router.message(Command("星级台账", "星级党员台账"), bound)
async def branch_ledger(member: Member, clock: Clock, settings: Settings, args: str) -> str:
    if not is_leader(member):
        raise NotAllowed(ledger.LEADERS_ONLY)
    year = _year_of(args, clock.today())
    org = await Organisation.get(id=member.organisation_id)
    if org.kind is not OrgKind.BRANCH:
        # Above a branch: how far each branch is, in counts — not who has how many stars.
        counted = [
            f"· {p.branch.name}：{p.members} 人，已评定 {p.rated}，免评 {p.exempt}，"
            f"待评定 {p.pending}{'，已确认' if p.confirmed else ''}"
            for p in await ledger.progress(await branches_in(await scope_of(member)), year)
        ]
        text = "\n".join([f"{year}年度星级党员评定进度（只计人数）：", *counted, TO_DASHBOARD])
        return fit(text, MAX_TEXT_BYTES)
    branch = await ledger.branch_led_by(member, org.id)
    book = await ledger.ledger(branch, year, clock.now(), settings)
    head = (
        f"{branch.name}{year}年度星级党员台账：{len(book.entries)} 人，"
        f"已评定 {book.count(StarStatus.RATED)}，免评 {book.count(StarStatus.EXEMPT)}，"
        f"待评定 {book.count(StarStatus.PENDING)}" + ("（已确认）。" if book.final else "。")
    )
    rows: list[str] = []
    group: str | None = None
    for entry in book.entries:
        if entry.group != group:
            group = entry.group
            rows.append(f"【{group or '未编入党小组'}】")
        rows.append(f"· {entry.member.name}：{entry.status}")
    foot = "按党小组和姓名排列，不作排名。" + TO_DASHBOARD
    text = "\n".join([head, *rows, foot])
    if len(text.encode()) > MAX_TEXT_BYTES:
        text = fit("\n".join([head, *rows]), MAX_TEXT_BYTES - len(foot.encode()) - 8) + "\n" + foot
    return text
