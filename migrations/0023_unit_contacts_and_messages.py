from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.community import MessageStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

# The 报到单位 contacts who receive the quarterly 联系卡, and the outbox of the 四单制's messages.

class Migration(migrations.Migration):
    dependencies = [('models', '0022_community_service')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CommunityMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=120)),
                ('kind', fields.CharField(max_length=30)),
                ('appid', fields.CharField(max_length=32)),
                ('openid', fields.CharField(max_length=64)),
                ('text', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=MessageStatus.PENDING, description='PENDING: pending\nCLAIMED: claimed\nSENDING: sending\nSENT: sent\nUNREACHABLE: unreachable\nUNCERTAIN: uncertain', enum_type=MessageStatus, max_length=12)),
                ('not_before', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claim', fields.CharField(null=True, max_length=32)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('error', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'community_message', 'app': 'models', 'pk_attr': 'id', 'table_description': "The outbox of the 四单制's messages (a need to the community, an order to the members it"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UnitContact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('models.ReportUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(default='', max_length=50)),
                ('appid', fields.CharField(max_length=32)),
                ('openid', fields.CharField(max_length=64)),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'unit_contact', 'app': 'models', 'unique_together': (('appid', 'openid'),), 'pk_attr': 'id', 'table_description': "A 报到单位's contact person, known by the WeChat user who proved it with the unit's"},
            bases=['Model'],
        ),
    ]
