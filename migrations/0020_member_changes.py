from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.people import MemberChangeKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0019_points_day')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='UNBIND: unbind\nLINK: link\nROLE: role\nTRANSFER: transfer', enum_type=MemberChangeKind, max_length=12)),
                ('actor_id', fields.IntField(null=True)),
                ('before', fields.CharField(default='', max_length=500)),
                ('after', fields.CharField(default='', max_length=500)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'member_change', 'app': 'models', 'pk_attr': 'id', 'table_description': "Who changed a member's bindings, role or organisation, when, and why."},
            bases=['Model'],
        ),
    ]
