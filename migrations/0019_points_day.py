from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

# No backfill: a member's row for a day is made at their first award that day, from the day's
# entries so far (`services/points._day_row`).


class Migration(migrations.Migration):
    dependencies = [('models', '0018_notice_claimed')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PointsDay',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='points_days', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('points', fields.IntField(default=0)),
            ],
            options={'table': 'points_day', 'app': 'models', 'unique_together': (('member', 'day'),), 'pk_attr': 'id', 'table_description': "A member's points on one day, kept beside the entries so the daily cap holds at once."},
            bases=['Model'],
        ),
    ]
