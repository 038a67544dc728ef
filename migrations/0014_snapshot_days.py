from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0013_tally_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SnapshotDay',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(unique=True)),
                ('taken_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'snapshot_day', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A day whose snapshot rows are complete and current: reports may read them.'},
            bases=['Model'],
        ),
    ]
