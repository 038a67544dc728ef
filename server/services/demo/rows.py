"""Writing the demo's rows in batches, and learning the ids of those that other rows point to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.fields import DatetimeField
from tortoise.models import Model

BATCH = 2000


async def insert(model: type[Model], rows: Sequence[Model]) -> int:
    # Moments are stored in UTC, as the server writes them: a bulk insert writes a local
    # moment as typed (+08:00), and SQLite compares the text of the two, not the instants.
    moments = [
        name for name, field in model._meta.fields_map.items() if isinstance(field, DatetimeField)
    ]
    for row in rows:
        for name in moments:
            value = getattr(row, name, None)
            if isinstance(value, datetime) and value.tzinfo is not None:
                setattr(row, name, value.astimezone(UTC))
    for start in range(0, len(rows), BATCH):
        await model.bulk_create(list(rows[start : start + BATCH]))
    return len(rows)


async def insert_with_ids(model: type[Model], rows: Sequence[Model]) -> int:
    """Insert, then set each row's id: new ids follow the order of the rows on both engines
    (one multi-row INSERT per batch, inside the seeding transaction)."""
    last = await model.all().order_by("-id").first().values_list("id", flat=True)
    await insert(model, rows)
    ids = await model.filter(id__gt=last or 0).order_by("id").values_list("id", flat=True)
    if len(ids) != len(rows):
        raise RuntimeError(f"{model.__name__}: wrote {len(rows)} rows, found {len(ids)}")
    for row, new_id in zip(rows, ids, strict=True):
        row.id = new_id
    return len(rows)


def at(day: date, clock: time, zone: ZoneInfo, minutes: int = 0) -> datetime:
    """A local moment on `day`, shifted by `minutes`, as an aware datetime."""
    return datetime.combine(day, clock, zone) + timedelta(minutes=minutes)
