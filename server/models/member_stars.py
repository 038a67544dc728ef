"""星级党员: the branch's yearly ledger of its members' stars — evidence from the records, the
star decided by people.

`MemberStar` is one member's year in the ledger: the evidence gathered from that year's
records (organisational life, 心得, 双报到 services, duties), the suggestion the documented rule
makes of it (never points, study time or clicks), and the branch's decision — a star from 1
to 5, or 免评 (年老体弱、卧床等) — with the reason, the 民主评议 it was decided at, who decided
and when.  Every decision is also a `MemberStarChange` row, written once and never updated.
`StarYear` is the branch's year: once confirmed it is final, and a later change needs a reason
(and is logged like any other).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.meetings import Meeting
    from server.models.people import Member, Organisation

STARS = range(1, 6)


class StarStatus(StrEnum):
    PENDING = "pending"  # 待评定: no decision yet
    RATED = "rated"  # 已评定: the branch set a star
    EXEMPT = "exempt"  # 免评: by the branch's decision, with a reason — not a low star


class MemberStar(Model):
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="stars", on_delete=fields.CASCADE
    )
    member_id: int
    # The branch whose ledger holds the row (the member's when it was gathered or decided).
    branch: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="member_stars", on_delete=fields.RESTRICT
    )
    branch_id: int
    year = fields.IntField()
    # The evidence, as the records of the year said when last gathered (frozen once decided
    # and the year confirmed): what the decision was taken on.
    expected = fields.IntField(default=0)  # held meetings expected at (应到)
    present = fields.IntField(default=0)
    leave = fields.IntField(default=0)
    absent = fields.IntField(default=0)
    submitted = fields.IntField(default=0)  # 心得 handed in during the year
    approved = fields.IntField(default=0)  # … of which approved
    services = fields.IntField(default=0)  # 双报到 services completed (as the 联系卡 counts)
    service_hours = fields.DecimalField(max_digits=6, decimal_places=1, default=Decimal(0))
    duties = fields.CharField(max_length=300, default="")  # 、-separated
    suggested = fields.IntField(default=2)  # by the rule in services/member_stars/rule.py
    gathered_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(StarStatus, max_length=10, default=StarStatus.PENDING)
    star = fields.IntField(null=True)  # 1–5 when rated
    reason = fields.CharField(max_length=200, default="")
    meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="stars_decided", null=True, on_delete=fields.SET_NULL
    )
    meeting_id: int | None
    decided_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="stars_set", null=True, on_delete=fields.SET_NULL
    )
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)

    changes: fields.ReverseRelation[MemberStarChange]

    class Meta:
        table = "member_star"
        unique_together = (("member", "year"),)


class StarYear(Model):
    """A branch's year of the ledger: confirmed once by the branch, then final."""

    id = fields.IntField(primary_key=True)
    branch: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="star_years", on_delete=fields.RESTRICT
    )
    branch_id: int
    year = fields.IntField()
    # The 民主评议 (支部党员大会) the year was decided at, if one was held and named.
    meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="star_years", null=True, on_delete=fields.SET_NULL
    )
    meeting_id: int | None
    confirmed_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="star_years_confirmed", null=True, on_delete=fields.SET_NULL
    )
    confirmed_by_id: int | None
    confirmed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "star_year"
        unique_together = (("branch", "year"),)


class MemberStarChange(Model):
    """One decision on one member's year: who, when, from what, to what, why."""

    id = fields.IntField(primary_key=True)
    row: fields.ForeignKeyRelation[MemberStar] = fields.ForeignKeyField(
        "models.MemberStar", related_name="changes", on_delete=fields.CASCADE
    )
    row_id: int
    by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="star_changes", null=True, on_delete=fields.SET_NULL
    )
    by_id: int | None
    at = fields.DatetimeField()
    before = fields.CharField(max_length=20)  # 待评定, ★★★, 免评
    after = fields.CharField(max_length=20)
    reason = fields.CharField(max_length=200, default="")
    suggested = fields.IntField()  # the suggestion when decided
    after_final = fields.BooleanField(default=False)  # made after the year was confirmed

    class Meta:
        table = "member_star_change"
