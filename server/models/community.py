"""党员双报到 and the 四单制: residents ask (点单), communities dispatch (下单), reported members
serve (接单), results are shown (晒单).

A 报到单位 is a unit Party organisation outside the street's tree; its in-service members
report to the community where they live and serve there while their membership stays with
the unit.  Residents are not Party members and have no `Member` row: each is known by the
WeChat user who registered.  Every step of a need and an order leaves a `ServiceEvent`, the
timeline a community is asked about later; the counts reported upward are read from these
rows and nothing else.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from server.models.people import Member, Organisation


class Community(Model):
    """A 村（社区） that takes part: its Party organisation (the 社区党总支 or 党支部)."""

    id = fields.IntField(primary_key=True)
    organisation: fields.OneToOneRelation[Organisation] = fields.OneToOneField(
        "models.Organisation", related_name="community", on_delete=fields.RESTRICT
    )
    organisation_id: int
    name = fields.CharField(max_length=50, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "community"


class ReportUnit(Model):
    """A 报到单位: a unit Party organisation outside the street, paired with communities."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    kind = fields.CharField(max_length=30, default="")  # 区直机关, 驻区企事业单位, …
    contact_name = fields.CharField(max_length=50, default="")
    contact_phone = fields.CharField(max_length=11, default="")
    # What its members type to report: `报到 <报到码> 姓名 手机号`.
    code = fields.CharField(max_length=8, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_unit"


class UnitCommunity(Model):
    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[ReportUnit] = fields.ForeignKeyField(
        "models.ReportUnit", related_name="pairings", on_delete=fields.CASCADE
    )
    unit_id: int
    community: fields.ForeignKeyRelation[Community] = fields.ForeignKeyField(
        "models.Community", related_name="pairings", on_delete=fields.CASCADE
    )
    community_id: int

    class Meta:
        table = "unit_community"
        unique_together = (("unit", "community"),)


class VolunteerStatus(StrEnum):
    PENDING = "pending"  # waiting for the community to confirm
    CONFIRMED = "confirmed"
    REFUSED = "refused"


VOLUNTEER_STATUS_LABELS = {
    VolunteerStatus.PENDING: "待社区确认",
    VolunteerStatus.CONFIRMED: "已报到",
    VolunteerStatus.REFUSED: "未通过",
}


class Volunteer(Model):
    """A 报到党员: an in-service member of a 报到单位, or a street member, reported to the
    community where they live.  One per phone: confirmed once, then changed, never re-entered."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=50)
    phone = fields.CharField(max_length=11, unique=True)
    unit: fields.ForeignKeyNullableRelation[ReportUnit] = fields.ForeignKeyField(
        "models.ReportUnit", related_name="volunteers", null=True, on_delete=fields.RESTRICT
    )
    unit_id: int | None
    # A street member reporting where they live: their record stays their own.
    member: fields.OneToOneNullableRelation[Member] = fields.OneToOneField(
        "models.Member", related_name="volunteer", null=True, on_delete=fields.CASCADE
    )
    member_id: int | None
    community: fields.ForeignKeyRelation[Community] = fields.ForeignKeyField(
        "models.Community", related_name="volunteers", on_delete=fields.RESTRICT
    )
    community_id: int
    grid = fields.CharField(max_length=50, default="")  # the 网格 the community places them in
    skills = fields.CharField(max_length=200, default="")  # 、-separated
    status = fields.CharEnumField(VolunteerStatus, max_length=12, default=VolunteerStatus.PENDING)
    reason = fields.CharField(max_length=200, default="")  # why refused
    # The WeChat user who registered (None: registered by staff or the API).
    appid = fields.CharField(max_length=32, null=True)
    openid = fields.CharField(max_length=64, null=True)
    registered_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    decided_by_id = fields.IntField(null=True)
    # When a community first confirmed them. A move to another community (confirmed again
    # there) never resets it, so what past periods counted stays counted.
    confirmed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "volunteer"
        unique_together = (("appid", "openid"),)


class Resident(Model):
    """A resident who posts needs, known by the WeChat user who registered."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=50)
    phone = fields.CharField(max_length=11)
    community: fields.ForeignKeyRelation[Community] = fields.ForeignKeyField(
        "models.Community", related_name="residents", on_delete=fields.RESTRICT
    )
    community_id: int
    place = fields.CharField(max_length=100, default="")  # 小区 / 网格
    appid = fields.CharField(max_length=32)
    openid = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    class Meta:
        table = "resident"
        unique_together = (("appid", "openid"),)


class NeedStatus(StrEnum):
    NEW = "new"  # posted, waiting for the community
    DISPATCHED = "dispatched"  # turned into a service order
    REFUSED = "refused"  # not taken on, with a reason the resident is told
    CANCELLED = "cancelled"  # dispatched, then its order cancelled (the reason is kept)


NEED_STATUS_LABELS = {
    NeedStatus.NEW: "待受理",
    NeedStatus.DISPATCHED: "已下单",
    NeedStatus.REFUSED: "不予受理",
    NeedStatus.CANCELLED: "服务单已撤销",
}


class Need(Model):
    """居民点单: what a resident asked for, in their words."""

    id = fields.IntField(primary_key=True)
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="needs", on_delete=fields.RESTRICT
    )
    resident_id: int
    community: fields.ForeignKeyRelation[Community] = fields.ForeignKeyField(
        "models.Community", related_name="needs", on_delete=fields.RESTRICT
    )
    community_id: int
    text = fields.CharField(max_length=500)
    media_id = fields.CharField(max_length=128, null=True)  # an optional photo
    status = fields.CharEnumField(NeedStatus, max_length=12, default=NeedStatus.NEW)
    reason = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(db_index=True)
    decided_at = fields.DatetimeField(null=True)
    decided_by_id = fields.IntField(null=True)

    class Meta:
        table = "need"


class OrderStatus(StrEnum):
    OPEN = "open"  # claims taken until it is full or its window starts
    COMPLETED = "completed"  # the community confirmed the work was done
    CANCELLED = "cancelled"


ORDER_STATUS_LABELS = {
    OrderStatus.OPEN: "进行中",
    OrderStatus.COMPLETED: "已完成",
    OrderStatus.CANCELLED: "已撤销",
}


class ServiceOrder(Model):
    """社区下单: a service order members claim, from a resident's need or the community's own
    (a 先锋岗, a 微心愿)."""

    id = fields.IntField(primary_key=True)
    community: fields.ForeignKeyRelation[Community] = fields.ForeignKeyField(
        "models.Community", related_name="orders", on_delete=fields.RESTRICT
    )
    community_id: int
    need: fields.OneToOneNullableRelation[Need] = fields.OneToOneField(
        "models.Need", related_name="order", null=True, on_delete=fields.RESTRICT
    )
    need_id: int | None
    kind = fields.CharField(max_length=20)
    title = fields.CharField(max_length=200)
    place = fields.CharField(max_length=100, default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    expected_hours = fields.DecimalField(max_digits=5, decimal_places=1, default=Decimal("1"))
    capacity = fields.IntField(default=1)
    # Claims held now; changed only by the conditional UPDATE that guards `capacity`.
    taken = fields.IntField(default=0)
    # Only reported members of this unit may claim (None: anyone reported to the community).
    unit: fields.ForeignKeyNullableRelation[ReportUnit] = fields.ForeignKeyField(
        "models.ReportUnit", related_name="orders", null=True, on_delete=fields.RESTRICT
    )
    unit_id: int | None
    status = fields.CharEnumField(OrderStatus, max_length=12, default=OrderStatus.OPEN)
    created_at = fields.DatetimeField(db_index=True)
    created_by_id = fields.IntField(null=True)
    completed_at = fields.DatetimeField(null=True)
    completed_by_id = fields.IntField(null=True)
    rating = fields.IntField(null=True)  # 1–5, by the resident, within a week of completion
    rating_note = fields.CharField(max_length=300, default="")
    rated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "service_order"


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    WITHDRAWN = "withdrawn"  # 放弃 before the window
    DONE = "done"  # the member reported the work done


class OrderClaim(Model):
    """One member's claim of one order (接单), and what they reported of the work."""

    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation[ServiceOrder] = fields.ForeignKeyField(
        "models.ServiceOrder", related_name="claims", on_delete=fields.CASCADE
    )
    order_id: int
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="claims", on_delete=fields.RESTRICT
    )
    volunteer_id: int
    status = fields.CharEnumField(ClaimStatus, max_length=12, default=ClaimStatus.CLAIMED)
    claimed_at = fields.DatetimeField(db_index=True)
    withdrawn_at = fields.DatetimeField(null=True)
    done_at = fields.DatetimeField(null=True)
    note = fields.CharField(max_length=300, default="")
    hours = fields.DecimalField(max_digits=5, decimal_places=1, null=True)

    class Meta:
        table = "order_claim"
        unique_together = (("order", "volunteer"),)


class ServiceEvent(Model):
    """One step of a need or an order: who did what, when.  Never updated."""

    id = fields.IntField(primary_key=True)
    need_id = fields.IntField(null=True, db_index=True)
    order_id = fields.IntField(null=True, db_index=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=60)  # 居民 张三 / 社区 李书记 / 党员 王五 / 系统
    action = fields.CharField(max_length=20)
    note = fields.CharField(max_length=300, default="")

    class Meta:
        table = "service_event"


class UnitContact(Model):
    """A 报到单位's contact person, known by the WeChat user who proved it with the unit's
    报到码 and the contact phone the committee registered: receives the unit's 联系卡 each
    quarter and may read that unit's record, no other."""

    id = fields.IntField(primary_key=True)
    unit: fields.ForeignKeyRelation[ReportUnit] = fields.ForeignKeyField(
        "models.ReportUnit", related_name="contacts", on_delete=fields.CASCADE
    )
    unit_id: int
    name = fields.CharField(max_length=50, default="")
    appid = fields.CharField(max_length=32)
    openid = fields.CharField(max_length=64)
    bound_at = fields.DatetimeField()

    class Meta:
        table = "unit_contact"
        unique_together = (("appid", "openid"),)


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for its moment (`not_before`) and a sender
    CLAIMED = "claimed"  # taken by a sender, not yet called for
    SENDING = "sending"  # a call to WeChat may have begun: never sent again
    SENT = "sent"
    UNREACHABLE = "unreachable"  # every channel refused: shown where the person looks next
    UNCERTAIN = "uncertain"  # the call may have reached WeChat; not repeated


class CommunityMessage(Model):
    """The outbox of the 四单制's messages (a need to the community, an order to the members it
    suits, an outcome to a resident, a unit's 联系卡): a row before anything is sent, one per
    `key`, so a retry or a second process never sends a message twice, and a crash loses none.
    Quiet hours move `not_before` to the morning.  `title`, `note` and `moment` are what the
    official account's template message says when the customer-service window is closed (the
    rows written before them: taken from the text)."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=120, unique=True)  # order:12:dispatched:volunteer:34
    kind = fields.CharField(max_length=30)
    appid = fields.CharField(max_length=32)
    openid = fields.CharField(max_length=64)
    text = fields.TextField()
    title = fields.CharField(max_length=20, null=True)  # 新服务, 点单受理, 服务完成
    note = fields.CharField(max_length=100, null=True)  # cut to the template field's limit
    moment = fields.DatetimeField(null=True)  # the order's time; unset: when it was written
    status = fields.CharEnumField(MessageStatus, max_length=12, default=MessageStatus.PENDING)
    not_before = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField()
    claim = fields.CharField(max_length=32, null=True)
    claimed_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    sent_at = fields.DatetimeField(null=True)
    channel = fields.CharField(max_length=10, null=True)  # custom | template, once sent
    error = fields.CharField(max_length=200, default="")

    class Meta:
        table = "community_message"


class CommunityStaff(Model):
    """A member the community's leaders named to run its 双报到 business with them (a 社区
    工作者 who is a Party member): they review needs, dispatch and confirm as the leaders do,
    but do not name others."""

    id = fields.IntField(primary_key=True)
    community: fields.ForeignKeyRelation[Community] = fields.ForeignKeyField(
        "models.Community", related_name="staff", on_delete=fields.CASCADE
    )
    community_id: int
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="community_roles", on_delete=fields.CASCADE
    )
    member_id: int
    named_by_id = fields.IntField(null=True)  # None: the command line
    named_at = fields.DatetimeField()

    class Meta:
        table = "community_staff"
        unique_together = (("community", "member"),)


class PostStatus(StrEnum):
    OPEN = "open"  # members may take a place
    CLOSED = "closed"  # the community closed it: its holders are let go, nobody takes it


class StandingPost(Model):
    """A standing post a community publishes (a 先锋岗, a 楼栋长): a role reported members take on
    for months, with a number of places.  Not a service order, and not counted as one."""

    id = fields.IntField(primary_key=True)
    community: fields.ForeignKeyRelation[Community] = fields.ForeignKeyField(
        "models.Community", related_name="posts", on_delete=fields.RESTRICT
    )
    community_id: int
    kind = fields.CharField(max_length=10)  # 先锋岗, 楼栋长, 网格员, …
    title = fields.CharField(max_length=100)
    duty = fields.CharField(max_length=300, default="")
    places = fields.IntField(default=1)
    # Places held now; changed only by the conditional UPDATE that guards `places`.
    taken = fields.IntField(default=0)
    starts_on = fields.DateField()
    ends_on = fields.DateField(null=True)  # None: open-ended
    status = fields.CharEnumField(PostStatus, max_length=12, default=PostStatus.OPEN)
    created_at = fields.DatetimeField()
    created_by_id = fields.IntField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "standing_post"


class HolderStatus(StrEnum):
    HOLDING = "holding"
    LEFT = "left"  # 退岗, or the post was closed


class PostHolder(Model):
    """One member holding (or having held) one standing post: 认岗, 退岗."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[StandingPost] = fields.ForeignKeyField(
        "models.StandingPost", related_name="holders", on_delete=fields.CASCADE
    )
    post_id: int
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="posts_held", on_delete=fields.RESTRICT
    )
    volunteer_id: int
    status = fields.CharEnumField(HolderStatus, max_length=12, default=HolderStatus.HOLDING)
    since = fields.DatetimeField()
    left_at = fields.DatetimeField(null=True)

    class Meta:
        table = "post_holder"
        unique_together = (("post", "volunteer"),)
