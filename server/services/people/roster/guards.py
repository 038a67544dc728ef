"""Members a roll matches by phone but may not simply overwrite.

- A 流入党员 (`Member.incoming`) was made from what someone typed when reporting 流入, and their
  WeChat is bound to that record.  Were the roll to match the phone, the WeChat of whoever
  reported would take the roll's name and role — a 支部书记's, say.  So the row is refused while
  the 流入 lasts.  Once the branch has ended it (结束流动, having checked who it is), the row may
  take the record over as one of ours; the binding made when reporting is removed in the same
  transaction, and the holder binds again as any member does.
- 停止党籍 (`MemberStatus.STOPPED`) is the branch meeting's decision after the 失联 steps.  A roll
  saying 在册 (or leaving 状态 empty) keeps it, and the report says so: restoring 党籍 has its own
  procedure.  A roll saying 停止党籍 is refused cell by cell (fields.parse_status).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from server.models.people import MemberChange, MemberChangeKind, MemberStatus, WeChatIdentity
from server.services.people.roster.batches import PHONE_CHUNK, chunks
from server.services.people.unbinding import CHANNEL_LABELS

TAKEN_OVER = "原流入党员结束流动后按花名册登记为本支部党员，报到时绑定的微信已解除"


def incoming_refusal(member: Any, branch_name: str) -> str | None:
    """Why a row may not be matched with this stored member (a 流入 still here), or None."""
    if not member.incoming or member.status is MemberStatus.TRANSFERRED:
        return None
    return (
        f"该手机号是本街道的流入党员（{member.name}，{branch_name}），不能导入为本支部党员；"
        "如确已转入，请先 结束流动 并核实身份 / this phone belongs to an incoming member "
        "(流入党员) of the street: end the 流入 and check who it is first"
    )


def takes_over(member: Any) -> bool:
    """An ended 流入 the roll names: ours from now on, without the WeChat that reported."""
    return bool(member.incoming) and member.status is MemberStatus.TRANSFERRED


def keep_stopped(member: Any, record: Any) -> bool:
    """Keep a stopped 党籍 the roll calls 在册; True when the roll said otherwise.

    A stopped member is no 流动党员 either (lost.stop clears the flag), whatever the roll says.
    """
    kept = member.status is MemberStatus.STOPPED and record.status is MemberStatus.ACTIVE
    if kept:
        record.status = MemberStatus.STOPPED
    if record.status is MemberStatus.STOPPED:
        record.is_mobile = False
    return kept


async def unbind_taken_over(member_ids: Sequence[int], using_db: BaseDBAsyncClient | None) -> int:
    """Remove the WeChat bindings of ended 流入 the roll took over, each recorded as an unbind
    by no one (the import is the operator's).  Returns how many bindings were removed."""
    removed: list[tuple[int, str]] = []
    for chunk in chunks(member_ids, PHONE_CHUNK):
        rows = await (
            WeChatIdentity.filter(member_id__in=list(chunk))
            .using_db(using_db)
            .values_list("member_id", "channel")
        )
        removed.extend((int(m), str(c)) for m, c in rows)
        await WeChatIdentity.filter(member_id__in=list(chunk)).using_db(using_db).delete()
    channels: dict[int, list[str]] = {}
    for member_id, channel in removed:
        channels.setdefault(member_id, []).append(CHANNEL_LABELS.get(channel, channel))
    for member_id, names in channels.items():  # a few members at most: one by one
        await MemberChange.create(
            member_id=member_id,
            kind=MemberChangeKind.UNBIND,
            actor_id=None,
            before="、".join(names),
            reason=TAKEN_OVER,
            using_db=using_db,
        )
    return len(removed)
