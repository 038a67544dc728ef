from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_counting_rules')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BindCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='bind_codes', on_delete=OnDelete.CASCADE)),
                ('issued_by_id', fields.IntField(null=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'bind_code', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A one-time bind code issued to one member: the SHA-256 of the code, never the code.'},
            bases=['Model'],
        ),
    ]
