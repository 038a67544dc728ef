from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_notices')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Notice',
            name='claim',
            field=fields.CharField(null=True, db_index=True, max_length=16),
        ),
    ]
