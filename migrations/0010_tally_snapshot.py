from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_notice_claim')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TallySnapshot',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='snapshots', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField(db_index=True)),
                ('check_ins', fields.IntField(default=0)),
                ('readings', fields.IntField(default=0)),
                ('quizzes', fields.IntField(default=0)),
                ('lessons', fields.IntField(default=0)),
                ('members_studied', fields.IntField(default=0)),
                ('submitted', fields.IntField(default=0)),
                ('approved', fields.IntField(default=0)),
                ('returned', fields.IntField(default=0)),
                ('meetings', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('expected', fields.IntField(default=0)),
                ('present', fields.IntField(default=0)),
                ('leave', fields.IntField(default=0)),
                ('absent', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tally_snapshot', 'app': 'models', 'unique_together': (('organisation', 'day'),), 'pk_attr': 'id', 'table_description': 'One organisation, one day, written just after midnight (a re-run replaces it).'},
            bases=['Model'],
        ),
    ]
