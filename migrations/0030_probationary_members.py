from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# 预备党员: no vote until 转正, so a 支部党员大会's quorum for a vote leaves them out.

class Migration(migrations.Migration):
    dependencies = [('models', '0029_mobile_members')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='probationary',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
