from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_meetings')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Meeting',
            name='signin_secret',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
