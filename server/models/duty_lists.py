"""五张清单: the committee's Party-building duties, one row per item with its 问题、任务、责任人、
措施、时限, the year it belongs to, the branches it concerns, and what was recorded of it.

Nothing here holds a status: 未开始 / 推进中 / 已完成 / 已逾期 is read from the deadline, the
notes and the completion (`services.duty_lists.status`).  Completion and reopening are a
person's, with a note; every note (progress, evidence, completion, reopening, carry-over,
an edit) is a row that is never changed, saying who and when.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.people import Member, Organisation


class DutySource(StrEnum):
    """Where an item came from: the sources the committee's own lists name."""

    ABOVE = "上级部署"  # 中央、省、市、区的要求
    INSPECTION = "巡察反馈"
    SURVEY = "调研点评"  # 上级领导调研点评
    PEOPLE = "群众反映"
    SELF = "自身查摆"  # 班子评议中自身查摆


class NoteKind(StrEnum):
    PROGRESS = "进展"
    EVIDENCE = "佐证"
    DONE = "完成"
    REOPEN = "重新打开"
    CARRIED = "结转"
    EDIT = "修改"


class DutyItem(Model):
    """One item of a committee's year of 五张清单.

    责任人 is a member (`owner`) or an organisation whose secretary answers for it
    (`owner_org`): exactly one of the two.  `carried_from` is the item of the year before this
    one continues; unique, so an item is carried over once whatever two runs do at once.
    """

    id = fields.IntField(primary_key=True)
    committee: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="duty_items", on_delete=fields.RESTRICT
    )
    committee_id: int
    year = fields.IntField()
    source = fields.CharEnumField(DutySource, max_length=10, default=DutySource.SELF)
    problem = fields.CharField(max_length=500)  # 问题
    task = fields.CharField(max_length=500)  # 任务
    measures = fields.CharField(max_length=1000)  # 措施
    deadline = fields.DateField()  # 时限
    owner: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="duty_items", null=True, on_delete=fields.SET_NULL
    )
    owner_id: int | None
    owner_org: fields.ForeignKeyNullableRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="duty_items_owned", null=True, on_delete=fields.SET_NULL
    )
    owner_org_id: int | None
    completed_on = fields.DateField(null=True)
    completed_by_id = fields.IntField(null=True)
    carried_from: fields.OneToOneNullableRelation[DutyItem] = fields.OneToOneField(
        "models.DutyItem", related_name="carried_to", null=True, on_delete=fields.SET_NULL
    )
    carried_from_id: int | None
    created_by_id = fields.IntField(null=True)  # None: the command line
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "duty_item"
        indexes = (("committee_id", "year"),)


class DutyLink(Model):
    """An organisation (a 党总支, a branch) the item concerns: it reads the item, read-only."""

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[DutyItem] = fields.ForeignKeyField(
        "models.DutyItem", related_name="links", on_delete=fields.CASCADE
    )
    item_id: int
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="duty_links", on_delete=fields.CASCADE
    )
    organisation_id: int

    class Meta:
        table = "duty_link"
        unique_together = (("item", "organisation"),)


class DutyNote(Model):
    """A dated line of the item's record: progress, evidence (text, a link, perhaps a file),
    completion or reopening with its reason, a carry-over, an edit."""

    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[DutyItem] = fields.ForeignKeyField(
        "models.DutyItem", related_name="notes", on_delete=fields.CASCADE
    )
    item_id: int
    kind = fields.CharEnumField(NoteKind, max_length=10)
    day = fields.DateField()
    text = fields.CharField(max_length=1000)
    link = fields.CharField(max_length=500, default="")
    by_id = fields.IntField(null=True)  # None: the command line
    at = fields.DatetimeField()

    class Meta:
        table = "duty_note"
        indexes = (("item_id", "at"),)


class DutyFile(Model):
    """A file attached to an evidence note, kept in the database (so every process and every
    backup has it); optional, never required — a photo only where the staff chose one."""

    id = fields.IntField(primary_key=True)
    note: fields.ForeignKeyRelation[DutyNote] = fields.ForeignKeyField(
        "models.DutyNote", related_name="files", on_delete=fields.CASCADE
    )
    note_id: int
    name = fields.CharField(max_length=120)
    content_type = fields.CharField(max_length=100)
    size = fields.IntField()
    data = fields.BinaryField()

    class Meta:
        table = "duty_file"
