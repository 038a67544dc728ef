"""The outbox of meeting notices, and the mini-program subscription grants they may use.

Every notice is a row before anything is sent: (meeting, member, kind) is unique, so a notice
cannot exist twice; a sender claims a row (pending → claimed) in one conditional UPDATE, and
marks it sending just before its first call to WeChat, so two processes, or a restart, never
send it twice, and a claim whose sender died before calling is taken up again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.meetings import Meeting
    from server.models.people import Member


class NoticeStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"  # taken by a sender, no call made yet: pending again once its lease ends
    SENDING = "sending"  # a call to WeChat may have begun: never sent again from here
    SENT = "sent"
    UNREACHABLE = "unreachable"  # no channel reaches this member: listed for the secretary
    FAILED = "failed"  # definite failures (nothing delivered) until the attempts ran out
    MISSED = "missed"  # its time passed (the server was down) and the meeting has begun
    VOID = "void"  # the meeting moved or was cancelled before this reminder was due
    UNCERTAIN = (
        "uncertain"  # a call cut short (timeout, crash, error): perhaps delivered, never resent
    )


class Notice(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="notices", on_delete=fields.CASCADE
    )
    meeting_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="notices", on_delete=fields.CASCADE
    )
    member_id: int
    # scheduled | reminder:<offset>:<start timestamp> | changed:<change id> | cancelled:<id>
    kind = fields.CharField(max_length=60)
    due_at = fields.DatetimeField(db_index=True)
    status = fields.CharEnumField(
        NoticeStatus, max_length=12, default=NoticeStatus.PENDING, db_index=True
    )
    channel = fields.CharField(max_length=12, null=True)  # subscribe | template | custom
    errcode = fields.IntField(null=True)
    attempts = fields.IntField(default=0)
    claimed_at = fields.DatetimeField(null=True)
    claim = fields.CharField(max_length=16, null=True, db_index=True)  # which sender's batch
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notice"
        unique_together = (("meeting", "member", "kind"),)


class SubscribeGrant(Model):
    """What wx.requestSubscribeMessage accepted: one message per grant, per template."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="subscribe_grants", on_delete=fields.CASCADE
    )
    member_id: int
    template_id = fields.CharField(max_length=64)
    remaining = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "subscribe_grant"
        unique_together = (("member", "template_id"),)
