from tortoise import migrations
from tortoise.migrations import operations as ops
from decimal import Decimal
from server.models.member_stars import StarStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

# 星级党员: the branch's yearly ledger per member (evidence, suggestion, decided star or 免评), its
# logged decisions, and each branch's confirmed year.

class Migration(migrations.Migration):
    dependencies = [('models', '0031_erasures')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberStar',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('models.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='stars', on_delete=OnDelete.CASCADE)),
                ('branch', fields.ForeignKeyField('models.Organisation', source_field='branch_id', db_constraint=True, to_field='id', related_name='member_stars', on_delete=OnDelete.RESTRICT)),
                ('year', fields.IntField()),
                ('expected', fields.IntField(default=0)),
                ('present', fields.IntField(default=0)),
                ('leave', fields.IntField(default=0)),
                ('absent', fields.IntField(default=0)),
                ('submitted', fields.IntField(default=0)),
                ('approved', fields.IntField(default=0)),
                ('services', fields.IntField(default=0)),
                ('service_hours', fields.DecimalField(default=Decimal('0'), max_digits=6, decimal_places=1)),
                ('duties', fields.CharField(default='', max_length=300)),
                ('suggested', fields.IntField(default=2)),
                ('gathered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=StarStatus.PENDING, description='PENDING: pending\nRATED: rated\nEXEMPT: exempt', enum_type=StarStatus, max_length=10)),
                ('star', fields.IntField(null=True)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', null=True, db_constraint=True, to_field='id', related_name='stars_decided', on_delete=OnDelete.SET_NULL)),
                ('decided_by', fields.ForeignKeyField('models.Member', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='stars_set', on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_star', 'app': 'models', 'unique_together': (('member', 'year'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberStarChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('row', fields.ForeignKeyField('models.MemberStar', source_field='row_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.CASCADE)),
                ('by', fields.ForeignKeyField('models.Member', source_field='by_id', null=True, db_constraint=True, to_field='id', related_name='star_changes', on_delete=OnDelete.SET_NULL)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('before', fields.CharField(max_length=20)),
                ('after', fields.CharField(max_length=20)),
                ('reason', fields.CharField(default='', max_length=200)),
                ('suggested', fields.IntField()),
                ('after_final', fields.BooleanField(default=False)),
            ],
            options={'table': 'member_star_change', 'app': 'models', 'pk_attr': 'id', 'table_description': "One decision on one member's year: who, when, from what, to what, why."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StarYear',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('branch', fields.ForeignKeyField('models.Organisation', source_field='branch_id', db_constraint=True, to_field='id', related_name='star_years', on_delete=OnDelete.RESTRICT)),
                ('year', fields.IntField()),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', null=True, db_constraint=True, to_field='id', related_name='star_years', on_delete=OnDelete.SET_NULL)),
                ('confirmed_by', fields.ForeignKeyField('models.Member', source_field='confirmed_by_id', null=True, db_constraint=True, to_field='id', related_name='star_years_confirmed', on_delete=OnDelete.SET_NULL)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'star_year', 'app': 'models', 'unique_together': (('branch', 'year'),), 'pk_attr': 'id', 'table_description': "A branch's year of the ledger: confirmed once by the branch, then final."},
            bases=['Model'],
        ),
    ]
