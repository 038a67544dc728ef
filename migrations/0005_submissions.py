from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.study import SubmissionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_quizzes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Submission',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='submissions', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='submissions', on_delete=OnDelete.RESTRICT)),
                ('day', fields.DateField()),
                ('content', fields.TextField(unique=False)),
                ('length', fields.IntField()),
                ('digest', fields.CharField(max_length=64)),
                ('via', fields.CharField(default='text', max_length=10)),
                ('unit_id', fields.CharField(null=True, max_length=64)),
                ('status', fields.CharEnumField(default=SubmissionStatus.PENDING, db_index=True, description='PENDING: pending\nAPPROVED: approved\nRETURNED: returned', enum_type=SubmissionStatus, max_length=10)),
                ('resembles', fields.CharField(null=True, max_length=100)),
                ('similarity', fields.FloatField(null=True)),
                ('reviewer', fields.ForeignKeyField('models.Member', source_field='reviewer_id', null=True, db_constraint=True, to_field='id', related_name='reviews', on_delete=OnDelete.SET_NULL)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('return_reason', fields.CharField(null=True, max_length=200)),
                ('notified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'submission', 'app': 'models', 'unique_together': (('member', 'digest'),), 'pk_attr': 'id', 'table_description': 'A 心得体会: each one handed in is an experience exchange, reviewed by the branch.'},
            bases=['Model'],
        ),
    ]
