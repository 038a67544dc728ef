from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.community import NeedStatus
from tortoise import fields

# A need whose order the community cancelled is 服务单已撤销, not 不予受理: a status of its own.

class Migration(migrations.Migration):
    dependencies = [('models', '0027_standing_posts')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Need',
            name='status',
            field=fields.CharEnumField(default=NeedStatus.NEW, description='NEW: new\nDISPATCHED: dispatched\nREFUSED: refused\nCANCELLED: cancelled', enum_type=NeedStatus, max_length=12),
        ),
    ]
