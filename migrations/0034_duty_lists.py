from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.duty_lists import DutySource, NoteKind
from tortoise.fields.base import OnDelete
from tortoise import fields

# 五张清单: the committee's duty items, the organisations they concern, their notes and files.
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0033_five_star')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DutyItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('committee', fields.ForeignKeyField('models.Organisation', source_field='committee_id', db_constraint=True, to_field='id', related_name='duty_items', on_delete=OnDelete.RESTRICT)),
                ('year', fields.IntField()),
                ('source', fields.CharEnumField(default=DutySource.SELF, description='ABOVE: 上级部署\nINSPECTION: 巡察反馈\nSURVEY: 调研点评\nPEOPLE: 群众反映\nSELF: 自身查摆', enum_type=DutySource, max_length=10)),
                ('problem', fields.CharField(max_length=500)),
                ('task', fields.CharField(max_length=500)),
                ('measures', fields.CharField(max_length=1000)),
                ('deadline', fields.DateField()),
                ('owner', fields.ForeignKeyField('models.Member', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='duty_items', on_delete=OnDelete.SET_NULL)),
                ('owner_org', fields.ForeignKeyField('models.Organisation', source_field='owner_org_id', null=True, db_constraint=True, to_field='id', related_name='duty_items_owned', on_delete=OnDelete.SET_NULL)),
                ('completed_on', fields.DateField(null=True)),
                ('completed_by_id', fields.IntField(null=True)),
                ('carried_from', fields.OneToOneField('models.DutyItem', source_field='carried_from_id', null=True, db_constraint=True, to_field='id', related_name='carried_to', on_delete=OnDelete.SET_NULL)),
                ('created_by_id', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'duty_item', 'app': 'models', 'indexes': [Index(fields=['committee_id', 'year'])], 'pk_attr': 'id', 'table_description': "One item of a committee's year of 五张清单."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DutyLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('models.DutyItem', source_field='item_id', db_constraint=True, to_field='id', related_name='links', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.ForeignKeyField('models.Organisation', source_field='organisation_id', db_constraint=True, to_field='id', related_name='duty_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'duty_link', 'app': 'models', 'unique_together': (('item', 'organisation'),), 'pk_attr': 'id', 'table_description': 'An organisation (a 党总支, a branch) the item concerns: it reads the item, read-only.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DutyNote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('models.DutyItem', source_field='item_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='PROGRESS: 进展\nEVIDENCE: 佐证\nDONE: 完成\nREOPEN: 重新打开\nCARRIED: 结转\nEDIT: 修改', enum_type=NoteKind, max_length=10)),
                ('day', fields.DateField()),
                ('text', fields.CharField(max_length=1000)),
                ('link', fields.CharField(default='', max_length=500)),
                ('by_id', fields.IntField(null=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'duty_note', 'app': 'models', 'indexes': [Index(fields=['item_id', 'at'])], 'pk_attr': 'id', 'table_description': "A dated line of the item's record: progress, evidence (text, a link, perhaps a file),"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DutyFile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('note', fields.ForeignKeyField('models.DutyNote', source_field='note_id', db_constraint=True, to_field='id', related_name='files', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=120)),
                ('content_type', fields.CharField(max_length=100)),
                ('size', fields.IntField()),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'duty_file', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A file attached to an evidence note, kept in the database (so every process and every'},
            bases=['Model'],
        ),
    ]
