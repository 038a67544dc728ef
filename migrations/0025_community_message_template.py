from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# What the official account's template message says of a 四单制 message when the customer-
# service window is closed (a short title, the moment, a short note), and which channel sent it.
# Rows written before this migration keep them empty: the sender takes them from the text.

class Migration(migrations.Migration):
    dependencies = [('models', '0024_volunteer_confirmed_at')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CommunityMessage',
            name='channel',
            field=fields.CharField(null=True, max_length=10),
        ),
        ops.AddField(
            model_name='CommunityMessage',
            name='moment',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='CommunityMessage',
            name='note',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='CommunityMessage',
            name='title',
            field=fields.CharField(null=True, max_length=20),
        ),
    ]
