from tortoise import migrations
from tortoise.migrations import operations as ops
from decimal import Decimal
from server.models.community import ClaimStatus, NeedStatus, OrderStatus, VolunteerStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

# 党员双报到 and the 四单制: communities, 报到单位 and their members, residents, needs, service
# orders, claims and the timeline of every step.

class Migration(migrations.Migration):
    dependencies = [('models', '0021_job_runs')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Community',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organisation', fields.OneToOneField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='community', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(unique=True, max_length=50)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'community', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A 村（社区） that takes part: its Party organisation (the 社区党总支 or 党支部).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportUnit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('kind', fields.CharField(default='', max_length=30)),
                ('contact_name', fields.CharField(default='', max_length=50)),
                ('contact_phone', fields.CharField(default='', max_length=11)),
                ('code', fields.CharField(unique=True, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'report_unit', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A 报到单位: a unit Party organisation outside the street, paired with communities.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Resident',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=50)),
                ('phone', fields.CharField(max_length=11)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='residents', on_delete=OnDelete.RESTRICT)),
                ('place', fields.CharField(default='', max_length=100)),
                ('appid', fields.CharField(max_length=32)),
                ('openid', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'resident', 'app': 'models', 'unique_together': (('appid', 'openid'),), 'pk_attr': 'id', 'table_description': 'A resident who posts needs, known by the WeChat user who registered.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Need',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='needs', on_delete=OnDelete.RESTRICT)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='needs', on_delete=OnDelete.RESTRICT)),
                ('text', fields.CharField(max_length=500)),
                ('media_id', fields.CharField(null=True, max_length=128)),
                ('status', fields.CharEnumField(default=NeedStatus.NEW, description='NEW: new\nDISPATCHED: dispatched\nREFUSED: refused', enum_type=NeedStatus, max_length=12)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by_id', fields.IntField(null=True)),
            ],
            options={'table': 'need', 'app': 'models', 'pk_attr': 'id', 'table_description': '居民点单: what a resident asked for, in their words.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServiceEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('need_id', fields.IntField(null=True, db_index=True)),
                ('order_id', fields.IntField(null=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(max_length=60)),
                ('action', fields.CharField(max_length=20)),
                ('note', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'service_event', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One step of a need or an order: who did what, when.  Never updated.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServiceOrder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('need', fields.OneToOneField('models.Need', source_field='need_id', null=True, db_constraint=True, to_field='id', related_name='order', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=20)),
                ('title', fields.CharField(max_length=200)),
                ('place', fields.CharField(default='', max_length=100)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expected_hours', fields.DecimalField(default=Decimal('1'), max_digits=5, decimal_places=1)),
                ('capacity', fields.IntField(default=1)),
                ('taken', fields.IntField(default=0)),
                ('unit', fields.ForeignKeyField('models.ReportUnit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=OrderStatus.OPEN, description='OPEN: open\nCOMPLETED: completed\nCANCELLED: cancelled', enum_type=OrderStatus, max_length=12)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('created_by_id', fields.IntField(null=True)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('completed_by_id', fields.IntField(null=True)),
                ('rating', fields.IntField(null=True)),
                ('rating_note', fields.CharField(default='', max_length=300)),
                ('rated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'service_order', 'app': 'models', 'pk_attr': 'id', 'table_description': "社区下单: a service order members claim, from a resident's need or the community's own"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UnitCommunity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('models.ReportUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='pairings', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='pairings', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'unit_community', 'app': 'models', 'unique_together': (('unit', 'community'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Volunteer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=50)),
                ('phone', fields.CharField(unique=True, max_length=11)),
                ('unit', fields.ForeignKeyField('models.ReportUnit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name='volunteers', on_delete=OnDelete.RESTRICT)),
                ('member', fields.OneToOneField('models.Member', source_field='member_id', null=True, db_constraint=True, to_field='id', related_name='volunteer', on_delete=OnDelete.CASCADE)),
                ('community', fields.ForeignKeyField('models.Community', source_field='community_id', db_constraint=True, to_field='id', related_name='volunteers', on_delete=OnDelete.RESTRICT)),
                ('grid', fields.CharField(default='', max_length=50)),
                ('skills', fields.CharField(default='', max_length=200)),
                ('status', fields.CharEnumField(default=VolunteerStatus.PENDING, description='PENDING: pending\nCONFIRMED: confirmed\nREFUSED: refused', enum_type=VolunteerStatus, max_length=12)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('appid', fields.CharField(null=True, max_length=32)),
                ('openid', fields.CharField(null=True, max_length=64)),
                ('registered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by_id', fields.IntField(null=True)),
            ],
            options={'table': 'volunteer', 'app': 'models', 'unique_together': (('appid', 'openid'),), 'pk_attr': 'id', 'table_description': 'A 报到党员: an in-service member of a 报到单位, or a street member, reported to the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderClaim',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.ServiceOrder', source_field='order_id', db_constraint=True, to_field='id', related_name='claims', on_delete=OnDelete.CASCADE)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='claims', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=ClaimStatus.CLAIMED, description='CLAIMED: claimed\nWITHDRAWN: withdrawn\nDONE: done', enum_type=ClaimStatus, max_length=12)),
                ('claimed_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('note', fields.CharField(default='', max_length=300)),
                ('hours', fields.DecimalField(null=True, max_digits=5, decimal_places=1)),
            ],
            options={'table': 'order_claim', 'app': 'models', 'unique_together': (('order', 'volunteer'),), 'pk_attr': 'id', 'table_description': "One member's claim of one order (接单), and what they reported of the work."},
            bases=['Model'],
        ),
    ]
