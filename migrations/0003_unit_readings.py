from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_check_ins_and_points')]

    initial = False

    operations = [
        ops.CreateModel(
            name='UnitReading',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='readings', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='readings', on_delete=OnDelete.RESTRICT)),
                ('unit_id', fields.CharField(max_length=64)),
                ('day', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'unit_reading', 'app': 'models', 'unique_together': (('member', 'unit_id', 'day'),), 'pk_attr': 'id', 'table_description': 'A member read a study unit: once per unit per day, each one a study person-time.'},
            bases=['Model'],
        ),
    ]
