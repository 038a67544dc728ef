from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.meetings import AttendeeRole
from server.models.mobility import Direction, FlowReason, FlowStatus, LostStage
from server.models.people import MemberStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

# 流动党员 (流出, 流入), contacts, 党费 received, yearly reports, 失联 cases and 停止党籍; meetings' online part.
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0028_need_cancelled')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DuesPaid',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='dues_paid', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('through', fields.DateField()),
                ('amount', fields.DecimalField(null=True, max_digits=10, decimal_places=2)),
                ('by_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dues_paid', 'app': 'models', 'unique_together': (('member', 'through'),), 'pk_attr': 'id', 'table_description': '党费 received for a member, up to and including a month (交至): what the branch recorded.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LostCase',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='lost_cases', on_delete=OnDelete.CASCADE)),
                ('branch_id', fields.IntField()),
                ('stage', fields.CharEnumField(default=LostStage.SEARCHING, description='SEARCHING: searching\nRESTORED: restored\nSTOPPED: stopped\nCLOSED: closed', enum_type=LostStage, max_length=10)),
                ('current', fields.CharField(null=True, unique=True, max_length=40)),
                ('opened_on', fields.DateField()),
                ('opened_by_id', fields.IntField(null=True)),
                ('restored_on', fields.DateField(null=True)),
                ('handling', fields.CharField(default='', max_length=300)),
                ('stopped_on', fields.DateField(null=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', null=True, db_constraint=True, to_field='id', related_name='lost_cases', on_delete=OnDelete.SET_NULL)),
                ('decision', fields.CharField(default='', max_length=300)),
                ('removal_reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_on', fields.DateField(null=True)),
                ('closed_note', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'lost_case', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The search for a member out of contact (条例第二十四条), opened by the branch.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LostAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('models.LostCase', source_field='case_id', db_constraint=True, to_field='id', related_name='attempts', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('method', fields.CharField(max_length=10)),
                ('note', fields.CharField(max_length=300)),
                ('by_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'lost_attempt', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One dated attempt to find a member: by phone, through family, the former employer, an'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MobileContact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('channel', fields.CharField(max_length=10)),
                ('note', fields.CharField(max_length=500)),
                ('by_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mobile_contact', 'app': 'models', 'indexes': [Index(fields=['member_id', 'day'])], 'pk_attr': 'id', 'table_description': 'A contact with a member the branch keeps in touch with: when, how, what was said.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MobileMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', null=True, db_constraint=True, to_field='id', related_name='mobility', on_delete=OnDelete.CASCADE)),
                ('direction', fields.CharEnumField(description='OUT: out\nIN: in', enum_type=Direction, max_length=3)),
                ('branch', fields.ForeignKeyField('models.Organisation', source_field='branch_id', db_constraint=True, to_field='id', related_name='mobile_members', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=FlowStatus.ACTIVE, description='PENDING: pending\nACTIVE: active\nREFUSED: refused\nENDED: ended', enum_type=FlowStatus, max_length=8)),
                ('current', fields.CharField(null=True, unique=True, max_length=40)),
                ('since', fields.DateField()),
                ('place', fields.CharField(max_length=100)),
                ('reason', fields.CharEnumField(default=FlowReason.OTHER, description='WORK: 外出务工经商\nRESTRUCTURE: 单位改制\nGRADUATION: 毕业去向\nJOB_CHANGE: 工作单位改变\nABROAD: 出国（境）\nRESIDENCE: 居住地改变\nOTHER: 其他', enum_type=FlowReason, max_length=10)),
                ('reach', fields.CharField(default='', max_length=100)),
                ('other_org', fields.CharField(default='', max_length=100)),
                ('other_contact', fields.CharField(default='', max_length=100)),
                ('certificate', fields.CharField(default='', max_length=30)),
                ('keeper', fields.ForeignKeyField('models.Member', source_field='keeper_id', null=True, db_constraint=True, to_field='id', related_name='mobile_kept', on_delete=OnDelete.SET_NULL)),
                ('cadence_days', fields.IntField(null=True)),
                ('name', fields.CharField(default='', max_length=50)),
                ('phone', fields.CharField(null=True, max_length=11)),
                ('appid', fields.CharField(null=True, max_length=32)),
                ('openid', fields.CharField(null=True, max_length=64)),
                ('channel', fields.CharField(null=True, max_length=20)),
                ('decided_by_id', fields.IntField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('refuse_reason', fields.CharField(default='', max_length=200)),
                ('ended_on', fields.DateField(null=True)),
                ('end_note', fields.CharField(default='', max_length=200)),
                ('created_by_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'mobile_member', 'app': 'models', 'indexes': [Index(fields=['branch_id', 'status'])], 'pk_attr': 'id', 'table_description': "One spell of a member's being 流出 or 流入."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='YearlyReport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='yearly_reports', on_delete=OnDelete.CASCADE)),
                ('year', fields.IntField()),
                ('org_life', fields.CharField(max_length=300)),
                ('dues', fields.CharField(max_length=10)),
                ('dues_where', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'yearly_report', 'app': 'models', 'unique_together': (('member', 'year'),), 'pk_attr': 'id', 'table_description': "A 流出 member's yearly confirmation (年度报告): where they took part in 组织生活 and how"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Meeting',
            name='online',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AlterField(
            model_name='MeetingAttendee',
            name='role',
            field=fields.CharEnumField(default=AttendeeRole.EXPECTED, description='EXPECTED: expected\nINVITED: invited\nINCOMING: incoming', enum_type=AttendeeRole, max_length=10),
        ),
        ops.AddField(
            model_name='MeetingAttendee',
            name='mode',
            field=fields.CharField(null=True, max_length=10),
        ),
        ops.AlterField(
            model_name='Member',
            name='status',
            field=fields.CharEnumField(default=MemberStatus.ACTIVE, description='ACTIVE: active\nTRANSFERRED: transferred\nSTOPPED: stopped', enum_type=MemberStatus, max_length=20),
        ),
        ops.AddField(
            model_name='Member',
            name='incoming',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Submission',
            name='meeting_id',
            field=fields.IntField(null=True),
        ),
    ]
