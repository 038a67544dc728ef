from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Periodic runs recorded per period (run once by whichever process leads), and the messages
# they sent, so a rerun after a crash never sends one twice.

class Migration(migrations.Migration):
    dependencies = [('models', '0020_member_changes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='JobRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job', fields.CharField(max_length=40)),
                ('period_key', fields.CharField(max_length=40)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('owner', fields.CharField(max_length=64)),
                ('attempts', fields.IntField(default=1)),
            ],
            options={'table': 'job_run', 'app': 'models', 'unique_together': (('job', 'period_key'),), 'pk_attr': 'id', 'table_description': "One job's run for one period: started, and finished once every batch went out."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='JobSend',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job', fields.CharField(max_length=40)),
                ('period_key', fields.CharField(max_length=40)),
                ('target', fields.CharField(max_length=64)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'job_send', 'app': 'models', 'unique_together': (('job', 'period_key', 'target'),), 'pk_attr': 'id', 'table_description': "One message of one period's run, claimed before it is sent (never sent twice)."},
            bases=['Model'],
        ),
    ]
