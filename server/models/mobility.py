"""流动党员: the branch's working record of members who moved away (流出) and of members of other
organisations who live or work in the street (流入), the contact kept with them, 党费 received,
their yearly report, and the search for a member out of contact (失联).

A working record and a to-do list, not a register: 组织关系 and the 流动党员 register itself are
kept in the 全国党员管理信息系统.  Rows are what the branch recorded, with who and when.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.meetings import Meeting
    from server.models.people import Member, Organisation


class Direction(StrEnum):
    OUT = "out"  # 流出: our member, living or working elsewhere
    IN = "in"  # 流入: another organisation's member, taking part in our branch's life


DIRECTION_LABELS = {Direction.OUT: "流出", Direction.IN: "流入"}


class FlowReason(StrEnum):
    """The reasons the 流动党员 forms list."""

    WORK = "外出务工经商"
    RESTRUCTURE = "单位改制"
    GRADUATION = "毕业去向"
    JOB_CHANGE = "工作单位改变"
    ABROAD = "出国（境）"
    RESIDENCE = "居住地改变"
    OTHER = "其他"


class FlowStatus(StrEnum):
    PENDING = "pending"  # 流入 reported, the branch has not yet confirmed
    ACTIVE = "active"
    REFUSED = "refused"  # 流入 the branch did not confirm
    ENDED = "ended"  # came back, moved the relationship, or left the street


FLOW_STATUS_LABELS = {
    FlowStatus.PENDING: "待确认",
    FlowStatus.ACTIVE: "在册",
    FlowStatus.REFUSED: "未确认",
    FlowStatus.ENDED: "已结束",
}


class MobileMember(Model):
    """One spell of a member's being 流出 or 流入.

    `current` holds "member:ID" (or "phone:NUMBER" for a 流入 not yet confirmed) while the
    spell is pending or active, NULL once it is over: a unique column, so a member has at most
    one open spell whatever two processes do at once.
    """

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="mobility", null=True, on_delete=fields.CASCADE
    )
    member_id: int | None
    direction = fields.CharEnumField(Direction, max_length=3)
    # The branch that keeps in touch: the member's own (流出) or the one reported to (流入).
    branch: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="mobile_members", on_delete=fields.RESTRICT
    )
    branch_id: int
    status = fields.CharEnumField(FlowStatus, max_length=8, default=FlowStatus.ACTIVE)
    current = fields.CharField(max_length=40, null=True, unique=True)
    since = fields.DateField()  # left (流出) or arrived (流入)
    place = fields.CharField(max_length=100)  # 去向, or where they live or work in the street
    reason = fields.CharEnumField(FlowReason, max_length=10, default=FlowReason.OTHER)
    reach = fields.CharField(max_length=100, default="")  # how to reach them
    # 流出: the receiving organisation, if known; 流入: the organisation that holds the
    # relationship (组织关系所在党组织).
    other_org = fields.CharField(max_length=100, default="")
    other_contact = fields.CharField(max_length=100, default="")  # that organisation's phone
    certificate = fields.CharField(max_length=30, default="")  # 流动党员活动证 number
    keeper: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="mobile_kept", null=True, on_delete=fields.SET_NULL
    )
    keeper_id: int | None  # the 支委 member who keeps in touch (联系人)
    cadence_days = fields.IntField(null=True)  # None: the setting's default
    # A 流入 before confirmation: who reported, from which WeChat user.
    name = fields.CharField(max_length=50, default="")
    phone = fields.CharField(max_length=11, null=True)
    appid = fields.CharField(max_length=32, null=True)
    openid = fields.CharField(max_length=64, null=True)
    channel = fields.CharField(max_length=20, null=True)  # of that WeChat user: bound on confirm
    decided_by_id = fields.IntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    refuse_reason = fields.CharField(max_length=200, default="")
    ended_on = fields.DateField(null=True)
    end_note = fields.CharField(max_length=200, default="")
    created_by_id = fields.IntField(null=True)  # None: the command line or an import
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "mobile_member"
        indexes = (("branch_id", "status"),)


class MobileContact(Model):
    """A contact with a member the branch keeps in touch with: when, how, what was said."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="contacts", on_delete=fields.CASCADE
    )
    member_id: int
    day = fields.DateField()
    channel = fields.CharField(max_length=10)  # 电话, 微信, 走访, 视频, 信函, 其他
    note = fields.CharField(max_length=500)
    by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "mobile_contact"
        indexes = (("member_id", "day"),)


class DuesPaid(Model):
    """党费 received for a member, up to and including a month (交至): what the branch recorded."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="dues_paid", on_delete=fields.CASCADE
    )
    member_id: int
    day = fields.DateField()  # received on
    through = fields.DateField()  # the first day of the last month paid for
    amount = fields.DecimalField(max_digits=10, decimal_places=2, null=True)
    by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "dues_paid"
        unique_together = (("member", "through"),)


class YearlyReport(Model):
    """A 流出 member's yearly confirmation (年度报告): where they took part in 组织生活 and how
    their 党费 stand; fills the 流动党员活动证's yearly review.  One per member and year, the
    latest answer kept."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="yearly_reports", on_delete=fields.CASCADE
    )
    member_id: int
    year = fields.IntField()
    org_life = fields.CharField(max_length=300)
    dues = fields.CharField(max_length=10)  # 已交清, 部分交纳, 未交
    dues_where = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "yearly_report"
        unique_together = (("member", "year"),)


class LostStage(StrEnum):
    SEARCHING = "searching"  # 查找中
    RESTORED = "restored"  # 恢复联系
    STOPPED = "stopped"  # 停止党籍, by the branch meeting's decision
    CLOSED = "closed"  # 除名 done (or contact restored after the stop), recorded by the branch


LOST_STAGE_LABELS = {
    LostStage.SEARCHING: "查找中",
    LostStage.RESTORED: "已恢复联系",
    LostStage.STOPPED: "已停止党籍",
    LostStage.CLOSED: "已办结",
}


class LostCase(Model):
    """The search for a member out of contact (条例第二十四条), opened by the branch.

    Nothing here sets a status by itself: the flag 可能失联 is a question put to the branch,
    each step is the branch's, and a stopped 党籍 rests on a branch meeting named here.
    """

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="lost_cases", on_delete=fields.CASCADE
    )
    member_id: int
    branch_id = fields.IntField()
    stage = fields.CharEnumField(LostStage, max_length=10, default=LostStage.SEARCHING)
    current = fields.CharField(max_length=40, null=True, unique=True)  # "member:ID" while open
    opened_on = fields.DateField()
    opened_by_id = fields.IntField(null=True)
    restored_on = fields.DateField(null=True)
    handling = fields.CharField(max_length=300, default="")  # how a restored contact was handled
    stopped_on = fields.DateField(null=True)
    meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="lost_cases", null=True, on_delete=fields.SET_NULL
    )
    meeting_id: int | None
    decision = fields.CharField(max_length=300, default="")
    removal_reminded_at = fields.DatetimeField(null=True)
    closed_on = fields.DateField(null=True)
    closed_note = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "lost_case"


class LostAttempt(Model):
    """One dated attempt to find a member: by phone, through family, the former employer, an
    enquiry through the organisation department."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[LostCase] = fields.ForeignKeyField(
        "models.LostCase", related_name="attempts", on_delete=fields.CASCADE
    )
    case_id: int
    day = fields.DateField()
    method = fields.CharField(max_length=10)
    note = fields.CharField(max_length=300)
    by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "lost_attempt"
