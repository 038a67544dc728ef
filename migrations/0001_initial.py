from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from server.channels import Channel
from server.models.people import MemberStatus, OrgKind, Role


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Organisation",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(max_length=100)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="COMMITTEE: committee\nGENERAL_BRANCH: general_branch\nBRANCH: branch\nGROUP: group",
                        enum_type=OrgKind,
                        max_length=20,
                    ),
                ),
                (
                    "parent",
                    fields.ForeignKeyField(
                        "models.Organisation",
                        source_field="parent_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="children",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("path", fields.CharField(unique=True, max_length=500)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "organisation", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Member",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(db_index=True, max_length=50)),
                ("phone", fields.CharField(unique=True, max_length=11)),
                ("gender", fields.CharField(null=True, max_length=1)),
                ("birth_date", fields.DateField(null=True)),
                ("education", fields.CharField(null=True, max_length=20)),
                ("joined_on", fields.DateField(null=True)),
                (
                    "organisation",
                    fields.ForeignKeyField(
                        "models.Organisation",
                        source_field="organisation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="members",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "group",
                    fields.ForeignKeyField(
                        "models.Organisation",
                        source_field="group_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="group_members",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "role",
                    fields.CharEnumField(
                        default=Role.MEMBER,
                        description="MEMBER: 党员\nGROUP_LEADER: 党小组长\nCOMMITTEE_MEMBER: 支委委员\nDEPUTY_SECRETARY: 支部副书记\nSECRETARY: 支部书记\nGENERAL_SECRETARY: 总支书记\nSTAFF: 党工委工作人员",
                        enum_type=Role,
                        max_length=20,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=MemberStatus.ACTIVE,
                        description="ACTIVE: active\nTRANSFERRED: transferred",
                        enum_type=MemberStatus,
                        max_length=20,
                    ),
                ),
                ("is_mobile", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "member", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="WeChatIdentity",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("appid", fields.CharField(max_length=32)),
                ("openid", fields.CharField(max_length=64)),
                ("unionid", fields.CharField(null=True, db_index=True, max_length=64)),
                (
                    "channel",
                    fields.CharEnumField(
                        description="OFFICIAL_ACCOUNT: oa\nMINIPROGRAM: miniprogram",
                        enum_type=Channel,
                        max_length=20,
                    ),
                ),
                (
                    "member",
                    fields.ForeignKeyField(
                        "models.Member",
                        source_field="member_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="identities",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("bound_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "wechat_identity",
                "app": "models",
                "unique_together": (("appid", "openid"), ("appid", "member")),
                "pk_attr": "id",
                "table_description": "One WeChat user (per app) bound to one member.",
            },
            bases=["Model"],
        ),
    ]
