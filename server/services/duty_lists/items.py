"""Writing the 五张清单: an item made or edited by the committee's staff, a note added by staff
or the 责任人, an item declared done or reopened by staff — each with who, when and why.

Everything is checked before anything is written: a refusal (`ValidationFailed`, naming the
field) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from tortoise.transactions import in_transaction

from server.errors import Conflict, ValidationFailed
from server.models.duty_lists import DutyFile, DutyItem, DutyLink, DutyNote, DutySource, NoteKind
from server.models.people import Member, MemberStatus, Organisation, OrgKind
from server.services.duty_lists import who
from server.services.people.access import Hidden
from server.services.people.scope import subtree

LIMITS = {"problem": 500, "task": 500, "measures": 1000, "note": 1000, "link": 500}
FIELD_WORDS = {"problem": "问题", "task": "任务", "measures": "措施", "note": "内容"}
FURTHEST_YEARS = 5  # a 时限 at most this many years ahead
FILE_MAX = 1024 * 1024  # and within DANGJIAN_MAX_BODY_BYTES, the largest form the app reads
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass
class Draft:
    """What staff typed for an item: the five columns, the year, the source, the links."""

    problem: str
    task: str
    measures: str
    deadline: date
    year: int
    source: DutySource = DutySource.SELF
    owner_id: int | None = None  # a member, or…
    owner_org_id: int | None = None  # …an organisation whose secretary answers
    links: list[int] = field(default_factory=list)  # organisations it concerns


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


def words(value: str, name: str) -> str:
    text = value.strip()
    if not text:
        raise ValidationFailed(f"请填写{FIELD_WORDS[name]}。", field=name)
    if len(text) > LIMITS[name]:
        raise ValidationFailed(f"{FIELD_WORDS[name]}最多 {LIMITS[name]} 字，请精简。", field=name)
    return text


def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(f"年度应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间。", field="year")
    return year


def check_deadline(deadline: date, today: date) -> date:
    if deadline < today:
        raise ValidationFailed("时限不能早于今天。", field="deadline")
    if deadline.year > today.year + FURTHEST_YEARS:
        raise ValidationFailed(f"时限应在 {FURTHEST_YEARS} 年以内。", field="deadline")
    return deadline


async def _check(committee: Organisation, draft: Draft) -> list[Organisation]:
    """The draft's owner and links are of this committee's street; the links, as rows."""
    words(draft.problem, "problem")
    words(draft.task, "task")
    words(draft.measures, "measures")
    check_year(draft.year)
    if (draft.owner_id is None) == (draft.owner_org_id is None):
        raise ValidationFailed(
            "请指定一位责任人：本街道的一名党员，或一个党组织（由其书记负责）。", field="owner"
        )
    street = subtree(committee.path)
    if draft.owner_id is not None:
        owner = await Member.get_or_none(
            id=draft.owner_id, status=MemberStatus.ACTIVE
        ).prefetch_related("organisation")
        if owner is None or not _within(committee, owner.organisation.path):
            raise ValidationFailed("责任人应是本街道在册的党员。", field="owner")
    if draft.owner_org_id is not None:
        org = await Organisation.filter(street, id=draft.owner_org_id).first()
        if org is None or org.kind not in (OrgKind.GENERAL_BRANCH, OrgKind.BRANCH):
            raise ValidationFailed("责任组织应是本街道的党总支或党支部。", field="owner")
    wanted = sorted(set(draft.links))
    found = await Organisation.filter(street, id__in=wanted).order_by("path") if wanted else []
    if len(found) != len(wanted):
        raise ValidationFailed("涉及的组织应是本街道的党组织。", field="links")
    return list(found)


def _within(committee: Organisation, path: str) -> bool:
    return path == committee.path or path.startswith(committee.path + "/")


def _columns(draft: Draft) -> dict[str, object]:
    return {
        "problem": draft.problem.strip(),
        "task": draft.task.strip(),
        "measures": draft.measures.strip(),
        "deadline": draft.deadline,
        "year": draft.year,
        "source": draft.source,
        "owner_id": draft.owner_id,
        "owner_org_id": draft.owner_org_id,
    }


async def create(actor: Member | None, committee: Organisation, draft: Draft, now: datetime,
                 today: date) -> DutyItem:  # fmt: skip
    """A new item of `committee`'s list (`actor` None: the command line)."""
    if actor is not None:
        if (await who.committee_of(actor)).id != committee.id:
            raise Hidden()
    check_deadline(draft.deadline, today)
    links = await _check(committee, draft)
    async with in_transaction() as conn:
        item = await DutyItem.create(
            committee_id=committee.id,
            created_by_id=actor.id if actor else None,
            created_at=now,
            using_db=conn,
            **_columns(draft),
        )
        for org in links:
            await DutyLink.create(item_id=item.id, organisation_id=org.id, using_db=conn)
    return item


async def edit(
    actor: Member, item: DutyItem, draft: Draft, now: datetime, today: date
) -> list[str]:
    """Change an item's columns, owner and links; what changed, recorded as a note."""
    await who.require_keeper(actor, item)
    if draft.deadline != item.deadline:
        check_deadline(draft.deadline, today)
    committee = await Organisation.get(id=item.committee_id)
    links = await _check(committee, draft)
    before = await describe(item)
    old_links = {link.organisation_id for link in await DutyLink.filter(item_id=item.id)}
    columns = _columns(draft)
    async with in_transaction() as conn:
        await DutyItem.filter(id=item.id).using_db(conn).update(**columns)
        new_links = {o.id for o in links}
        gone = list(old_links - new_links)
        await DutyLink.filter(item_id=item.id, organisation_id__in=gone).using_db(conn).delete()
        for org_id in sorted(new_links - old_links):
            await DutyLink.create(item_id=item.id, organisation_id=org_id, using_db=conn)
        await item.refresh_from_db(using_db=conn)
        after = await describe(item, using_links=sorted(new_links))
        changed = [
            f"{name}由「{before[name]}」改为「{after[name]}」"
            for name in before
            if before[name] != after[name]
        ]
        if changed:
            await DutyNote.create(
                item_id=item.id, kind=NoteKind.EDIT, day=today, text="；".join(changed)[:1000],
                by_id=actor.id, at=now, using_db=conn,
            )  # fmt: skip
    return changed


async def describe(item: DutyItem, using_links: list[int] | None = None) -> dict[str, str]:
    """The item's columns in words, to say what an edit changed."""
    link_ids = (
        using_links
        if using_links is not None
        else await DutyLink.filter(item_id=item.id).values_list("organisation_id", flat=True)
    )
    names = (
        await Organisation.filter(id__in=list(link_ids))
        .order_by("path")
        .values_list("name", flat=True)
    )
    return {
        "问题": item.problem,
        "任务": item.task,
        "措施": item.measures,
        "时限": f"{item.deadline.year}年{item.deadline.month}月{item.deadline.day}日",
        "年度": str(item.year),
        "来源": DutySource(item.source).value,
        "责任人": await owner_text(item),
        "涉及组织": "、".join(str(n) for n in names) or "无",
    }


async def owner_text(item: DutyItem) -> str:
    """张三（第一社区党总支） / 第一社区党总支书记."""
    if item.owner_id is not None:
        owner = await Member.get_or_none(id=item.owner_id).prefetch_related("organisation")
        return f"{owner.name}（{owner.organisation.name}）" if owner else "（已不在册）"
    if item.owner_org_id is not None:
        org = await Organisation.get_or_none(id=item.owner_org_id)
        if org is None:
            return "（组织已撤销）"
        return f"{org.name}书记"
    return "未指定"


def check_link(link: str) -> str:
    link = link.strip()
    if not link:
        return ""
    if len(link) > LIMITS["link"] or not link.startswith(("https://", "http://")):
        raise ValidationFailed("链接应以 http:// 或 https:// 开头，500 字以内。", field="link")
    return link


def check_file(file: Attachment | None) -> Attachment | None:
    if file is None or not file.data:
        return None
    if len(file.data) > FILE_MAX:
        raise ValidationFailed("附件不能超过 1 MB。", field="file")
    name = "".join(ch for ch in file.name if ch.isprintable() and ch not in '\\/:*?"<>|')
    return Attachment(name.strip()[:120] or "附件", file.content_type[:100], file.data)


async def add_note(
    actor: Member,
    item: DutyItem,
    text: str,
    now: datetime,
    today: date,
    *,
    evidence: bool = False,
    link: str = "",
    file: Attachment | None = None,
) -> DutyNote:
    """Progress (or evidence: text, an optional link, an optional file) by staff or 责任人."""
    await who.require_reporter(actor, item)
    said = words(text, "note")
    link = check_link(link)
    attached = check_file(file)
    kind = NoteKind.EVIDENCE if evidence or link or attached else NoteKind.PROGRESS
    async with in_transaction() as conn:
        note = await DutyNote.create(
            item_id=item.id, kind=kind, day=today, text=said, link=link, by_id=actor.id, at=now,
            using_db=conn,
        )  # fmt: skip
        if attached is not None:
            await DutyFile.create(
                note_id=note.id, name=attached.name, content_type=attached.content_type,
                size=len(attached.data), data=attached.data, using_db=conn,
            )  # fmt: skip
    return note


async def complete(actor: Member, item: DutyItem, note: str, now: datetime, today: date) -> None:
    """Declared done by the committee's staff, with what was done."""
    await who.require_keeper(actor, item)
    said = words(note, "note")
    async with in_transaction() as conn:
        changed = (
            await DutyItem.filter(id=item.id, completed_on__isnull=True)
            .using_db(conn)
            .update(completed_on=today, completed_by_id=actor.id)
        )
        if not changed:
            raise Conflict("这一项已经标记为完成。", field="note")
        await DutyNote.create(
            item_id=item.id, kind=NoteKind.DONE, day=today, text=said, by_id=actor.id, at=now,
            using_db=conn,
        )  # fmt: skip


async def reopen(actor: Member, item: DutyItem, reason: str, now: datetime, today: date) -> None:
    """A done item opened again by the committee's staff, with the reason."""
    await who.require_keeper(actor, item)
    said = words(reason, "note")
    async with in_transaction() as conn:
        changed = (
            await DutyItem.filter(id=item.id, completed_on__isnull=False)
            .using_db(conn)
            .update(completed_on=None, completed_by_id=None)
        )
        if not changed:
            raise Conflict("这一项尚未完成，无需重新打开。", field="note")
        await DutyNote.create(
            item_id=item.id, kind=NoteKind.REOPEN, day=today, text=said, by_id=actor.id, at=now,
            using_db=conn,
        )  # fmt: skip
