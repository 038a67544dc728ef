from tortoise import migrations
from tortoise.migrations import operations as ops
from server.models.people import Role
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_meeting_plan')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Member',
            name='role',
            field=fields.CharEnumField(default=Role.MEMBER, description='MEMBER: 党员\nGROUP_LEADER: 党小组长\nCOMMITTEE_MEMBER: 支委委员\nDEPUTY_SECRETARY: 支部副书记\nSECRETARY: 支部书记\nGENERAL_SECRETARY: 总支书记\nSTAFF: 党工委工作人员\nADMIN: 系统管理员', enum_type=Role, max_length=20),
        ),
    ]
