from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.community import HolderStatus, PostStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

# Standing posts a community publishes (先锋岗, 楼栋长) and the members holding them.

class Migration(migrations.Migration):
    dependencies = [('models', '0026_community_staff')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StandingPost',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='posts', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=10)),
                ('title', fields.CharField(max_length=100)),
                ('duty', fields.CharField(default='', max_length=300)),
                ('places', fields.IntField(default=1)),
                ('taken', fields.IntField(default=0)),
                ('starts_on', fields.DateField()),
                ('ends_on', fields.DateField(null=True)),
                ('status', fields.CharEnumField(default=PostStatus.OPEN, description='OPEN: open\nCLOSED: closed', enum_type=PostStatus, max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by_id', fields.IntField(null=True)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'standing_post', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A standing post a community publishes (a 先锋岗, a 楼栋长): a role reported members take on'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PostHolder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('models.StandingPost', source_field='post_id', db_constraint=True, to_field='id', related_name='holders', on_delete=OnDelete.CASCADE)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='posts_held', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=HolderStatus.HOLDING, description='HOLDING: holding\nLEFT: left', enum_type=HolderStatus, max_length=12)),
                ('since', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('left_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'post_holder', 'app': 'models', 'unique_together': (('post', 'volunteer'),), 'pk_attr': 'id', 'table_description': 'One member holding (or having held) one standing post: 认岗, 退岗.'},
            bases=['Model'],
        ),
    ]
