"""党员管理's 个人信息: a member's data handed over on request (查阅、复制权) and erased once
they have left (删除权), at the staff's door — what `dangjian member-data` and `erase-member`
do at the operator's terminal, through the same services (`services/privacy`).

Only the committee's staff (党工委工作人员, 系统管理员) get in, and only to members of an
organisation in their scope; a secretary, or staff of another subtree, gets the dashboard's
one 403 page, as for a member that does not exist.  Everything here is by member id: the
phone is neither asked for nor shown (a finder by name lists those who have left).

- `finder`: the organisation's members who left (转出, 停止党籍), or anyone found by name;
- `member_page`: one member — the download, and the erasure's preview with its form (or the
  reason it is refused: still 在册, an open 流动 or 失联 record), or the record of an erasure;
- `download`: the XLSX, logged by ids only.

The form is posted to `member_erase`.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from tortoise.expressions import Q

from server.admin.community_forms import form_token
from server.admin.pages import render
from server.admin.selection import org_id
from server.admin.signing import signed_in
from server.days import chinese
from server.downloads import XLSX, attachment
from server.errors import Conflict, DangjianError, ValidationFailed
from server.models.people import Member, MemberStatus, Organisation, OrgKind
from server.models.privacy import Erasure
from server.services.people.access import (
    Hidden,
    NotAllowed,
    member_in_scope,
    organisation_in_scope,
    scope_of,
)
from server.services.people.scope import under
from server.services.privacy.erase import ERASERS, KEPT_LABELS, LABELS, STATUS_WORDS, preview
from server.services.privacy.export import member_data
from server.typedefs import CLOCK, SETTINGS

log = logging.getLogger("dangjian.admin")

STAFF_ONLY = "个人信息的导出和删除由党工委工作人员或系统管理员办理。"
FIELDS = {"reason": "删除理由", "confirm": "已核实是本人的申请"}
FOUND_MOST = 100  # a finder's list; a name narrows it


async def staff_member(request: web.Request) -> Member:
    member = await signed_in(request)
    if member.role not in ERASERS:
        raise NotAllowed(STAFF_ONLY)
    return member


async def target_of(staff: Member, raw: str) -> Member:
    """The member in the URL, if in the staff member's scope; Hidden otherwise."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise Hidden()
    return await member_in_scope(await scope_of(staff), int(raw))


def status_of(member: Member) -> str:
    return STATUS_WORDS.get(str(member.status), str(member.status))


async def finder(request: web.Request) -> web.Response:
    staff = await staff_member(request)
    scope = await scope_of(staff)
    org = await organisation_in_scope(scope, org_id(request.query))
    q = " ".join(request.query.get("q", "").split())
    if len(q) > 20:
        raise ValidationFailed("姓名请写在20字以内。", field="q")
    where = Q(group_id=org.id) if org.kind is OrgKind.GROUP else under(org.path)
    found = Member.filter(scope.members(), where)
    # Without a name: those who left and are not yet erased (the usual request); with one,
    # anyone of that name, on the roster or not.
    if q:
        found = found.filter(name__contains=q)
    else:
        erased = await Erasure.all().values_list("member_id", flat=True)
        found = found.exclude(status=MemberStatus.ACTIVE).exclude(id__in=list(erased))
    people = (
        await found.order_by("name", "id")
        .limit(FOUND_MOST)
        .prefetch_related("organisation", "group")
    )
    done = set(
        await Erasure.filter(member_id__in=[p.id for p in people]).values_list(
            "member_id", flat=True
        )
    )
    context: dict[str, Any] = {
        "title": f"个人信息 · {org.name}",
        "member": staff,
        "org": org,
        "q": q,
        "people": people,
        "erased": done,
        "status_of": status_of,
        "most": FOUND_MOST,
    }
    return render(request, "privacy_find.html", context)


async def member_page(request: web.Request) -> web.Response:
    staff = await staff_member(request)
    target = await target_of(staff, request.match_info["id"])
    return await page(request, staff, target, done=request.query.get("done") == "1")


async def page(
    request: web.Request,
    staff: Member,
    target: Member,
    *,
    done: bool = False,
    error: DangjianError | None = None,
    failed: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The member's page; after a refused form, the refusal on top and the form as sent."""
    zone = request.config_dict[SETTINGS].zone
    erasure = await Erasure.get_or_none(member_id=target.id)
    seen, refusal = None, None
    if erasure is None:
        try:
            seen = await preview(target.id, staff, zone=zone)
        except Conflict as exc:  # still 在册, an open 流动 or 失联 record: why not, in words
            refusal = exc
    by = None
    if erasure is not None and erasure.by_id is not None:
        by = await Member.get_or_none(id=erasure.by_id)
    context: dict[str, Any] = {
        "title": f"个人信息 · {target.name}",
        "member": staff,
        "target": target,
        "status": status_of(target),
        "place": _place(target),
        "erasure": erasure,
        "erased_day": chinese(erasure.at.astimezone(zone).date()) if erasure is not None else "",
        "by": by,
        "seen": seen,
        "refusal": refusal,
        "labels": LABELS,
        "kept_labels": KEPT_LABELS,
        "done": done and erasure is not None,
        "error": error,
        "error_field": FIELDS.get(error.field or "") if error is not None else None,
        "failed": failed or {},
        "token": form_token(request),
    }
    return render(request, "privacy.html", context, status=status)


def _place(target: Member) -> str:
    org = target.organisation
    assert isinstance(org, Organisation)  # fetched by member_in_scope
    group = target.group
    return f"{org.name} · {group.name}" if isinstance(group, Organisation) else org.name


async def download(request: web.Request) -> web.Response:
    staff = await staff_member(request)
    target = await target_of(staff, request.match_info["id"])
    zone, now = request.config_dict[SETTINGS].zone, request.config_dict[CLOCK].now()
    data = await member_data(target.id, zone=zone, now=now)
    day = now.astimezone(zone).date()
    # Who took a member's data out, and whose: ids only, never what the file holds.
    log.info("member data exported", extra={"member_id": target.id, "by_id": staff.id})
    return attachment(
        data,
        XLSX,
        f"member-data-{target.id}-{day:%Y%m%d}.xlsx",
        f"个人信息-{target.id}-{day:%Y%m%d}.xlsx",
    )
