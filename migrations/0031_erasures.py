from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

# 删除权: one record per member erased on request — who, when, why, counts; no personal data.

class Migration(migrations.Migration):
    dependencies = [('models', '0030_probationary_members')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Erasure',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member_id', fields.IntField(unique=True)),
                ('by_id', fields.IntField(null=True)),
                ('reason', fields.CharField(max_length=200)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('erased', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'erasure', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
