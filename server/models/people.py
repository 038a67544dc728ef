"""The organisation and its members, and the WeChat identities bound to them.

The tree is 党工委 (committee) → 党总支 (general branch, optional) → 党支部 (branch) → 党小组
(party group); every level is an `Organisation` row with its `kind` and full `path`, so
"everything under X" is a prefix query and tallies can roll up without recursion.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from server.channels import Channel


class OrgKind(StrEnum):
    COMMITTEE = "committee"  # 党工委
    GENERAL_BRANCH = "general_branch"  # 党总支
    BRANCH = "branch"  # 党支部
    GROUP = "group"  # 党小组


ORG_KIND_LABELS = {
    OrgKind.COMMITTEE: "党工委",
    OrgKind.GENERAL_BRANCH: "党总支",
    OrgKind.BRANCH: "党支部",
    OrgKind.GROUP: "党小组",
}


class Role(StrEnum):
    MEMBER = "党员"
    GROUP_LEADER = "党小组长"
    COMMITTEE_MEMBER = "支委委员"
    DEPUTY_SECRETARY = "支部副书记"
    SECRETARY = "支部书记"
    GENERAL_SECRETARY = "总支书记"
    STAFF = "党工委工作人员"
    # Sees and runs everything; the first one is named by `dangjian admin-link`.
    ADMIN = "系统管理员"


# Roles that run a branch's business (review, schedule, ledger).
BRANCH_LEADERS = frozenset({Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.GENERAL_SECRETARY})


class MemberStatus(StrEnum):
    ACTIVE = "active"
    TRANSFERRED = "transferred"  # 转出
    # 停止党籍 (失联, by the branch meeting's decision): in no count of members, no meeting's 应到.
    STOPPED = "stopped"


class Organisation(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    kind = fields.CharEnumField(OrgKind, max_length=20)
    parent: fields.ForeignKeyNullableRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    # "XX街道党工委/第一社区党总支/第一支部/第一党小组": unique, and what imports refer to.
    path = fields.CharField(max_length=500, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organisation"

    def __str__(self) -> str:
        return self.path


class Member(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=50, db_index=True)
    phone = fields.CharField(max_length=11, unique=True)
    gender = fields.CharField(max_length=1, null=True)  # 男 / 女
    birth_date = fields.DateField(null=True)
    education = fields.CharField(max_length=20, null=True)
    joined_on = fields.DateField(null=True)  # 入党日期
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="members", on_delete=fields.RESTRICT
    )
    organisation_id: int
    group: fields.ForeignKeyNullableRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="group_members", null=True, on_delete=fields.SET_NULL
    )
    group_id: int | None
    role = fields.CharEnumField(Role, max_length=20, default=Role.MEMBER)
    status = fields.CharEnumField(MemberStatus, max_length=20, default=MemberStatus.ACTIVE)
    is_mobile = fields.BooleanField(default=False)  # 流动党员 (流出): kept by `mobility`
    # 流入党员: another organisation holds the relationship.  Takes part in this branch's life
    # without 表决权, 选举权 or 被选举权 here: never in a meeting's 应到 or quorum, nor in 党员数.
    # db_default: added to a table with rows in it, SQLite needs a default for a NOT NULL column.
    incoming = fields.BooleanField(default=False, db_default=False)
    # 预备党员: no 表决权, 选举权 or 被选举权 until 转正 — in a 支部党员大会's 应到 and 出勤率 like
    # every member, but not in the quorum for a vote (有表决权的到会人数过应到会有表决权人数之半).
    probationary = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    identities: fields.ReverseRelation[WeChatIdentity]

    class Meta:
        table = "member"

    def __str__(self) -> str:
        return f"{self.name} ({mask_phone(self.phone)})"


class WeChatIdentity(Model):
    """One WeChat user (per app) bound to one member."""

    id = fields.IntField(primary_key=True)
    appid = fields.CharField(max_length=32)
    openid = fields.CharField(max_length=64)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    channel = fields.CharEnumField(Channel, max_length=20)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="identities", on_delete=fields.CASCADE
    )
    member_id: int
    bound_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "wechat_identity"
        # One WeChat user binds once per app, and a member has one identity per app.
        unique_together = (("appid", "openid"), ("appid", "member"))


def counted_in(member: Member) -> int:
    """The organisation a member's deeds are counted for: their 党小组 if they are in one, else
    the organisation they belong to.

    A group sits under its branch in the tree, so the branch (and everything above it) still
    counts the deed as its own, and a branch's breakdown by 党小组 can tell its groups apart.
    Written into each event row when it happens: a later move does not shift past counts.
    """
    group = member.group_id
    return int(group if group is not None else member.organisation_id)


def mask_phone(phone: str | None) -> str:
    """138********: what logs and other people see.

    Only the carrier prefix: the last four digits were once the bind secret, and a roster that
    shows them hands every reader the means to bind as anyone on it.
    """
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 3)}"


def own_phone(phone: str | None) -> str:
    """138****5678: what a member sees of their own number (the tail to recognise it by)."""
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_openid(openid: str | None) -> str:
    if not openid:
        return ""
    return f"{openid[:6]}…{openid[-2:]}" if len(openid) > 10 else "…"


class AdminLink(Model):
    """A one-time sign-in link to the dashboard: the SHA-256 of its token, never the token.

    Kept in the database, not the cache, so a link printed by the command line works with the
    embedded in-process cache too, and using it is one conditional UPDATE in any process.
    """

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="admin_links", on_delete=fields.CASCADE
    )
    member_id: int
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "admin_link"


class BindCode(Model):
    """A one-time bind code issued to one member: the SHA-256 of the code, never the code.

    In the database, not the cache, so a code printed by `dangjian bind-code` works with the
    embedded in-process cache too; using it is one conditional UPDATE in any process.
    """

    id = fields.IntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="bind_codes", on_delete=fields.CASCADE
    )
    member_id: int
    # Who issued it (None: the command line); kept for the audit, not for the rules.
    issued_by_id = fields.IntField(null=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "bind_code"


class MemberChangeKind(StrEnum):
    UNBIND = "unbind"  # a WeChat identity removed from the member
    LINK = "link"  # an identity bound automatically: the same unionid bound in the other app
    ROLE = "role"
    TRANSFER = "transfer"  # moved to another branch or 党小组


class MemberChange(Model):
    """Who changed a member's bindings, role or organisation, when, and why.

    Written by every such change (the chat, the API, the dashboard and the command line alike)
    and never updated: the record a secretary is asked about later.
    """

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="changes", on_delete=fields.CASCADE
    )
    member_id: int
    kind = fields.CharEnumField(MemberChangeKind, max_length=12)
    # None: the command line (the server's operator) or the system itself (LINK).
    actor_id = fields.IntField(null=True)
    before = fields.CharField(max_length=500, default="")
    after = fields.CharField(max_length=500, default="")
    reason = fields.CharField(max_length=200, default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "member_change"
