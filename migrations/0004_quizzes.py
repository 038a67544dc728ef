from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_unit_readings')]

    initial = False

    operations = [
        ops.CreateModel(
            name='QuizAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='quiz_attempts', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='quiz_attempts', on_delete=OnDelete.RESTRICT)),
                ('day', fields.DateField()),
                ('questions', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('score', fields.IntField(default=0)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'quiz_attempt', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One 答题 session of five questions. finished_at stays empty when it expired unfinished.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QuizAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('attempt', fields.ForeignKeyField('models.QuizAttempt', source_field='attempt_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='quiz_answers', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('unit_id', fields.CharField(max_length=64)),
                ('tag', fields.CharField(max_length=50)),
                ('correct', fields.BooleanField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'quiz_answer', 'app': 'models', 'unique_together': (('attempt', 'position'),), 'pk_attr': 'id', 'table_description': 'One answered question: what the weakest-topics-first choice learns from.'},
            bases=['Model'],
        ),
    ]
