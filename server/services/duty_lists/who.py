"""Who may do what with the 五张清单.

- The committee's staff (党工委工作人员, and an admin), within their scope: everything — make
  and edit items, declare one done or reopen it, carry a year over, add notes.
- The 责任人: the member named, or the secretary of the organisation named (its 副书记 when
  it has no secretary) — reads their items and adds progress and evidence.
- A 党总支 or a branch (its secretary, deputy, committee member; a 总支书记): reads the items
  that concern it — linked to an organisation in its subtree, or to one above it — read-only.

Anything else is refused as something that does not exist (`Hidden`).
"""

from __future__ import annotations

from tortoise.expressions import Q

from server.models.duty_lists import DutyItem
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role
from server.services.people.access import Hidden, NotAllowed, Scope, scope_of, top_of

STAFF_ROLES = frozenset({Role.STAFF, Role.ADMIN})
# Who answers for an organisation named 责任人: its secretary; its deputy when it has none.
ANSWERING = (Role.SECRETARY, Role.GENERAL_SECRETARY)
STAFF_ONLY = "五张清单由街道党工委工作人员制定和维护。"


def is_staff(member: Member) -> bool:
    return member.status == MemberStatus.ACTIVE and member.role in STAFF_ROLES


async def committee_of(actor: Member) -> Organisation:
    """The committee whose lists `actor` keeps: the 党工委 at the top of a staff member's scope."""
    if not is_staff(actor):
        raise NotAllowed(STAFF_ONLY)
    scope = await scope_of(actor)
    top = await top_of(scope)
    if top.kind is not OrgKind.COMMITTEE:
        raise NotAllowed(STAFF_ONLY)
    return top


async def keeps(actor: Member, item: DutyItem) -> bool:
    """`actor` is the committee's staff for this item."""
    if not is_staff(actor):
        return False
    committee = await Organisation.get(id=item.committee_id)
    return (await scope_of(actor)).covers(committee.path)


async def answerers(org_id: int) -> list[Member]:
    """Who answers for an organisation named 责任人: its secretaries, else its deputies."""
    for roles in (ANSWERING, (Role.DEPUTY_SECRETARY,)):
        found = await Member.filter(
            organisation_id=org_id, role__in=list(roles), status=MemberStatus.ACTIVE
        ).order_by("id")
        if found:
            return found
    return []


async def owners_of(item: DutyItem) -> list[Member]:
    """The people who answer for the item: the member named, or the organisation's answerers."""
    if item.owner_id is not None:
        owner = await Member.get_or_none(id=item.owner_id, status=MemberStatus.ACTIVE)
        return [owner] if owner is not None else []
    if item.owner_org_id is not None:
        return await answerers(item.owner_org_id)
    return []


async def owns(actor: Member, item: DutyItem) -> bool:
    return actor.status == MemberStatus.ACTIVE and any(
        m.id == actor.id for m in await owners_of(item)
    )


def mine(actor: Member) -> Q:
    """Items `actor` answers for (the secretary's deputy is not counted while there is a
    secretary: `owners_of` decides, and the chat filters its rows through it)."""
    q = Q(owner_id=actor.id)
    if actor.role in (*ANSWERING, Role.DEPUTY_SECRETARY):
        q |= Q(owner_org_id=actor.organisation_id)
    return q


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]


async def visible(actor: Member) -> Q:
    """The items `actor` may read, as a filter on DutyItem (use with .distinct())."""
    if actor.status != MemberStatus.ACTIVE:
        return Q(id=-1)
    scope = await scope_of(actor)
    if scope.everything:
        return Q()
    q = mine(actor)
    if scope.path is None:
        return q
    if is_staff(actor):
        q |= _under(scope, "committee")
    concerned = _under(scope, "links__organisation")
    above = Q(links__organisation__path__in=_prefixes(scope.path))
    return q | concerned | above


def _under(scope: Scope, relation: str) -> Q:
    return scope.filter(relation)


async def readable(actor: Member, item_id: int) -> DutyItem:
    """The item, if `actor` may read it; Hidden otherwise (the same for one that is not there)."""
    found = await DutyItem.filter(await visible(actor), id=item_id).distinct().first()
    if found is None:
        raise Hidden()
    return found


async def require_keeper(actor: Member, item: DutyItem) -> None:
    if not await keeps(actor, item):
        raise NotAllowed(STAFF_ONLY)


async def require_reporter(actor: Member, item: DutyItem) -> None:
    """Staff, or the item's 责任人: may add progress and evidence."""
    if not (await keeps(actor, item) or await owns(actor, item)):
        raise NotAllowed("进展和佐证材料由责任人或街道党工委工作人员填写。")
