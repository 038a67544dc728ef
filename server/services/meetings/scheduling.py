"""三会一课: scheduling a meeting, who is expected, listing, cancelling and rescheduling.

Plain functions over the ORM, used by the chat commands and the REST API.  A meeting is checked
before it is written: its type, that the scheduler may call it, that it is not in the past, and
that it does not clash.  A clash is the same people or the same place at the same time: two
党小组 with different members meet at one hour in two rooms, but a 支委会 and a 党小组会 that
share a member cannot, nor two meetings in one room.  The check and the insert run in one
transaction holding the branch's row (`SELECT … FOR UPDATE`), so two bookings made at the same
moment are checked one after the other; rescheduling follows the same rule.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import cast

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.meetings import (
    Attendance,
    AttendeeRole,
    Meeting,
    MeetingAttendee,
    MeetingChange,
    MeetingStatus,
    MeetingType,
    after_the_end,
)
from server.models.people import (
    BRANCH_LEADERS,
    Member,
    MemberStatus,
    Organisation,
    OrgKind,
    Role,
    counted_in,
)
from server.services.delivery.messenger import WakeOutbox, no_wake
from server.services.meetings import notices
from server.services.people.scope import under

# 三会一课 first (the ledger always has their sheets), then what branches hold besides.
THREE_AND_ONE = (
    MeetingType.BRANCH_MEETING,
    MeetingType.COMMITTEE_MEETING,
    MeetingType.GROUP_MEETING,
    MeetingType.PARTY_LECTURE,
    MeetingType.THEME_DAY,
)
STANDARD = (*THREE_AND_ONE, MeetingType.GROUP_STUDY, MeetingType.ORG_LIFE, MeetingType.APPRAISAL)
# Organised study by its type: being present at one is an organised-study person-time.
STUDY_TYPES = frozenset({MeetingType.PARTY_LECTURE, MeetingType.THEME_DAY, MeetingType.GROUP_STUDY})
ALIASES = {
    "党员大会": MeetingType.BRANCH_MEETING,
    "支部大会": MeetingType.BRANCH_MEETING,
    "支部委员会": MeetingType.COMMITTEE_MEETING,
    "支委会议": MeetingType.COMMITTEE_MEETING,
    "小组会": MeetingType.GROUP_MEETING,
    "党小组会议": MeetingType.GROUP_MEETING,
    "党日": MeetingType.THEME_DAY,
    "主题党日活动": MeetingType.THEME_DAY,
    "学习会": MeetingType.GROUP_STUDY,
    "集中学习会": MeetingType.GROUP_STUDY,
    "专题组织生活会": MeetingType.ORG_LIFE,
    "民主评议": MeetingType.APPRAISAL,
}
COMMITTEE_ROLES = frozenset(
    {Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.COMMITTEE_MEMBER, Role.GENERAL_SECRETARY}
)
TOPIC_MAX = 200
MAX_AHEAD_DAYS = 731
SIGNIN_OPENS = timedelta(minutes=30)  # before the start (attendance.OPENS_BEFORE)
PLACE_MAX = 100
SPEAKER_MAX = 50
ONLINE_MAX = 100  # Meeting.online


def is_study(kind: str, topic: str) -> bool:
    """Organised study: a study type, or a meeting whose agenda is study (学习… in its topic).

    What a secretary schedules decides it once, shown in the preview; the API may say
    otherwise explicitly (`study`).
    """
    return kind in STUDY_TYPES or "学习" in topic


def kind_of(word: str, extra: Sequence[str] = ()) -> str | None:
    """The meeting type a secretary typed, by its name or a common alias; None if unknown."""
    if word in STANDARD or word in extra:
        return word
    return ALIASES.get(word)


@dataclass(frozen=True)
class Draft:
    """A meeting checked and shown to the secretary, written only on 确认."""

    kind: str
    organisation_id: int
    starts_at: datetime
    ends_at: datetime
    topic: str
    place: str | None
    expected: int
    study: bool = False
    speaker: str | None = None
    group: str | None = None  # the 党小组 a 党小组会 is for, by name
    online: str | None = None  # the online part, e.g. 腾讯会议 123-456-789
    incoming: int = 0  # 流入党员 taking part, without a vote: not in `expected`

    def to_state(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "organisation_id": self.organisation_id,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "topic": self.topic,
            "place": self.place,
            "expected": self.expected,
            "study": self.study,
            "speaker": self.speaker,
            "group": self.group,
            "online": self.online,
            "incoming": self.incoming,
        }

    @classmethod
    def from_state(cls, data: dict[str, object]) -> Draft:
        return cls(
            kind=str(data["kind"]),
            organisation_id=int(str(data["organisation_id"])),
            starts_at=datetime.fromisoformat(str(data["starts_at"])),
            ends_at=datetime.fromisoformat(str(data["ends_at"])),
            topic=str(data["topic"]),
            place=str(data["place"]) if data.get("place") else None,
            expected=int(str(data.get("expected", 0))),
            study=bool(data.get("study", False)),
            speaker=str(data["speaker"]) if data.get("speaker") else None,
            group=str(data["group"]) if data.get("group") else None,
            online=str(data["online"]) if data.get("online") else None,
            incoming=int(str(data.get("incoming", 0))),
        )


async def where_held(scheduler: Member, kind: str) -> Organisation:
    """The organisation the meeting belongs to, if this member may call it."""
    if kind == MeetingType.GROUP_MEETING:
        # The group leader calls the group's meeting (Art. 13); a secretary can for their group.
        if scheduler.role not in (Role.GROUP_LEADER, *BRANCH_LEADERS):
            raise PermissionDenied("党小组会由党小组长安排。")
        if scheduler.group_id is None:
            raise ValidationFailed("您还没有编入党小组，无法安排党小组会。", field="group")
        return await Organisation.get(id=scheduler.group_id)
    if scheduler.role not in BRANCH_LEADERS:
        raise PermissionDenied(f"{kind}由支部书记（或副书记）安排。")
    return await Organisation.get(id=scheduler.organisation_id)


async def expected_members(kind: str, org: Organisation) -> list[Member]:
    """应到: the branch's own active members (the group's, the committee).  Not a 流入党员, whose
    relationship is held elsewhere, nor anyone whose 党籍 is stopped (not ACTIVE)."""
    active = Member.filter(status=MemberStatus.ACTIVE, incoming=False)
    if kind == MeetingType.GROUP_MEETING:
        return await active.filter(group_id=org.id).order_by("id")
    members = active.filter(organisation_id=org.id)
    if kind == MeetingType.COMMITTEE_MEETING:
        return await members.filter(role__in=list(COMMITTEE_ROLES)).order_by("id")
    return await members.order_by("id")


async def incoming_members(kind: str, org: Organisation) -> list[Member]:
    """流入党员 who take part in this meeting without a vote: the branch's, at its meetings (a
    党小组会 only those in the group); never at a 支委会, which is the committee's."""
    if kind == MeetingType.COMMITTEE_MEETING:
        return []
    active = Member.filter(status=MemberStatus.ACTIVE, incoming=True)
    if kind == MeetingType.GROUP_MEETING:
        return await active.filter(group_id=org.id).order_by("id")
    return await active.filter(organisation_id=org.id).order_by("id")


def check_online(online: str | None) -> str | None:
    """The online part as typed, one space between words; None when there is none."""
    text = " ".join((online or "").split())
    if len(text) > ONLINE_MAX:
        raise ValidationFailed(f"线上参会方式最多 {ONLINE_MAX} 字。", field="online")
    return text or None


async def branch_of(org: Organisation) -> Organisation:
    """The 党支部 a meeting is held in: the organisation itself, or a group's parent branch.

    Its row is what two bookings lock, so that a group's meeting and the branch's are checked
    one after the other.
    """
    if org.kind == OrgKind.GROUP and org.parent_id is not None:
        return await Organisation.get(id=org.parent_id)
    return org


def same_place(a: str | None, b: str | None) -> bool:
    """Two places typed by people: the same room whatever the spaces or the letter case."""
    if not a or not b:
        return False
    return "".join(a.split()).casefold() == "".join(b.split()).casefold()


@dataclass(frozen=True)
class Clash:
    """Another meeting at the same time with some of the same people, or in the same place."""

    meeting: Meeting
    people: list[str]  # the names of those expected at both
    place: bool  # the same place


async def find_clash(
    branch: Organisation,
    starts_at: datetime,
    ends_at: datetime,
    people: set[int],
    place: str | None,
    ignore: int | None = None,
) -> Clash | None:
    """The first meeting that overlaps [starts_at, ends_at) and shares people or the place.

    People are looked for in any meeting (a member invited to another branch's is busy there
    too); the place among the branch's own, since two branches' 会议室 are not one room.
    Overlap is strict: a meeting ending at 15:00 and another starting then do not clash.
    """
    overlapping = Q(starts_at__lt=ends_at, ends_at__gt=starts_at) & ~Q(
        status=MeetingStatus.CANCELLED
    )
    if ignore is not None:
        overlapping &= ~Q(id=ignore)
    shared: dict[int, set[int]] = {}
    if people:
        rows = (
            await MeetingAttendee.filter(
                member_id__in=list(people),
                meeting__starts_at__lt=ends_at,
                meeting__ends_at__gt=starts_at,
            )
            .exclude(meeting__status=MeetingStatus.CANCELLED)
            .values_list("meeting_id", "member_id")
        )
        for meeting_id, member_id in rows:
            if meeting_id != ignore:
                shared.setdefault(meeting_id, set()).add(member_id)
        chaired = await Meeting.filter(overlapping, chair_id__in=list(people)).values_list(
            "id", "chair_id"
        )
        for meeting_id, chair_id in chaired:
            shared.setdefault(meeting_id, set()).add(chair_id)
    rooms: set[int] = set()
    if place:
        for meeting_id, there in await Meeting.filter(
            overlapping, under(branch.path), place__isnull=False
        ).values_list("id", "place"):
            if same_place(place, there):
                rooms.add(meeting_id)
    found = sorted(
        await Meeting.filter(id__in=list(set(shared) | rooms)),
        key=lambda m: (m.starts_at, m.id),
    )
    if not found:
        return None
    first = found[0]
    ids = shared.get(first.id, set())
    # flat=True gives the values themselves; Tortoise 1.1 types them as tuples.
    names = (
        list(
            cast(
                "list[str]",
                await Member.filter(id__in=list(ids)).order_by("id").values_list("name", flat=True),
            )
        )
        if ids
        else []
    )
    return Clash(first, names, first.id in rooms)


def span_text(meeting: Meeting, zone: tzinfo | None) -> str:
    """11月26日 15:00–16:30, in `zone` (the organisation's, from the caller's `now`)."""
    start, end = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    return f"{start.month}月{start.day}日 {start:%H:%M}–{end:%H:%M}"


def clash_message(clash: Clash, zone: tzinfo | None) -> str:
    """Who or what clashes, with the other meeting's number, type, time and topic."""
    other = clash.meeting
    span = span_text(other, zone)
    why = []
    if clash.people:
        names = "、".join(clash.people[:5]) + (
            f"等 {len(clash.people)} 人" if len(clash.people) > 5 else ""
        )
        why.append(f"{names}都要参加那个会")
    if clash.place:
        why.append(f"地点「{other.place}」那时已有安排")
    advice = "请换一个时间" + ("或地点" if clash.place and not clash.people else "") + "。"
    return (
        f"这个时间和编号 {other.id} 的{other.kind}（{span}，{other.topic}）冲突："
        f"{'；'.join(why)}。{advice}"
    )


async def _lock_branch(org: Organisation) -> Organisation:
    """SELECT … FOR UPDATE on the branch's row, inside the caller's transaction."""
    branch = await branch_of(org)
    return await Organisation.select_for_update().get(id=branch.id)


def _utc(moment: datetime) -> datetime:
    # Stored and compared in UTC: SQLite compares datetimes as text, so +08:00 and +00:00
    # values of the same instant would not order correctly side by side.
    return moment.astimezone(UTC)


def _check_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise ValidationFailed("这个时间已经过去了，请换一个以后的时间。", field="starts_at")
    if starts_at > now + timedelta(days=MAX_AHEAD_DAYS):
        raise ValidationFailed("只能安排两年以内的会议。", field="starts_at")


async def _check_free(
    branch: Organisation,
    starts_at: datetime,
    ends_at: datetime,
    people: set[int],
    place: str | None,
    zone: tzinfo | None,
    ignore: int | None = None,
) -> None:
    clash = await find_clash(branch, starts_at, ends_at, people, place, ignore)
    if clash is not None:
        field = "place" if clash.place and not clash.people else "starts_at"
        raise Conflict(clash_message(clash, zone), field=field, code="MEETING_CLASH")


async def _people(meeting: Meeting) -> set[int]:
    """Everyone at a meeting already written: its attendees (列席, 流入党员 too) and its chair."""
    found = await MeetingAttendee.filter(meeting_id=meeting.id).values_list("member_id", flat=True)
    ids = set(cast("list[int]", found))
    if meeting.chair_id is not None:
        ids.add(meeting.chair_id)
    return ids


async def prepare(
    scheduler: Member,
    kind: str,
    starts_at: datetime,
    topic: str,
    place: str | None,
    now: datetime,
    minutes: int,
    *,
    study: bool | None = None,
    speaker: str | None = None,
    online: str | None = None,
) -> Draft:
    """`study` None: decided by `is_study` from the type and topic."""
    topic, place = topic.strip(), (place or "").strip() or None
    speaker = (speaker or "").strip() or None
    online = check_online(online)
    if not topic:
        raise ValidationFailed(
            "请写上会议主题，例如：安排 支委会 明天下午3点 研究发展党员", field="topic"
        )
    if len(topic) > TOPIC_MAX:
        raise ValidationFailed(f"会议主题最多 {TOPIC_MAX} 字。", field="topic")
    if place and len(place) > PLACE_MAX:
        raise ValidationFailed(f"地点最多 {PLACE_MAX} 字。", field="place")
    if speaker and len(speaker) > SPEAKER_MAX:
        raise ValidationFailed(f"主讲人最多 {SPEAKER_MAX} 字。", field="speaker")
    org = await where_held(scheduler, kind)
    starts_at = _utc(starts_at)
    _check_future(starts_at, now)
    ends_at = starts_at + timedelta(minutes=minutes)
    expected = await expected_members(kind, org)
    joining = await incoming_members(kind, org)
    people = {m.id for m in [*expected, *joining]} | {scheduler.id}
    await _check_free(await branch_of(org), starts_at, ends_at, people, place, now.tzinfo)
    studied = is_study(kind, topic) if study is None else study
    group = org.name if org.kind == OrgKind.GROUP else None
    return Draft(
        kind,
        org.id,
        starts_at,
        ends_at,
        topic,
        place,
        len(expected),
        studied,
        speaker,
        group,
        online,
        len(joining),
    )


async def schedule(
    scheduler: Member,
    draft: Draft,
    now: datetime,
    offsets: Sequence[tuple[str, int]] = (),
    *,
    wake: WakeOutbox = no_wake,
) -> Meeting:
    """Write the meeting, its expected attendees and its notices, once confirmed.

    `offsets`: the reminders before the start, as DANGJIAN_REMINDER_OFFSETS gives them.
    """
    _check_future(draft.starts_at, now)
    org = await Organisation.get(id=draft.organisation_id)
    async with in_transaction():
        # The branch's row, locked until the meeting is written: two bookings in one branch
        # (its groups' included) are checked one after the other, so two overlapping ones
        # cannot both pass.  On SQLite the transaction itself serialises the writers.
        branch = await _lock_branch(org)
        expected = await expected_members(draft.kind, org)
        joining = await incoming_members(draft.kind, org)
        people = {m.id for m in [*expected, *joining]} | {scheduler.id}
        await _check_free(branch, draft.starts_at, draft.ends_at, people, draft.place, now.tzinfo)
        meeting = await Meeting.create(
            organisation=org,
            kind=draft.kind,
            topic=draft.topic,
            place=draft.place,
            speaker=draft.speaker,
            study=draft.study,
            online=check_online(draft.online),
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            chair=scheduler,
            created_by=scheduler,
            signin_secret=secrets.token_hex(32),
        )
        await MeetingAttendee.bulk_create(
            [
                MeetingAttendee(
                    meeting=meeting,
                    member=m,
                    organisation_id=counted_in(m),
                    role=AttendeeRole.EXPECTED,
                )
                for m in expected
            ]
            + [
                MeetingAttendee(
                    meeting=meeting,
                    member=m,
                    organisation_id=counted_in(m),
                    role=AttendeeRole.INCOMING,
                )
                for m in joining
            ]
        )
        booked: dict[str, str] = _when(meeting)
        if meeting.online:
            booked["online"] = meeting.online
        await MeetingChange.create(meeting=meeting, by=scheduler, action="scheduled", detail=booked)
        await notices.plan_new(meeting, list(offsets), now)
    wake()  # its notices go out now, not at the sender's next tick
    return meeting


def _when(meeting: Meeting) -> dict[str, str]:
    return {"starts_at": meeting.starts_at.isoformat(), "ends_at": meeting.ends_at.isoformat()}


async def upcoming(member: Member, now: datetime, limit: int = 10) -> list[Meeting]:
    """A secretary sees the branch's; anyone else the meetings they are expected or invited at."""
    query = Meeting.filter(ends_at__gte=now).exclude(status=MeetingStatus.CANCELLED)
    if member.role in BRANCH_LEADERS:
        org = await Organisation.get(id=member.organisation_id)
        query = query.filter(under(org.path))
    else:
        query = query.filter(attendees__member_id=member.id)
    return await query.order_by("starts_at", "id").limit(limit).distinct()


async def _access(member: Member, number: int) -> tuple[Meeting, bool]:
    """Meeting N and whether this member leads it, if they may see it at all."""
    meeting = await Meeting.get_or_none(id=number).prefetch_related("organisation")
    if meeting is not None:
        leads = await _leads(member, meeting)
        if leads or await MeetingAttendee.exists(meeting_id=meeting.id, member_id=member.id):
            return meeting, leads
    raise NotFound(f"没有找到编号为 {number} 的会议。", code="MEETING_NOT_FOUND")


async def _leads(member: Member, meeting: Meeting) -> bool:
    """A branch leader of the meeting's organisation, or of one above it."""
    if member.role not in BRANCH_LEADERS:
        return False
    mine = await Organisation.get(id=member.organisation_id)
    return (meeting.organisation.path + "/").startswith(mine.path + "/")


async def visible(member: Member, number: int) -> Meeting:
    """Meeting N if this member may see it: an attendee, or a leader of its branch."""
    return (await _access(member, number))[0]


async def manageable(member: Member, number: int) -> Meeting:
    meeting, leads = await _access(member, number)
    may = leads or (
        meeting.kind == MeetingType.GROUP_MEETING
        and member.role == Role.GROUP_LEADER
        and meeting.organisation_id == member.group_id
    )
    if not may:
        raise PermissionDenied("只有安排会议的书记（党小组会为党小组长）可以改动这个会议。")
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(f"编号 {number} 的会议已经取消了。", code="MEETING_CANCELLED")
    return meeting


async def cancel(
    member: Member, number: int, reason: str, now: datetime, *, wake: WakeOutbox = no_wake
) -> Meeting:
    """Cancelled, kept with who did it; everyone told of it before is told it is off."""
    meeting = await manageable(member, number)
    if meeting.ends_at <= now:
        raise Conflict(f"编号 {number} 的会议已经结束，不能取消。", code="MEETING_OVER")
    async with in_transaction():
        changed = (
            await Meeting.filter(id=meeting.id)
            .exclude(status=MeetingStatus.CANCELLED)
            .update(status=MeetingStatus.CANCELLED)
        )
        if not changed:
            raise Conflict(f"编号 {number} 的会议已经取消了。", code="MEETING_CANCELLED")
        change = await MeetingChange.create(
            meeting=meeting, by=member, action="cancelled", detail={"reason": reason.strip()}
        )
        await notices.plan_cancel(meeting, change.id, now)
    await meeting.refresh_from_db()
    wake()
    return meeting


@dataclass(frozen=True)
class Roster:
    """Who was expected at a meeting and what became of each, and who attended as a guest.

    One picture for every view: 应到 counts the expected only; 列席 and 流入党员 (who take part
    without a vote) are listed apart.  Before the end someone undecided has 未签到; after it,
    缺席 — and so has a leave asked for and never decided.
    """

    expected: list[MeetingAttendee]
    invited: list[MeetingAttendee]
    over: bool
    incoming: list[MeetingAttendee] = field(default_factory=list)

    def _of(self, *states: Attendance) -> list[MeetingAttendee]:
        return [r for r in self.expected if r.attendance in states]

    @property
    def present(self) -> list[MeetingAttendee]:
        return self._of(Attendance.PRESENT)

    @property
    def on_leave(self) -> list[MeetingAttendee]:
        return self._of(Attendance.LEAVE)

    @property
    def requested(self) -> list[MeetingAttendee]:
        """待批: only before the end; after it an undecided request is an absence."""
        return [] if self.over else self._of(Attendance.REQUESTED)

    @property
    def missing(self) -> list[MeetingAttendee]:
        """未签到 before the end, 缺席 after it."""
        if self.over:
            return self._of(Attendance.UNKNOWN, Attendance.ABSENT, Attendance.REQUESTED)
        return self._of(Attendance.UNKNOWN, Attendance.ABSENT)

    @property
    def missing_label(self) -> str:
        return "缺席" if self.over else "未签到"

    @property
    def everyone(self) -> list[MeetingAttendee]:
        """The expected, the guests and the 流入党员, in the order they were put on the roster."""
        return sorted([*self.expected, *self.invited, *self.incoming], key=lambda r: r.id)

    def state(self, row: MeetingAttendee) -> str:
        """What a row counts as: after the end, someone expected and undecided was absent."""
        value = str(row.attendance)
        return after_the_end(value) if self.over and row.role == AttendeeRole.EXPECTED else value

    @property
    def counts(self) -> dict[str, int]:
        """应到 by what became of each (every state, 0 included); the expected only: guests
        (列席) and 流入党员 attend, but are not counted as should-attend (nor in a quorum)."""
        return self._counted(self.expected)

    @property
    def probationary(self) -> list[MeetingAttendee]:
        """预备党员 among the expected: at the meeting, without a vote."""
        return [r for r in self.expected if r.member.probationary]

    @property
    def voting_counts(self) -> dict[str, int]:
        """The counts of those with a vote (正式党员): what a 支部党员大会's quorum is taken on.
        Someone who took part by 心得 was not there to vote: absent for the quorum (present in
        出勤率, as the README says)."""
        counts = self._counted([r for r in self.expected if not r.member.probationary])
        by_writing = sum(
            1
            for r in self.expected
            if not r.member.probationary and r.mode == "writing" and self.state(r) == "present"
        )
        counts[Attendance.PRESENT.value] -= by_writing
        counts[Attendance.ABSENT.value] += by_writing
        return counts

    def _counted(self, rows: list[MeetingAttendee]) -> dict[str, int]:
        counts = dict.fromkeys((a.value for a in Attendance), 0)
        for row in rows:
            counts[self.state(row)] += 1
        return counts


async def roster(meeting: Meeting, now: datetime) -> Roster:
    rows = (
        await MeetingAttendee.filter(meeting_id=meeting.id)
        .order_by("id")
        .prefetch_related("member")
    )
    over = meeting.status != MeetingStatus.CANCELLED and now > meeting.ends_at
    return Roster(
        expected=[r for r in rows if r.role == AttendeeRole.EXPECTED],
        invited=[r for r in rows if r.role == AttendeeRole.INVITED],
        over=over,
        incoming=[r for r in rows if r.role == AttendeeRole.INCOMING],
    )


async def attendance_record(member: Member, since: datetime, now: datetime) -> dict[str, int]:
    """A member's meetings since `since` that have ended: attended, on leave, absent."""
    counts = {"present": 0, "leave": 0, "absent": 0}
    rows = (
        await MeetingAttendee.filter(
            member_id=member.id,
            role=AttendeeRole.EXPECTED,
            meeting__starts_at__gte=_utc(since),
            meeting__ends_at__lte=_utc(now),
        )
        .exclude(meeting__status=MeetingStatus.CANCELLED)
        .values_list("attendance", flat=True)
    )
    for attendance in cast("list[str]", rows):
        counts[after_the_end(attendance)] += 1
    return counts


async def invite(
    leader: Member,
    number: int,
    name: str,
    phone_tail: str | None,
    now: datetime,
    offsets: Sequence[tuple[str, int]] = (),
    *,
    wake: WakeOutbox = no_wake,
) -> Member:
    """列席: a member from anywhere in the committee attends without being expected."""
    meeting = await manageable(leader, number)
    if meeting.ends_at <= now:
        raise Conflict(f"编号 {number} 的会议已经结束。")
    org = await Organisation.get(id=leader.organisation_id)
    top = org.path.split("/", 1)[0]
    found = await Member.filter(under(top), name=name, status=MemberStatus.ACTIVE).order_by("id")
    if phone_tail:
        found = [m for m in found if m.phone.endswith(phone_tail)]
    if not found:
        raise NotFound(f"没有找到党员「{name}」。")
    if len(found) > 1:
        raise Conflict(
            f"有 {len(found)} 位「{name}」，请加上手机号后四位：列席 {number} {name} 1234"
        )
    guest = found[0]
    async with in_transaction():
        branch = await _lock_branch(meeting.organisation)
        clash = await find_clash(
            branch, meeting.starts_at, meeting.ends_at, {guest.id}, None, ignore=meeting.id
        )
        if clash is not None:
            other = clash.meeting
            raise Conflict(
                f"{guest.name}那时要参加编号 {other.id} 的{other.kind}"
                f"（{span_text(other, now.tzinfo)}），不能同时列席这个会议。"
            )
        _, created = await MeetingAttendee.get_or_create(
            meeting_id=meeting.id,
            member_id=guest.id,
            defaults={
                "organisation_id": counted_in(guest),
                "role": AttendeeRole.INVITED,
            },
        )
        if not created:
            raise Conflict(f"{name}已经在编号 {number} 的会议名单里了。")
        await MeetingChange.create(
            meeting=meeting, by=leader, action="invited", detail={"member": guest.id}
        )
        await notices.plan_new(meeting, list(offsets), now, members=[guest.id])
    wake()
    return guest


async def reschedule(
    member: Member,
    number: int,
    starts_at: datetime,
    now: datetime,
    offsets: Sequence[tuple[str, int]] = (),
    *,
    minutes: int | None = None,
    place: str | None = None,
    reason: str | None = None,
    wake: WakeOutbox = no_wake,
) -> Meeting:
    """改期: moved, kept with who did it and why; those told before are told, and reminders
    planned anew.  A form may change the length and the place too (`minutes` None keeps the
    length, `place` None keeps it); chat moves the start only.  Not once sign-in has opened (some
    may already be present at the time it was called for), not into the past, no clash."""
    meeting = await manageable(member, number)
    if meeting.starts_at - SIGNIN_OPENS <= now:
        raise Conflict(
            f"编号 {number} 的会议即将开始或已经开始，不能改期；可以取消后重新安排。",
            code="MEETING_STARTED",
        )
    place = place.strip() if place is not None else meeting.place
    if place and len(place) > PLACE_MAX:
        raise ValidationFailed(f"地点最多 {PLACE_MAX} 字。", field="place")
    starts_at = _utc(starts_at)
    _check_future(starts_at, now)
    length = timedelta(minutes=minutes) if minutes else meeting.ends_at - meeting.starts_at
    ends_at = starts_at + length
    before = {**_when(meeting), "place": meeting.place or ""}
    async with in_transaction():
        branch = await _lock_branch(meeting.organisation)
        people = await _people(meeting)
        await _check_free(branch, starts_at, ends_at, people, place, now.tzinfo, meeting.id)
        await Meeting.filter(id=meeting.id).update(
            starts_at=starts_at, ends_at=ends_at, place=place or None
        )
        await meeting.refresh_from_db()
        detail: dict[str, object] = {
            "before": before,
            "after": {**_when(meeting), "place": meeting.place or ""},
        }
        if reason and reason.strip():
            detail["reason"] = reason.strip()
        change = await MeetingChange.create(
            meeting=meeting, by=member, action="rescheduled", detail=detail
        )
        await notices.plan_change(meeting, change.id, list(offsets), now)
    wake()
    return meeting


async def set_online(
    member: Member, number: int, online: str | None, now: datetime
) -> tuple[Meeting, str | None]:
    """线上 N …: the meeting's online part set, changed or (None, "") cleared, until it ends; kept
    in the history with who did it.  Returns the meeting and what it was before.

    Nobody is sent a notice for it: the reminders still to go out say it, and 会议 N shows it.
    """
    meeting = await manageable(member, number)
    if meeting.ends_at <= now:
        raise Conflict(f"编号 {number} 的会议已经结束。", code="MEETING_OVER")
    online = check_online(online)
    before = meeting.online
    if online == before:
        return meeting, before
    async with in_transaction():
        await Meeting.filter(id=meeting.id).update(online=online)
        await MeetingChange.create(
            meeting=meeting,
            by=member,
            action="online",
            detail={"online": online or "", "was": before or ""},
        )
    await meeting.refresh_from_db()
    return meeting, before
