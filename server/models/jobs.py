"""What the periodic jobs have done, in the database, so no leader change or downtime loses a run.

A `JobRun` row is a period's run of one job (the compliance check of 2026-12, the digest of the
week starting 2026-11-30): whoever leads when it is due, or first leads after, runs it once.  A
`JobSend` row is one message a run sent, claimed before the send, so a rerun of a period that
crashed midway never tells anyone twice (at most once: a send lost with its claim is not retried).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class JobRun(Model):
    """One job's run for one period: started, and finished once every batch went out."""

    id = fields.IntField(primary_key=True)
    job = fields.CharField(max_length=40)
    period_key = fields.CharField(max_length=40)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    # The leader's token that last took the run: a run left unfinished by a token no longer
    # leading is taken over; one left by our own token (it raised) is retried up to `attempts`.
    owner = fields.CharField(max_length=64)
    attempts = fields.IntField(default=1)

    class Meta:
        table = "job_run"
        unique_together = (("job", "period_key"),)


class JobSend(Model):
    """One message of one period's run, claimed before it is sent (never sent twice)."""

    id = fields.IntField(primary_key=True)
    job = fields.CharField(max_length=40)
    period_key = fields.CharField(max_length=40)
    target = fields.CharField(max_length=64)
    sent_at = fields.DatetimeField()

    class Meta:
        table = "job_send"
        unique_together = (("job", "period_key", "target"),)
