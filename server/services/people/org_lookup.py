"""An organisation as someone at a terminal names it: its id, its full path, or its name.

`dangjian ledger --branch` and `dangjian tally --org` both take any of the three; a name is
enough when only one organisation has it, else the answer lists the candidates to choose from.
"""

from __future__ import annotations

from server.errors import ValidationFailed
from server.models.people import Organisation

ID_MAX = 2_147_483_647
CANDIDATES_SHOWN = 5


async def organisation_named(given: str, argument: str) -> Organisation:
    """The one organisation `given` names; else a ValidationFailed naming `argument`."""
    text = given.strip()
    if not text:
        raise ValidationFailed("请给出组织的 id、完整路径或名称。", field=argument)
    if text.isdigit() and int(text) <= ID_MAX:
        found = await Organisation.get_or_none(id=int(text))
        if found is not None:
            return found
    found = await Organisation.get_or_none(path=text.strip("/"))
    if found is not None:
        return found
    named = await Organisation.filter(name=text).order_by("path").limit(CANDIDATES_SHOWN + 1)
    if len(named) == 1:
        return named[0]
    if named:
        listed = "；".join(f"{o.id} {o.path}" for o in named[:CANDIDATES_SHOWN])
        more = "……" if len(named) > CANDIDATES_SHOWN else ""
        raise ValidationFailed(
            f"有多个组织名为“{text}”，请改用 id 或完整路径：{listed}{more}", field=argument
        )
    raise ValidationFailed(f"没有 id、完整路径或名称为“{text}”的组织。", field=argument)
