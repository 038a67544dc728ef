"""The member roll (花名册): importing it from CSV or XLSX, and the upsert `seed-demo` shares.

Three phases, so a bad file never leaves half its rows behind:

1. `read_records` (reading.py) parses and validates every row without touching the database.
   Every bad cell is collected, not just the first.
2. `plan_upsert` (plan.py) compares the rows with the database inside one transaction.
3. `apply_upsert` (write.py) writes — only when no row anywhere was bad and this is not a dry run.

`import_members` (command.py) runs the three; `seed-demo` reuses phases 2 and 3 with generated
records.  A member marked 流动党员 gets the branch's 流出 record in the same transaction
(mobile.py: planned with phase 2, written after phase 3 by the import alone).  Below them:
table.py opens the file, columns.py finds the header, fields.py and dates.py parse single
cells, records.py turns a row into a `MemberRecord`.
"""

from server.services.people.roster.batches import BATCH, PHONE_CHUNK
from server.services.people.roster.columns import COLUMNS, Column
from server.services.people.roster.command import import_members
from server.services.people.roster.dates import DATE_FORMATS, add_years, parse_date
from server.services.people.roster.fields import (
    parse_gender,
    parse_name,
    parse_org,
    parse_phone,
    parse_role,
    parse_status,
    parse_yes_no,
)
from server.services.people.roster.plan import UpsertPlan, plan_upsert
from server.services.people.roster.reading import ParsedFile, read_records
from server.services.people.roster.records import OPTIONAL_FIELDS, MemberRecord
from server.services.people.roster.report import ROW_FIELD, ImportReport, RowError
from server.services.people.roster.write import apply_upsert

__all__ = [
    "BATCH",
    "COLUMNS",
    "DATE_FORMATS",
    "OPTIONAL_FIELDS",
    "PHONE_CHUNK",
    "ROW_FIELD",
    "Column",
    "ImportReport",
    "MemberRecord",
    "ParsedFile",
    "RowError",
    "UpsertPlan",
    "add_years",
    "apply_upsert",
    "import_members",
    "parse_date",
    "parse_gender",
    "parse_name",
    "parse_org",
    "parse_phone",
    "parse_role",
    "parse_status",
    "parse_yes_no",
    "plan_upsert",
    "read_records",
]
