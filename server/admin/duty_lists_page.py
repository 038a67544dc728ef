"""五张清单 on the dashboard: `/admin/duties` and `/admin/duties/{id}`.

The list: the items the signed-in member may read (`services.duty_lists.who`), filtered by
year, source (来源), organisation, 责任人 and state, with the counts of each state over the same
filters — each count a link to the items it counts.  For the committee's staff, the forms to
write an item and to carry the year's unfinished items into the next; for a 党总支 or a branch
the items that concern it, read-only.  `/admin/duties/export` is the same rows as the
committee's own table (XLSX); an item's page has its five columns, the organisations it
concerns, its notes and evidence (a file downloads from `/admin/duties/files/{id}`), and for
staff the forms to edit it, declare it done or reopen it (`duty_lists_actions`).

A query value that is not one of the choices is refused naming the field; an item or file
outside the caller's reach is refused as one that does not exist (`Hidden`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from server.admin.community_forms import form_token
from server.admin.pages import render
from server.admin.signing import signed_in
from server.downloads import XLSX, attachment
from server.errors import DangjianError, ValidationFailed
from server.models.duty_lists import DutyFile, DutyItem, DutyNote, DutySource
from server.models.people import Member, MemberStatus, Organisation, OrgKind, Role
from server.services.duty_lists import reading, who
from server.services.duty_lists.export import workbook
from server.services.duty_lists.items import FILE_MAX, owner_text
from server.services.duty_lists.reading import Filters
from server.services.duty_lists.status import AT_RISK, AT_RISK_DAYS, FILTER_WORDS, FILTERS
from server.services.people.access import Hidden, scope_of
from server.services.people.scope import subtree, under
from server.services.tallies.workbook import file_name_part
from server.typedefs import CLOCK, SETTINGS

# The forms' fields in words, for the line that says what to check.
FIELDS = {
    "year": "年度",
    "source": "来源",
    "problem": "问题",
    "task": "任务",
    "measures": "措施",
    "deadline": "时限",
    "owner": "责任人",
    "links": "涉及组织",
    "note": "内容",
    "link": "链接",
    "file": "附件",
    "org": "组织",
    "state": "完成情况",
    "id": "编号",
}
# Who may be named 责任人 from the form: the street's leaders, committee members and staff.
OWNER_ROLES = [r for r in Role if r is not Role.MEMBER]


def today_of(request: web.Request) -> date:
    return request.config_dict[CLOCK].now().astimezone(request.config_dict[SETTINGS].zone).date()


def _digits(raw: str, field: str, most: int = 9) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > most:
        raise ValidationFailed(f"{FIELDS[field]}应从列表中选择。", field=field)
    return int(raw)


def filters_of(query: Any, this_year: int) -> Filters:
    """The list's filters from the query; a value not among the choices names its field."""
    raw_year = query.get("year", "").strip()
    year = this_year if not raw_year else _digits(raw_year, "year", 4)
    source = query.get("source", "").strip()
    if source and source not in {s.value for s in DutySource}:
        raise ValidationFailed("来源应从列表中选择。", field="source")
    state = query.get("state", "").strip()
    if state and state not in FILTERS and state != AT_RISK:
        raise ValidationFailed("完成情况应从列表中选择。", field="state")
    org = query.get("org", "").strip()
    owner = query.get("owner", "").strip()
    owner_id = owner_org_id = None
    if owner:
        if owner[:1] not in ("m", "o"):
            raise ValidationFailed("责任人应从列表中选择。", field="owner")
        number = _digits(owner[1:], "owner")
        owner_id, owner_org_id = (number, None) if owner[0] == "m" else (None, number)
    return Filters(
        year=year,
        source=DutySource(source) if source else None,
        org_id=_digits(org, "org") if org else None,
        owner_id=owner_id,
        owner_org_id=owner_org_id,
        state=state,
    )


def query_of(filters: Filters, **extra: str) -> str:
    values = {
        "year": str(filters.year) if filters.year is not None else "",
        "source": filters.source.value if filters.source else "",
        "org": str(filters.org_id) if filters.org_id else "",
        "owner": (
            f"m{filters.owner_id}"
            if filters.owner_id
            else f"o{filters.owner_org_id}"
            if filters.owner_org_id
            else ""
        ),
        "state": filters.state,
    } | extra
    return urlencode({k: v for k, v in values.items() if v})


@dataclass(frozen=True)
class Choices:
    """What the filters and forms offer: organisations and 责任人 of the caller's reach."""

    orgs: list[Organisation]  # 党总支 and 党支部, in the tree's order
    people: list[Member]  # who may be named 责任人 (staff only)
    owners: list[tuple[str, str]]  # (value, words) of the owners of the items shown


async def choices(member: Member, committee: Organisation | None, found: list[Any]) -> Choices:
    scope = await scope_of(member)
    kinds = [OrgKind.GENERAL_BRANCH, OrgKind.BRANCH]
    orgs = Organisation.filter(kind__in=kinds)
    if committee is not None:
        orgs = orgs.filter(subtree(committee.path))
    elif not scope.everything:
        orgs = orgs.filter(subtree(scope.path or "/"))
    people: list[Member] = []
    if committee is not None:
        people = (
            await Member.filter(
                under(committee.path), role__in=OWNER_ROLES, status=MemberStatus.ACTIVE
            )
            .order_by("organisation_id", "id")
            .prefetch_related("organisation")
        )
    owners: dict[str, str] = {}
    for line in found:
        item = line.item
        key = f"m{item.owner_id}" if item.owner_id else f"o{item.owner_org_id}"
        owners.setdefault(key, line.owner)
    return Choices(
        orgs=await orgs.order_by("path"),
        people=people,
        owners=sorted(owners.items(), key=lambda kv: kv[1]),
    )


async def staff_committee(member: Member) -> Organisation | None:
    """The committee whose lists `member` keeps, or None when they only read."""
    try:
        return await who.committee_of(member)
    except DangjianError:
        return None


async def list_page(request: web.Request) -> web.Response:
    member = await signed_in(request)
    today = today_of(request)
    try:
        filters = filters_of(request.query, today.year)
    except ValidationFailed as exc:
        return await page(request, member, Filters(year=today.year), error=exc, status=400)
    return await page(request, member, filters, done=request.query.get("done", "")[:200])


async def page(
    request: web.Request,
    member: Member,
    filters: Filters,
    *,
    done: str = "",
    error: DangjianError | None = None,
    failed: dict[str, str] | None = None,
    status: int | None = None,
) -> web.Response:
    """The list; after a refused form, the refusal on top and that form as it was sent."""
    today = today_of(request)
    committee = await staff_committee(member)
    unfiltered = await reading.lines(member, today, replace(filters, state=""))
    shown = await reading.lines(member, today, filters)
    counts = reading.counts(unfiltered, today)
    years = sorted({*await reading.years(member), today.year, today.year + 1}, reverse=True)
    context: dict[str, Any] = {
        "title": "五张清单",
        "member": member,
        "committee": committee,
        "filters": filters,
        "query": query_of(filters),
        "state_links": [
            (key, words, n, query_of(filters, state=key) if key else query_of(filters, state=""))
            for key, words, n in counts.items()
        ],
        "state_words": FILTER_WORDS,
        "lines": shown,
        "choices": await choices(member, committee, unfiltered),
        "years": years,
        "sources": [s.value for s in DutySource],
        "today": today,
        "at_risk_days": AT_RISK_DAYS,
        "done": done,
        "error": error,
        "error_field": FIELDS.get(error.field or "") if error is not None else None,
        "failed": failed or {},
        "token": form_token(request),
        "next_year_end": date(filters.year + 1 if filters.year else today.year + 1, 12, 31),
    }
    code = status or (error.http_status if error is not None else 200)
    return render(request, "duty_lists.html", context, status=code)


def item_id_of(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise Hidden()
    return int(raw)


async def item_page(request: web.Request) -> web.Response:
    member = await signed_in(request)
    item = await who.readable(member, item_id_of(request))
    return await show_item(request, member, item, done=request.query.get("done", "")[:200])


async def show_item(
    request: web.Request,
    member: Member,
    item: DutyItem,
    *,
    done: str = "",
    error: DangjianError | None = None,
    failed: dict[str, str] | None = None,
) -> web.Response:
    today = today_of(request)
    line = (await reading.described([item], today))[0]
    notes = await DutyNote.filter(item_id=item.id).order_by("at", "id")
    files: dict[int, list[DutyFile]] = {}
    for f in await DutyFile.filter(note_id__in=[n.id for n in notes]).only(
        "id", "note_id", "name", "size"
    ):
        files.setdefault(f.note_id, []).append(f)
    people = {
        m.id: m.name
        for m in await Member.filter(id__in=[n.by_id for n in notes if n.by_id is not None])
    }
    keeps = await who.keeps(member, item)
    committee = await Organisation.get(id=item.committee_id)
    offered = await choices(member, committee if keeps else None, [line])
    owner_value = f"m{item.owner_id}" if item.owner_id else f"o{item.owner_org_id}"
    listed = {f"o{o.id}" for o in offered.orgs} | {f"m{p.id}" for p in offered.people}
    context: dict[str, Any] = {
        "title": f"五张清单 · 第 {item.id} 项",
        "member": member,
        "item": item,
        "line": line,
        "notes": notes,
        "files": files,
        "people": people,
        "keeps": keeps,
        "reports": keeps or await who.owns(member, item),
        "committee": committee,
        "carried_from": await DutyItem.get_or_none(id=item.carried_from_id)
        if item.carried_from_id
        else None,
        "choices": offered,
        "sources": [s.value for s in DutySource],
        "link_ids": [o.id for o in line.links],
        "owner_value": owner_value,
        "owner_listed": owner_value in listed,
        "owner_words": await owner_text(item),
        "file_limit": _file_limit(request),
        "today": today,
        "done": done,
        "error": error,
        "error_field": FIELDS.get(error.field or "") if error is not None else None,
        "failed": failed or {},
        "token": form_token(request),
    }
    status = error.http_status if error is not None else 200
    return render(request, "duty_item.html", context, status=status)


def _file_limit(request: web.Request) -> str:
    """The largest attachment a form can carry: the service's limit, or the app's for a whole
    form (DANGJIAN_MAX_BODY_BYTES), whichever is smaller."""
    most = min(FILE_MAX, request.config_dict[SETTINGS].max_body_bytes)
    return f"{most // (1024 * 1024)} MB" if most >= 1024 * 1024 else f"{most // 1024} KB"


async def export(request: web.Request) -> web.Response:
    """The rows the list shows with the same filters, as the committee's own table."""
    member = await signed_in(request)
    today = today_of(request)
    filters = filters_of(request.query, today.year)
    found = await reading.lines(member, today, filters)
    committee = await staff_committee(member)
    name = committee.name if committee else "五张清单"
    year = filters.year or today.year
    heading = f"{name}{year}年度抓基层党建工作“五张清单”" if committee else f"{year}年度五张清单"
    said = [f"{year}年度"]
    if filters.source:
        said.append(f"来源：{filters.source.value}")
    if filters.state:
        said.append(f"完成情况：{FILTER_WORDS[filters.state]}")
    body = await workbook(heading, "　".join(said), found, today)
    return attachment(
        body,
        XLSX,
        f"duty-lists-{year}-{today:%Y%m%d}.xlsx",
        f"五张清单_{file_name_part(name)}_{year}_{today:%Y%m%d}.xlsx",
    )


async def file_download(request: web.Request) -> web.Response:
    """An evidence file, for whoever may read its item; always as a download."""
    member = await signed_in(request)
    found = await DutyFile.get_or_none(id=item_id_of(request)).prefetch_related("note")
    if found is None:
        raise Hidden()
    await who.readable(member, found.note.item_id)
    return attachment(
        bytes(found.data),
        "application/octet-stream",
        f"evidence-{found.id}",
        found.name,
    )
