"""五张清单 in chat, for a 责任人: `我的清单` lists the items they answer for, not yet done, with
each one's state and deadline; `清单进展 12 内容` records progress on one of them.

The list is the committee's working list, not a ranking; completion is declared by the
committee's staff on the dashboard, never by a message.  A number that is not one of the
sender's items is answered as one that does not exist.
"""

from __future__ import annotations

from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.context import EDGE_PUNCT, text_after_number
from server.dispatch.filters import Command, Keyword, Pattern, bound
from server.errors import ValidationFailed
from server.models.duty_lists import DutyItem
from server.models.people import Member, Role
from server.services.community.wording import short
from server.services.duty_lists import items, reading, who
from server.services.duty_lists.items import LIMITS
from server.wechat.replies import MAX_TEXT_BYTES

router = Router("duty_lists")
_MORE_ROOM = 120  # bytes kept for the line that says more are on the dashboard
COMMAND = "清单进展"
EXAMPLE = f"{COMMAND} 12 已完成3个支部的台账检查"
NOTHING = (
    "您目前没有负责的五张清单事项。五张清单由街道党工委制定，"
    "责任人可以在这里查看自己负责的事项、记录进展。"
)
NOT_YOURS = "没有找到您负责的第 {n} 项。回复 我的清单 查看您负责的事项和编号。"
# Who is likely to answer for an item: secretaries, committee members, the committee's staff.
_LIKELY = frozenset(
    {
        Role.SECRETARY,
        Role.DEPUTY_SECRETARY,
        Role.GENERAL_SECRETARY,
        Role.COMMITTEE_MEMBER,
        Role.STAFF,
        Role.ADMIN,
    }
)


def likely_owner(ctx: ChatContext) -> bool:
    return ctx.member is not None and ctx.member.role in _LIKELY


router.help("我的清单", "查看自己负责的五张清单事项", visible=likely_owner, order=75)
router.help(EXAMPLE, "记录清单事项的进展", visible=likely_owner, order=76)


def _day(item: DutyItem) -> str:
    d = item.deadline
    return f"{d.year}年{d.month}月{d.day}日"


@router.message(Keyword("我的清单", "清单", "五张清单", "我的五张清单"), bound)
async def my_items(member: Member, clock: Clock) -> str:
    today = clock.today()
    lines = await reading.my_lines(member, today)
    if not lines:
        return NOTHING
    rows = [f"{member.name}同志，您负责的五张清单事项（{len(lines)} 项未完成）："]
    for line in lines:
        item = line.item
        risk = "，临期" if line.at_risk else ""
        rows.append(
            f"· 第 {item.id} 项【{line.state.value}{risk}】{short(item.task, 40)}\n"
            f"  时限 {_day(item)}（{line.left}）"
            + (f"；最近进展 {line.progress}" if line.last_note else "")
        )
    foot = f"记录进展请发送：{COMMAND} {lines[0].item.id} 进展内容"
    shown: list[str] = []
    for row in rows:  # whole rows within one reply; the rest are on the dashboard
        if len("\n".join([*shown, row, foot]).encode()) > MAX_TEXT_BYTES - _MORE_ROOM:
            shown.append(f"……另有 {len(rows) - len(shown)} 项，全部请到后台查看（回复 后台）。")
            break
        shown.append(row)
    return "\n".join([*shown, foot])


@router.message(Pattern(rf"{COMMAND}\s*(?P<number>[0-9]+)\s*(?P<said>.*)"), bound)
async def progress(member: Member, clock: Clock, number: str, raw_text: str) -> str:
    item = await DutyItem.get_or_none(id=int(number)) if len(number) <= 9 else None
    if item is None or not await who.owns(member, item):
        if item is None or not await who.keeps(member, item):
            return NOT_YOURS.format(n=number)
    said = text_after_number(raw_text, COMMAND).lstrip(EDGE_PUNCT + " \u3000")
    if not said:
        return f"请写上进展内容，例如：{EXAMPLE}"
    if len(said) > LIMITS["note"]:
        raise ValidationFailed(f"进展内容最多 {LIMITS['note']} 字，请分几次记录。", field="note")
    if item.completed_on is not None:
        return f"第 {item.id} 项已由街道党工委确认完成，不再记录进展。如需补充，请联系党工委。"
    await items.add_note(member, item, said, clock.now(), clock.today())
    return (
        f"已记录第 {item.id} 项的进展：{short(said, 60)}\n"
        f"时限 {_day(item)}。完成后由街道党工委确认；佐证材料可在后台上传（回复 后台）。"
    )


@router.message(Command(COMMAND), bound)
async def progress_how(args: str) -> str:
    if args:
        return f"请写上事项编号和进展内容，例如：{EXAMPLE}（编号见 我的清单）。"
    return f"记录进展请发送：{EXAMPLE}（编号见 我的清单）。"
