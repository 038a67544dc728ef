from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.notices import NoticeStatus
from tortoise import fields

# A new notice state, `claimed` (taken by a sender, no call made yet): only the column's
# description changes; rows left `sending` by the previous code stay never-resent.

class Migration(migrations.Migration):
    dependencies = [('models', '0017_bind_codes')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Notice',
            name='status',
            field=fields.CharEnumField(default=NoticeStatus.PENDING, db_index=True, description='PENDING: pending\nCLAIMED: claimed\nSENDING: sending\nSENT: sent\nUNREACHABLE: unreachable\nFAILED: failed\nMISSED: missed\nVOID: void\nUNCERTAIN: uncertain', enum_type=NoticeStatus, max_length=12),
        ),
    ]
