from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

# Members a community names to run its 双报到 business with its leaders.

class Migration(migrations.Migration):
    dependencies = [('models', '0025_community_message_template')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CommunityStaff',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='staff', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='community_roles', on_delete=OnDelete.CASCADE)),
                ('named_by_id', fields.IntField(null=True)),
                ('named_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'community_staff', 'app': 'models', 'unique_together': (('community', 'member'),), 'pk_attr': 'id', 'table_description': "A member the community's leaders named to run its 双报到 business with them (a 社区"},
            bases=['Model'],
        ),
    ]
