"""Communities taking part, 报到单位 and their 报到码.

A 报到码 is public (printed on the unit's notice to its members), so it only says which unit a
member reports from; the community still confirms every member before they can claim orders.
"""

from __future__ import annotations

import re
import secrets

from tortoise.transactions import in_transaction

from server.errors import Conflict, NotFound, ValidationFailed
from server.models.community import Community, ReportUnit, UnitCommunity
from server.models.people import Organisation, OrgKind

# Six characters without 0/O or 1/I/L, starting with a letter: `报到 K7M4Q9 张三 139…`.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_SHAPE = re.compile(r"[A-HJ-NP-Z][2-9A-HJ-NP-Z]{5}")
UNIT_KINDS = ("区直机关", "驻区企事业单位", "学校", "医院", "非公企业", "社会组织", "其他")
PHONE = re.compile(r"1\d{10}")


def new_code() -> str:
    return secrets.choice(_LETTERS) + "".join(secrets.choice(_ALPHABET) for _ in range(5))


def normalise_code(text: str) -> str | None:
    compact = re.sub(r"[\s\-_]", "", text).upper()
    return compact if CODE_SHAPE.fullmatch(compact) else None


def check_phone(phone: str, field: str = "phone") -> str:
    phone = re.sub(r"[\s\-]", "", phone).removeprefix("+86")
    if not PHONE.fullmatch(phone):
        raise ValidationFailed("手机号应为以1开头的11位数字。", field=field)
    return phone


def check_name(name: str, field: str = "name", longest: int = 50) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("请写上名称。", field=field)
    if len(name) > longest:
        raise ValidationFailed(f"名称不能超过{longest}字。", field=field)
    return name


async def add_community(organisation: Organisation, name: str | None = None) -> Community:
    """Make a 村（社区）'s Party organisation take part (once: again is the same community)."""
    if organisation.kind not in (OrgKind.GENERAL_BRANCH, OrgKind.BRANCH):
        raise ValidationFailed("社区应为社区党总支或党支部。", field="organisation")
    name = check_name(name or community_name(organisation.name), "name")
    existing = await Community.get_or_none(organisation_id=organisation.id)
    if existing is not None:
        return existing
    if await Community.exists(name=name):
        raise Conflict(f"已有名为「{name}」的社区。", field="name")
    return await Community.create(organisation=organisation, name=name)


def community_name(org_name: str) -> str:
    """红星村党总支 → 红星村; 青山社区党支部 → 青山社区."""
    for suffix in ("党总支部委员会", "党总支", "党支部委员会", "党支部", "党委"):
        if org_name.endswith(suffix) and len(org_name) > len(suffix):
            return org_name[: -len(suffix)]
    return org_name


async def community_named(name: str) -> Community:
    name = name.strip()
    found = await Community.get_or_none(name=name)
    if found is None and name:
        # 红星 for 红星村, 青山 for 青山社区: a resident need not type the suffix.
        candidates = await Community.filter(name__startswith=name)
        if len(candidates) == 1:
            found = candidates[0]
    if found is None:
        names = "、".join(c.name for c in await Community.all().order_by("name"))
        raise NotFound(f"没有找到社区「{name[:20]}」。可选：{names}", field="community")
    return found


async def register_unit(
    name: str,
    *,
    kind: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    communities: list[Community],
) -> ReportUnit:
    """A 报到单位 with a fresh 报到码, paired with `communities` (at least one)."""
    name = check_name(name, "name", 100)
    if kind and kind not in UNIT_KINDS:
        raise ValidationFailed(f"单位类别应为：{'、'.join(UNIT_KINDS)}。", field="kind")
    if contact_phone:
        contact_phone = check_phone(contact_phone, "contact_phone")
    if not communities:
        raise ValidationFailed("请至少选择一个结对社区。", field="communities")
    if await ReportUnit.exists(name=name):
        raise Conflict(f"报到单位「{name}」已登记。", field="name")
    async with in_transaction() as conn:
        code = new_code()
        while await ReportUnit.exists(code=code):
            code = new_code()
        unit = await ReportUnit.create(
            name=name,
            kind=kind,
            contact_name=contact_name.strip()[:50],
            contact_phone=contact_phone,
            code=code,
            using_db=conn,
        )
        for community in communities:
            await UnitCommunity.get_or_create(unit=unit, community=community, using_db=conn)
    return unit


async def unit_by_code(text: str) -> ReportUnit:
    code = normalise_code(text)
    unit = await ReportUnit.get_or_none(code=code) if code else None
    if unit is None:
        raise NotFound("报到码不对，请向所在单位党组织核对。", field="code")
    return unit


async def paired_communities(unit: ReportUnit) -> list[Community]:
    ids = await UnitCommunity.filter(unit=unit).values_list("community_id", flat=True)
    return await Community.filter(id__in=list(ids)).order_by("name")
