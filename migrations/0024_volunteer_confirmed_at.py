from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# When a community first confirmed a 报到党员: a move to another community no longer erases it
# (and with it what past periods counted). Rows confirmed before this migration take the moment
# they were confirmed.

class Migration(migrations.Migration):
    dependencies = [('models', '0023_unit_contacts_and_messages')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Volunteer',
            name='confirmed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunSQL(
            "UPDATE volunteer SET confirmed_at = decided_at WHERE status = 'confirmed'",
        ),
    ]
