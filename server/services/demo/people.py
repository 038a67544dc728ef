"""The demo street's people as its activity sees them: where they belong, and their habits.

Habits are drawn once per member from the seed: whether they use the app at all (the old, the
mobile and rural members less often — and a member who never opens it is no failure), how
often on a weekday, and at what time of day.  Everything else (check-ins, 心得, meetings) reads
these, so one member's record hangs together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, time

from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role
from server.services.demo.street import COMMITTEE, PHONE_BLOCK, RELOCATION_COMMUNITY, age_on
from server.services.people.orgs import SEPARATOR

OFFICES = "街道机关党总支"
COMPANIES = "非公企业党总支"


@dataclass
class Person:
    id: int
    name: str
    phone: str
    role: Role
    organisation_id: int
    group_id: int | None
    branch_id: int | None  # their 党支部; None for staff and 总支书记
    place: str  # "village", "community", "relocation", "offices", "company", "above"
    age: int
    party_years: int
    is_mobile: bool
    uses_app: bool = False
    keenness: float = 0.0  # the chance of opening the app on a weekday
    habit: time = time(8)  # when they usually do
    reader: float = 0.0  # of the days they open today's unit, how often they read it all
    quizzer: float = 0.0
    writer: float = 0.0  # 心得 expected over the eight weeks
    quiet_today: bool = False  # printed for newcomers to bind as: nothing today

    @property
    def counted_in(self) -> int:
        """The organisation their deeds are counted for (models.counted_in)."""
        return self.group_id if self.group_id is not None else self.organisation_id

    @property
    def officer(self) -> bool:
        return self.role in (Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.COMMITTEE_MEMBER)


@dataclass
class Street:
    people: list[Person]
    branches: dict[int, Organisation]
    groups: dict[int, Organisation]  # by id, each with its parent branch id
    members_of: dict[int, list[Person]] = field(default_factory=dict)  # by branch id

    def branch_of_group(self, group_id: int) -> int:
        parent = self.groups[group_id].parent_id
        assert parent is not None  # a 党小组 always sits under its branch
        return int(parent)


def _place(path: str) -> str:
    parts = path.split(SEPARATOR)
    if len(parts) < 3:
        return "above"
    if parts[1] == OFFICES:
        return "offices"
    if parts[1] == COMPANIES:
        return "company"
    if parts[1].startswith(RELOCATION_COMMUNITY):
        return "relocation"
    return "village" if "村" in parts[1] else "community"


def _habits(person: Person, rng: random.Random) -> None:
    # Who uses the app: the young and the cadres nearly all, the old and the mobile less.
    share = 0.9 if person.age <= 35 else 0.72 if person.age < 60 else 0.42
    if person.role in (Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.STAFF, Role.GENERAL_SECRETARY):
        share = 0.95
    if person.is_mobile:
        share *= 0.6
    person.uses_app = rng.random() < share
    if not person.uses_app:
        return
    kind = rng.random()
    if kind < 0.15:  # nearly every day
        person.keenness, person.writer = rng.uniform(0.65, 0.92), 0.45
    elif kind < 0.5:  # a few times a week
        person.keenness, person.writer = rng.uniform(0.25, 0.55), 0.2
    else:  # now and then
        person.keenness, person.writer = rng.uniform(0.03, 0.18), 0.04
    when = rng.random()
    if when < 0.45:  # before work
        minutes = rng.randint(6 * 60 + 40, 9 * 60)
    elif when < 0.65:  # at lunch
        minutes = rng.randint(12 * 60, 13 * 60 + 30)
    else:  # in the evening
        minutes = rng.randint(19 * 60, 22 * 60)
    person.habit = time(minutes // 60, minutes % 60)
    person.reader = rng.uniform(0.25, 0.8)
    person.quizzer = rng.uniform(0.0, 0.25)


async def load_street(seed: int, today: date) -> Street:
    """The active demo members (in phone order, so the draw does not depend on row ids)."""
    orgs = {o.id: o for o in await Organisation.filter(path__startswith=COMMITTEE)}
    rows = await Member.filter(phone__startswith=PHONE_BLOCK, status=MemberStatus.ACTIVE).order_by(
        "phone"
    )
    rng = random.Random(f"{seed}:people")
    people: list[Person] = []
    for m in rows:
        org = orgs.get(m.organisation_id)
        if org is None:
            continue
        person = Person(
            id=m.id,
            name=m.name,
            phone=m.phone,
            role=Role(m.role),
            organisation_id=org.id,
            group_id=m.group_id,
            branch_id=org.id if org.kind == OrgKind.BRANCH else None,
            place=_place(org.path),
            age=age_on(m.birth_date, today) if m.birth_date else 50,
            party_years=(today.year - m.joined_on.year) if m.joined_on else 10,
            is_mobile=m.is_mobile,
        )
        _habits(person, rng)
        people.append(person)
    branches = {i: o for i, o in orgs.items() if o.kind == OrgKind.BRANCH}
    groups = {i: o for i, o in orgs.items() if o.kind == OrgKind.GROUP}
    street = Street(people, branches, groups)
    for person in people:
        if person.branch_id is not None:
            street.members_of.setdefault(person.branch_id, []).append(person)
    return street
