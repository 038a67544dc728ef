"""What the member's endpoints share: the points rules, the corpus by id, a unit's citation."""

from __future__ import annotations

import re
from typing import Any

from server.api.spec import Call
from server.services.study.points import PointsRules
from study_content.corpus import Unit

UNIT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")  # as study_content.corpus checks unit ids


def points_rules(call: Call[Any]) -> PointsRules:
    return call.deps.points_rules


def units_of(call: Call[Any]) -> dict[str, Unit]:
    return {unit.id: unit for unit in call.deps.corpus}


def unit_ref(unit: Unit) -> dict[str, Any]:
    return {"id": unit.id, "title": unit.title, "source": unit.source}
