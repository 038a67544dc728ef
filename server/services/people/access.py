"""Who may see what: roles and scopes, decided here and nowhere else.

A member sees their own data; a 党小组长 their group; a branch's secretary, deputy or committee
member their branch; a 总支书记 the branches under the general branch; 党工委 staff the subtree
they are assigned to (their own organisation, normally the whole committee); an admin
everything.  Only branch leaders (and staff and admins, within their scope) change things.

Anything outside a caller's scope is refused exactly as something that does not exist is
refused (`Hidden`, a 403 with one message), so an id tells a stranger nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from server.errors import PermissionDenied
from server.models.people import BRANCH_LEADERS, Member, MemberStatus, Organisation, OrgKind, Role
from server.services.people.scope import subtree, under

# The roles whose scope is their own organisation's subtree.
_ORGANISATION_WIDE = frozenset(
    {
        Role.SECRETARY,
        Role.DEPUTY_SECRETARY,
        Role.COMMITTEE_MEMBER,
        Role.GENERAL_SECRETARY,
        Role.STAFF,
    }
)
# Roles that may read the staff dashboard and the tallies of their scope.
DASHBOARD_ROLES = frozenset(
    {Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.GENERAL_SECRETARY, Role.STAFF, Role.ADMIN}
)


class Hidden(PermissionDenied):
    """Outside the caller's scope, or not there at all: the same answer for both."""

    user_message = "无权访问，或该对象不存在。"

    def __init__(self) -> None:
        super().__init__(self.user_message)


class NotAllowed(PermissionDenied):
    """In scope, but the caller's role may not do this."""


@dataclass(frozen=True)
class Scope:
    """What one member may see: a subtree (`path`), everything, or only themselves."""

    member_id: int
    path: str | None  # None: only the member's own data
    everything: bool = False
    group: bool = False  # the path is a 党小组: its members are those of the group

    @property
    def own_only(self) -> bool:
        return self.path is None and not self.everything

    def covers(self, path: str) -> bool:
        if self.everything:
            return True
        if self.path is None:
            return False
        return path == self.path or path.startswith(self.path + "/")

    def filter(self, relation: str = "organisation") -> Q:
        """Rows of the scope: by organisation subtree, or the member's own rows."""
        if self.everything:
            return Q()
        if self.path is None:
            return Q(member_id=self.member_id)
        return under(self.path, relation)

    def members(self) -> Q:
        """Member rows of the scope (a group's members belong to its branch, not to it)."""
        if self.group:
            return Q(group__path=self.path)
        return self.filter() if self.path is not None or self.everything else Q(id=self.member_id)

    def covers_member(self, member: Member) -> bool:
        """`member` with `organisation` and `group` fetched."""
        if member.id == self.member_id or self.everything:
            return True
        if self.group:
            return isinstance(member.group, Organisation) and member.group.path == self.path
        return self.covers(member.organisation.path)


async def scope_of(member: Member) -> Scope:
    """The member's scope; a transferred member keeps only their own record."""
    if member.status != MemberStatus.ACTIVE:
        return Scope(member.id, None)
    if member.role is Role.ADMIN:
        return Scope(member.id, None, everything=True)
    if member.role in _ORGANISATION_WIDE:
        org = await _organisation(member)
        return Scope(member.id, org.path)
    if member.role is Role.GROUP_LEADER and member.group_id is not None:
        group = await Organisation.get(id=member.group_id)
        return Scope(member.id, group.path, group=True)
    return Scope(member.id, None)


async def _organisation(member: Member) -> Organisation:
    org = member.organisation
    if isinstance(org, Organisation):
        return org
    return await Organisation.get(id=member.organisation_id)


def is_leader(member: Member) -> bool:
    """May change things (meetings, review, corrections) within their scope."""
    return member.status == MemberStatus.ACTIVE and (
        member.role in BRANCH_LEADERS or member.role in {Role.STAFF, Role.ADMIN}
    )


def require_leader(member: Member) -> None:
    if not is_leader(member):
        raise NotAllowed("只有支部书记、副书记或上级组织可以进行这个操作。")


# Who may read the roster of their scope: leaders, and a group leader or committee member.
ROSTER_ROLES = frozenset({Role.GROUP_LEADER, Role.COMMITTEE_MEMBER})


def require_roster(member: Member) -> None:
    if not (is_leader(member) or member.role in ROSTER_ROLES):
        raise NotAllowed("只有支部书记、副书记、支委委员和党小组长可以查看党员名册。")


def require_dashboard(member: Member) -> None:
    if member.status != MemberStatus.ACTIVE or member.role not in DASHBOARD_ROLES:
        raise NotAllowed("后台仅对支部书记、总支书记和党工委工作人员开放。")


async def organisation_in_scope(scope: Scope, org_id: int | None) -> Organisation:
    """The organisation `org_id`, or the top of the scope when None; Hidden if outside."""
    if org_id is None:
        return await top_of(scope)
    org = await Organisation.get_or_none(id=org_id)
    if org is None or not scope.covers(org.path):
        raise Hidden()
    return org


async def top_of(scope: Scope) -> Organisation:
    if scope.everything:
        top = await Organisation.filter(parent_id=None).order_by("id").first()
        if top is None:
            raise Hidden()
        return top
    if scope.path is None:
        raise Hidden()
    return await Organisation.get(path=scope.path)


async def member_in_scope(scope: Scope, member_id: int) -> Member:
    """Another member's record, if the scope covers them; Hidden otherwise."""
    target = await Member.get_or_none(id=member_id).prefetch_related("organisation", "group")
    if target is None or not scope.covers_member(target):
        raise Hidden()
    return target


async def branches_in(scope: Scope) -> list[Organisation]:
    """Every 党支部 in the scope, by path."""
    if scope.own_only:
        return []
    query = Organisation.filter(kind=OrgKind.BRANCH)
    if not scope.everything and scope.path is not None:  # not own_only: a path or everything
        query = query.filter(subtree(scope.path))
    return await query.order_by("path")
