from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from server.models.meetings import Attendance, AttendeeRole, MeetingStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_submissions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Meeting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='meetings', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=20)),
                ('topic', fields.CharField(max_length=200)),
                ('place', fields.CharField(null=True, max_length=100)),
                ('starts_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('chair', fields.ForeignKeyField('models.Member', source_field='chair_id', null=True, db_constraint=True, to_field='id', related_name='chaired', on_delete=OnDelete.SET_NULL)),
                ('recorder', fields.ForeignKeyField('models.Member', source_field='recorder_id', null=True, db_constraint=True, to_field='id', related_name='recorded', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default=MeetingStatus.PLANNED, description='PLANNED: planned\nNOTIFIED: notified\nHELD: held\nCANCELLED: cancelled', enum_type=MeetingStatus, max_length=10)),
                ('created_by', fields.ForeignKeyField('models.Member', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='meetings_created', on_delete=OnDelete.SET_NULL)),
                ('minutes', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'meeting', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MeetingAttendee',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='attendees', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='attendances', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='attendances', on_delete=OnDelete.RESTRICT)),
                ('role', fields.CharEnumField(default=AttendeeRole.EXPECTED, description='EXPECTED: expected\nINVITED: invited', enum_type=AttendeeRole, max_length=10)),
                ('attendance', fields.CharEnumField(default=Attendance.UNKNOWN, description='UNKNOWN: unknown\nPRESENT: present\nLEAVE: leave\nABSENT: absent', enum_type=Attendance, max_length=10)),
                ('reason', fields.CharField(null=True, max_length=200)),
                ('signed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'meeting_attendee', 'app': 'models', 'unique_together': (('meeting', 'member'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MeetingChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.CASCADE)),
                ('by', fields.ForeignKeyField('models.Member', source_field='by_id', null=True, db_constraint=True, to_field='id', related_name='meeting_changes', on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=20)),
                ('detail', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'meeting_change', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Who changed what and when: scheduled, rescheduled, cancelled, corrected (补录).'},
            bases=['Model'],
        ),
    ]
