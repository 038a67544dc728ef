from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_admin_role')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='CheckIn',
            index=Index(fields=['day', 'organisation_id']),
        ),
        ops.AddIndex(
            model_name='MeetingAttendee',
            index=Index(fields=['organisation_id', 'member_id', 'attendance', 'role', 'meeting_id']),
        ),
        ops.AddIndex(
            model_name='QuizAttempt',
            index=Index(fields=['day', 'organisation_id']),
        ),
        ops.AddIndex(
            model_name='QuizAttempt',
            index=Index(fields=['organisation_id', 'member_id', 'day']),
        ),
        ops.AddIndex(
            model_name='Submission',
            index=Index(fields=['day', 'organisation_id']),
        ),
        ops.AddIndex(
            model_name='UnitReading',
            index=Index(fields=['day', 'organisation_id']),
        ),
        ops.AddIndex(
            model_name='UnitReading',
            index=Index(fields=['organisation_id', 'member_id', 'day']),
        ),
    ]
