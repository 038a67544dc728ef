from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.five_star import Stage
from tortoise.fields.base import OnDelete
from tortoise import fields

# 五星支部: each year's scheme and 公示, each branch's assessment, scores, adjustments, steps, objections.

class Migration(migrations.Migration):
    dependencies = [('models', '0032_member_stars')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StarCycle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('year', fields.IntField(unique=True)),
                ('scheme_text', fields.TextField(unique=False)),
                ('opened_by_id', fields.IntField(null=True)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('scheme_edited_by_id', fields.IntField(null=True)),
                ('scheme_edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('publicity_start', fields.DateField(null=True)),
                ('publicity_end', fields.DateField(null=True)),
                ('published_by_id', fields.IntField(null=True)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finalised_by_id', fields.IntField(null=True)),
                ('finalised_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'star_cycle', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BranchAssessment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('cycle', fields.ForeignKeyField('models.StarCycle', source_field='cycle_id', db_constraint=True, to_field='id', related_name='assessments', on_delete=OnDelete.RESTRICT)),
                ('branch', fields.ForeignKeyField('models.Organisation', source_field='branch_id', db_constraint=True, to_field='id', related_name='star_assessments', on_delete=OnDelete.RESTRICT)),
                ('stage', fields.CharEnumField(default=Stage.DRAFT, description='DRAFT: draft\nAPPLIED: applied\nGENERAL_REVIEWED: general_reviewed\nCOMMITTEE_REVIEWED: committee_reviewed\nDECIDED: decided\nPUBLICISED: publicised\nFINAL: final', enum_type=Stage, max_length=20)),
                ('applied_level', fields.IntField(null=True)),
                ('decided_level', fields.IntField(null=True)),
                ('meeting_on', fields.DateField(null=True)),
                ('meeting_ref', fields.CharField(default='', max_length=100)),
                ('decision_note', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'star_assessment', 'app': 'models', 'unique_together': (('cycle', 'branch'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AssessmentStep',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('assessment', fields.ForeignKeyField('models.BranchAssessment', source_field='assessment_id', db_constraint=True, to_field='id', related_name='steps', on_delete=OnDelete.CASCADE)),
                ('action', fields.CharField(max_length=20)),
                ('by_id', fields.IntField(null=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('note', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'star_step', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One step of the cycle: 自评, 申报, 党总支审核, 党工委审核, 会议决定, 公示, 确定.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ItemScore',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('assessment', fields.ForeignKeyField('models.BranchAssessment', source_field='assessment_id', db_constraint=True, to_field='id', related_name='scores', on_delete=OnDelete.CASCADE)),
                ('item', fields.CharField(max_length=40)),
                ('score', fields.IntField()),
                ('note', fields.CharField(default='', max_length=500)),
                ('photo', fields.CharField(null=True, max_length=200)),
                ('auto', fields.BooleanField(default=False)),
                ('figure', fields.CharField(default='', max_length=300)),
                ('by_id', fields.IntField(null=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'star_item_score', 'app': 'models', 'unique_together': (('assessment', 'item'),), 'pk_attr': 'id', 'table_description': "The branch's own score of one item: a self-score with a note (and, if it wants, a"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Objection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('assessment', fields.ForeignKeyField('models.BranchAssessment', source_field='assessment_id', db_constraint=True, to_field='id', related_name='objections', on_delete=OnDelete.CASCADE)),
                ('raised_by', fields.CharField(max_length=50)),
                ('text', fields.CharField(max_length=500)),
                ('recorded_by_id', fields.IntField(null=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answer', fields.CharField(null=True, max_length=500)),
                ('answered_by_id', fields.IntField(null=True)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'star_objection', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An objection raised during 公示, as staff received it, and their answer.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScoreAdjustment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('assessment', fields.ForeignKeyField('models.BranchAssessment', source_field='assessment_id', db_constraint=True, to_field='id', related_name='adjustments', on_delete=OnDelete.CASCADE)),
                ('item', fields.CharField(max_length=40)),
                ('reviewer', fields.CharField(max_length=10)),
                ('before', fields.IntField()),
                ('score', fields.IntField()),
                ('reason', fields.CharField(max_length=200)),
                ('by_id', fields.IntField(null=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'star_adjustment', 'app': 'models', 'pk_attr': 'id', 'table_description': "A reviewer's change of one item's score: never without a reason."},
            bases=['Model'],
        ),
    ]
