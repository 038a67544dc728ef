"""The staff's forms on the 社区服务 page: a 报到单位 registered by hand, or a spreadsheet of them
(`unit_import`, all or nothing: one bad row writes nothing, and every problem is listed with
its row and column under the upload).  A 总支书记 runs her community but registers no units.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiohttp import web

from server.admin.community_actions import Step, run
from server.admin.community_forms import STAFF_ONLY, is_staff, one_of, text
from server.errors import PermissionDenied, ValidationFailed
from server.models.community import Community
from server.services.community import unit_import, units
from server.services.people.roster.report import RowError


class Problems(ValidationFailed):
    """A spreadsheet with rows to correct: the page lists them (`errors`) under the upload."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"表格中有 {len(errors)} 处问题，未导入任何单位。", field="file")
        self.errors = errors


def _staff_desk(step: Step) -> Community:
    step.community = one_of(step.mine, step.form.get("c"))
    if not is_staff(step.member):
        raise PermissionDenied(STAFF_ONLY)
    return step.community


async def _register_unit(step: Step) -> str:
    _staff_desk(step)
    paired = [one_of(step.mine, c) for c in dict.fromkeys(step.form.getall("communities", []))]
    contact = text(step.form, "contact_name")
    if len(contact) > 50:
        raise ValidationFailed("联系人不能超过50字。", field="contact_name")
    unit = await units.register_unit(
        text(step.form, "name"),
        kind=text(step.form, "kind"),
        contact_name=contact,
        contact_phone=text(step.form, "contact_phone"),
        communities=paired,
    )
    return f"已登记{unit.name}，报到码 {unit.code}。"


async def _import_units(step: Step) -> str:
    _staff_desk(step)
    upload = step.form.get("file")
    if not isinstance(upload, web.FileField) or not upload.filename:
        raise ValidationFailed("请选择要导入的表格文件（.xlsx）。", field="file")
    suffix = Path(upload.filename).suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"units{suffix}"
        path.write_bytes(upload.file.read())
        checked = await unit_import.read_units(path)
        ids = {c.id for c in step.mine}
        errors = checked.errors + [
            RowError(row.line, unit_import.COMMUNITIES, f"{c.name}不是您负责的社区。")
            for row in checked.rows
            for c in row.communities
            if c.id not in ids
        ]
        if errors:
            raise Problems(sorted(errors, key=lambda e: e.line))
        result = await unit_import.import_units(path)  # checked again, then all or nothing
    if result.errors:
        raise Problems(result.errors)
    return f"已导入 {len(result.created)} 个报到单位，报到码见下表。"


async def register_unit(request: web.Request) -> web.Response:
    return await run(request, _register_unit, "units")


async def import_units(request: web.Request) -> web.Response:
    return await run(request, _import_units, "units")
