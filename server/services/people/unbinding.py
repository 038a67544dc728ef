"""解绑: a leader removes a member's WeChat bindings, with a reason, and the member is told.

The member can bind again at once (a fresh bind code); what they did while bound stays
theirs.  The identities are read before they are deleted, so the message reaches the very
WeChat users that were just unbound (best effort: outside the 48-hour window it is lost).
"""

from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from server.errors import Conflict, ValidationFailed
from server.models.people import Member, MemberChange, MemberChangeKind, WeChatIdentity
from server.services.people.identities import IdentityDirectory
from server.services.people.member_rules import manager_scope, required_reason

log = logging.getLogger("dangjian.binding")

CHANNEL_LABELS = {"oa": "公众号", "miniprogram": "小程序"}


def unbound_text(member: Member) -> str:
    return (
        f"{member.name}同志，您的微信与党员身份的绑定已由组织解除。"
        "如需重新绑定，请向支部书记索取绑定码，然后发送：绑定 绑定码。"
    )


async def unbind(
    target: Member, actor: Member | None, reason: str | None, identities: IdentityDirectory
) -> list[WeChatIdentity]:
    """Every identity of `target`, removed and recorded; the removed rows are returned."""
    why = required_reason(reason)
    await target.fetch_related("organisation", "group")
    await manager_scope(actor, target)
    if actor is not None and actor.id == target.id:
        # It would sign the caller out mid-request; their superior (or the operator) does it.
        raise ValidationFailed("不能解除自己的绑定，请由上级组织解除。", field="member")
    removed = await WeChatIdentity.filter(member_id=target.id).order_by("id")
    if not removed:
        raise Conflict(f"{target.name}没有绑定微信，无需解绑。")
    async with in_transaction():
        await WeChatIdentity.filter(id__in=[i.id for i in removed]).delete()
        await MemberChange.create(
            member=target,
            kind=MemberChangeKind.UNBIND,
            actor_id=actor.id if actor else None,
            before="、".join(CHANNEL_LABELS.get(str(i.channel), str(i.channel)) for i in removed),
            reason=why,
        )
    for identity in removed:
        await identities.forget(identity.appid, identity.openid)
    log.info(
        "member unbound",
        extra={"member_id": target.id, "actor_id": actor.id if actor else None},
    )
    return removed
