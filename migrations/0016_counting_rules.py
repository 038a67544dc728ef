from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.meetings import Attendance
from tortoise import fields
from tortoise.indexes import Index

# Hand-written beside the generated operations: the data the new counting rules need.
#
# - Deeds are counted for the member's 党小组 when they have one (`models.counted_in`): past
#   rows counted for a branch move to the member's group when that group is in the branch.
# - Organised study is a flag on the meeting: the study types, or an agenda of study.
# - Readings before this change cannot tell a full reading from a digest skimmed past, so they
#   stay `read_full = false` and count as no 自学 (a figure reported upward must not be inflated).
# - Every day's snapshot is counted again by the new rules (reports count live until then).
_EVENTS = (
    "check_in", "unit_reading", "quiz_attempt", "submission", "points_entry", "meeting_attendee",
)
_TO_GROUP = [
    f"UPDATE {table} SET organisation_id = (SELECT m.group_id FROM member m"
    f" WHERE m.id = {table}.member_id) WHERE EXISTS (SELECT 1 FROM member m"
    f" JOIN organisation g ON g.id = m.group_id WHERE m.id = {table}.member_id"
    f" AND g.parent_id = {table}.organisation_id)"
    for table in _EVENTS
]
_STUDY = (
    "UPDATE meeting SET study = TRUE"
    " WHERE kind IN ('党课', '主题党日', '集中学习') OR topic LIKE '%学习%'"
)
_RECOUNT = ["DELETE FROM snapshot_day", "DELETE FROM tally_snapshot"]


class Migration(migrations.Migration):
    dependencies = [('models', '0015_admin_links')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Meeting',
            name='speaker',
            field=fields.CharField(null=True, max_length=50),
        ),
        ops.AddField(
            model_name='Meeting',
            name='study',
            field=fields.BooleanField(default=False),
        ),
        ops.AlterField(
            model_name='MeetingAttendee',
            name='attendance',
            field=fields.CharEnumField(default=Attendance.UNKNOWN, description='UNKNOWN: unknown\nPRESENT: present\nREQUESTED: requested\nLEAVE: leave\nABSENT: absent', enum_type=Attendance, max_length=10),
        ),
        ops.RemoveField(model_name='TallySnapshot', name='readings'),
        ops.RemoveField(model_name='TallySnapshot', name='quizzes'),
        ops.AddField(
            model_name='TallySnapshot',
            name='self_study',
            field=fields.IntField(default=0),
        ),
        ops.AlterModelOptions(
            name='UnitReading',
            options={'table': 'unit_reading', 'app': 'models', 'unique_together': (('member', 'unit_id', 'day'),), 'indexes': [Index(fields=['day', 'organisation_id']), Index(fields=['organisation_id', 'member_id', 'day'])], 'pk_attr': 'id', 'table_description': 'A member opened a study unit: one row per unit per day.'},
        ),
        ops.AddField(
            model_name='UnitReading',
            name='read_full',
            field=fields.BooleanField(default=False),
        ),
        ops.RunSQL([*_TO_GROUP, _STUDY, *_RECOUNT]),
    ]
