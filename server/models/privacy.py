"""What was erased on request (个人信息保护法第四十七条): who asked it done, when, why, and how
many rows of each kind were changed — never what they held.

One row per member, unique: a second erasure of the same member is refused by the database
itself, whatever two staff do at once.  The member's own row stays (anonymised), since the
events counted upward keep pointing at it; `member_id` is a plain number all the same, so this
record outlives anything done to that row later.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Erasure(Model):
    id = fields.IntField(primary_key=True)
    member_id = fields.IntField(unique=True)
    # Who erased (a 党工委工作人员 or 系统管理员); None: the server's operator at the command line.
    by_id = fields.IntField(null=True)
    reason = fields.CharField(max_length=200)
    at = fields.DatetimeField()
    # Rows changed or removed, by kind ("submissions": 3): what was done, not what was there.
    erased: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "erasure"
