from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_tally_snapshot')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PlannedMeeting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='plan', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=20)),
                ('period_start', fields.DateField()),
                ('period_end', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'planned_meeting', 'app': 'models', 'unique_together': (('organisation', 'kind', 'period_start'),), 'pk_attr': 'id', 'table_description': 'The yearly calendar from the rules: a meeting due in a period, not yet given a time.'},
            bases=['Model'],
        ),
    ]
