"""How fast is `import-members`?  Generates a roll as CSV and XLSX and times the import.

    /work/venv/bin/python bench/import_members.py [--rows 10000]

For each format, on a fresh SQLite database in a temporary directory:
  parse     `read_records` alone: reading and validating, no database (the baseline);
  import    parse + plan + write, every row new;
  re-import the same file again, every row unchanged (nothing written).
The write/parse ratio shows what the database side costs on top of reading the file.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from server.db import close_database, open_database
from server.services.demo.street import GIVEN_FEMALE, GIVEN_MALE, SURNAMES, build_demo
from server.services.people.importer import ImportReport, import_members, read_records

HEADER = ["姓名", "手机号", "性别", "出生日期", "学历", "入党日期", "所在组织", "党小组", "职务"]
TODAY = date(2024, 6, 1)


def roll(count: int, seed: int = 1) -> list[list[Any]]:
    """`count` synthetic members spread over the demo street's branches and groups."""
    rng = random.Random(seed)
    paths = build_demo(2023, TODAY).org_paths
    branches = [p for p in paths if p.endswith("党支部")]
    groups = {b: [p.rsplit("/", 1)[1] for p in paths if p.startswith(b + "/")] for b in branches}
    rows: list[list[Any]] = []
    for i in range(count):
        female = rng.random() < 0.18
        pool = GIVEN_FEMALE if female else GIVEN_MALE
        birth = date(1945, 1, 1) + timedelta(days=rng.randint(0, 55 * 365))
        joined = birth + timedelta(days=rng.randint(19 * 366, 30 * 365))
        branch = rng.choice(branches)
        rows.append(
            [
                rng.choice(SURNAMES) + rng.choice(pool) + rng.choice(pool),
                f"171{i:08d}",  # another obviously fake block, apart from the demo's 1700000
                "女" if female else "男",
                birth,
                rng.choice(("初中", "高中", "大专", "本科")),
                min(joined, TODAY - timedelta(days=1)),
                branch,
                rng.choice(groups[branch]) if groups[branch] else "",
                "党员",
            ]
        )
    return rows


def write_csv(path: Path, rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for row in rows:
            out.writerow([v.isoformat() if isinstance(v, date) else v for v in row])


def write_xlsx(path: Path, rows: list[list[Any]]) -> None:
    # A normal (not write-only) workbook stores text as shared strings, as Excel and WPS do.
    book = Workbook()
    sheet = book.worksheets[0]  # a new workbook's one sheet: its active one
    sheet.append(HEADER)
    for row in rows:
        # Phones as numbers and dates as date cells: what a hand-made roll usually holds.
        sheet.append([int(row[1]) if i == 1 else v for i, v in enumerate(row)])
    book.save(path)


async def timed(action: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await action()
    return time.perf_counter() - start, result


async def bench(path: Path, rows: int, workdir: Path) -> None:
    async def parse() -> Any:
        return await asyncio.to_thread(read_records, path, today=TODAY)

    parse_s, parsed = await timed(parse)
    assert not parsed.errors, parsed.errors[:3]
    await open_database(f"sqlite://{workdir}/{path.suffix[1:]}.sqlite3")
    try:
        import_s, first = await timed(lambda: import_members(path, today=TODAY))
        again_s, second = await timed(lambda: import_members(path, today=TODAY))
    finally:
        await close_database()
    check(first, created=rows)
    check(second, unchanged=rows)
    name = path.suffix[1:].upper()
    print(f"{name:4} parse      {parse_s:6.2f} s  {rows / parse_s:9,.0f} rows/s")
    print(
        f"{name:4} import     {import_s:6.2f} s  {rows / import_s:9,.0f} rows/s"
        f"  ({import_s / parse_s:.1f}× parse)"
    )
    print(
        f"{name:4} re-import  {again_s:6.2f} s  {rows / again_s:9,.0f} rows/s"
        f"  ({again_s / parse_s:.1f}× parse)"
    )


def check(report: ImportReport, **expected: int) -> None:
    for key, value in expected.items():
        assert getattr(report, key) == value, report.summary()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    rows = roll(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        write_csv(workdir / "roll.csv", rows)
        write_xlsx(workdir / "roll.xlsx", rows)
        print(f"{args.rows:,} rows, SQLite, {workdir}")
        for name in ("roll.csv", "roll.xlsx"):
            await bench(workdir / name, args.rows, workdir)


if __name__ == "__main__":
    asyncio.run(main())
