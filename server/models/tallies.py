"""The daily tally snapshot: what staff reports read, so a year's view does not scan a year."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.people import Organisation


class TallySnapshot(Model):
    """One organisation, one day, written just after midnight (a re-run replaces it).

    Counts are of events attributed to this organisation itself, by its members at the time.
    A subtree is the sum of its own rows and its descendants. Distinct members add up across
    organisations within a day, but not across days.
    """

    id = fields.IntField(primary_key=True)
    organisation: fields.ForeignKeyRelation[Organisation] = fields.ForeignKeyField(
        "models.Organisation", related_name="snapshots", on_delete=fields.CASCADE
    )
    organisation_id: int
    day = fields.DateField(db_index=True)
    check_ins = fields.IntField(default=0)
    lessons = fields.IntField(default=0)  # organised study: present at a held study meeting
    self_study = fields.IntField(default=0)  # members with a 自学 that day (once each)
    members_studied = fields.IntField(default=0)
    submitted = fields.IntField(default=0)
    approved = fields.IntField(default=0)
    returned = fields.IntField(default=0)
    meetings: fields.JSONField[dict[str, int]] = fields.JSONField(default=dict)  # held, by type
    expected = fields.IntField(default=0)
    present = fields.IntField(default=0)
    leave = fields.IntField(default=0)
    absent = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tally_snapshot"
        unique_together = (("organisation", "day"),)


class SnapshotDay(Model):
    """A day whose snapshot rows are complete and current: reports may read them.

    Taking the snapshot writes this row. A later change to that day (a 心得 reviewed, an
    attendance corrected, a quiz finished after midnight) deletes it, so reports count the
    day live from the events until the nightly job takes it again.
    """

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    taken_at = fields.DatetimeField()

    class Meta:
        table = "snapshot_day"
