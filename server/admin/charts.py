"""What the charts draw, embedded in the page as JSON (the template escapes it).

By month: organised study as bars and the attendance rate as a line — a line suits time.
By branch: organised study only, as horizontal bars sorted by value with every branch's name
on the axis; an attendance rate is no line across unrelated branches (it is in the table).
"""

from __future__ import annotations

from typing import Any

from server.services.tallies.report import TallyReport


def percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def by_month(report: TallyReport) -> dict[str, Any]:
    one_year = report.start.year == report.end.year
    return {
        "labels": [f"{row.start.month}月" if one_year else row.label for row in report.rows],
        "study": [row.organised_study for row in report.rows],
        "attendance": [percent(row.attendance_rate) for row in report.rows],
    }


def by_branch(report: TallyReport) -> dict[str, Any]:
    rows = [row for row in report.rows if row.org_id is not None]
    ranked = sorted(rows, key=lambda row: -row.organised_study)  # stable: ties keep their order
    return {
        "labels": [row.label for row in ranked],
        "study": [row.organised_study for row in ranked],
    }
