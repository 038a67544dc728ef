"""The 五张清单 forms: 新增事项 and 结转 on the list; 修改, 记录进展/上传佐证, 标记完成 and
重新打开 on an item's page.

Each calls the service and comes back with a line saying what was done (POST/redirect/GET).
A form the rules refuse (an empty 问题, a 时限 in the past, a 责任人 of another street) brings
the page back with the refusal on top, the field named and the form as it was sent; nothing
has changed, for the services check everything before they write.  A refusal of who may do it
— an item out of reach, a form not from our page, a branch that only reads — is the
dashboard's one refusal page.  Forms carry the session's form token (`community_forms`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from yarl import URL

from server.admin import duty_lists_page
from server.admin.community_forms import TOKEN, check_form, text
from server.admin.pages import message_page
from server.admin.signing import signed_in
from server.errors import Conflict, DangjianError, ValidationFailed
from server.models.duty_lists import DutyItem, DutySource
from server.models.people import Member
from server.services.duty_lists import carry, items, who
from server.services.duty_lists.items import Attachment, Draft
from server.services.duty_lists.reading import Filters
from server.typedefs import CLOCK

PAGE = "五张清单"


def _day(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("请选择日期。", field=field) from None


def _number(raw: str, field: str, most: int = 9) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > most:
        raise ValidationFailed("请从列表中选择。", field=field)
    return int(raw)


def draft_of(form: Any) -> Draft:
    source = text(form, "source")
    if source not in {s.value for s in DutySource}:
        raise ValidationFailed("来源应从列表中选择。", field="source")
    owner = text(form, "owner")
    if owner[:1] not in ("m", "o"):
        raise ValidationFailed("请选择责任人。", field="owner")
    number = _number(owner[1:], "owner")
    links = [_number(v, "links") for v in form.getall("links", []) if isinstance(v, str)]
    return Draft(
        problem=text(form, "problem"),
        task=text(form, "task"),
        measures=text(form, "measures"),
        deadline=_day(text(form, "deadline"), "deadline"),
        year=_number(text(form, "year"), "year", 4),
        source=DutySource(source),
        owner_id=number if owner[0] == "m" else None,
        owner_org_id=number if owner[0] == "o" else None,
        links=links,
    )


def _sent(form: Any) -> dict[str, str]:
    sent = {k: v for k, v in form.items() if isinstance(v, str) and k not in (TOKEN, "links")}
    sent["links"] = ",".join(v for v in form.getall("links", []) if isinstance(v, str))
    return sent


def _refused(request: web.Request, exc: DangjianError) -> web.Response:
    return message_page(
        request, "未能完成", exc.user_message, status=exc.http_status, field=exc.field
    )


# --- on the list ----------------------------------------------------------------------------

ListAct = Callable[[web.Request, Member, Any], Awaitable[str]]


async def _on_list(request: web.Request, act: ListAct) -> web.Response:
    member = await signed_in(request)
    form = await request.post()
    try:
        check_form(request, form, PAGE)
        await who.committee_of(member)  # staff only, before anything is read
        done = await act(request, member, form)
    except (ValidationFailed, Conflict) as exc:
        today = duty_lists_page.today_of(request)
        return await duty_lists_page.page(
            request, member, Filters(year=today.year), error=exc, failed=_sent(form)
        )
    except DangjianError as exc:
        return _refused(request, exc)
    raise web.HTTPSeeOther(location=str(URL("/admin/duties").with_query(done=done)))


async def _create(request: web.Request, member: Member, form: Any) -> str:
    committee = await who.committee_of(member)
    now = request.config_dict[CLOCK].now()
    today = duty_lists_page.today_of(request)
    item = await items.create(member, committee, draft_of(form), now, today)
    return f"已新增第 {item.id} 项：{item.task[:30]}"


async def _carry(request: web.Request, member: Member, form: Any) -> str:
    committee = await who.committee_of(member)
    now = request.config_dict[CLOCK].now()
    today = duty_lists_page.today_of(request)
    year = _number(text(form, "year"), "year", 4)
    made = await carry.carry_over(
        member, committee, year, _day(text(form, "deadline"), "deadline"), now, today
    )
    if not made:
        return f"{year}年没有需要结转的未完成事项（已完成的和已结转的不再结转）。"
    return f"已将{year}年未完成的 {len(made)} 项结转至{year + 1}年。"


async def create(request: web.Request) -> web.Response:
    return await _on_list(request, _create)


async def carry_over(request: web.Request) -> web.Response:
    return await _on_list(request, _carry)


# --- on an item's page ------------------------------------------------------------------------

ItemAct = Callable[[web.Request, Member, DutyItem, Any], Awaitable[str]]


async def _on_item(request: web.Request, act: ItemAct) -> web.Response:
    member = await signed_in(request)
    form = await request.post()
    item: DutyItem | None = None
    try:
        check_form(request, form, PAGE)
        item = await who.readable(member, duty_lists_page.item_id_of(request))
        done = await act(request, member, item, form)
    except (ValidationFailed, Conflict) as exc:
        if item is None:
            return _refused(request, exc)
        return await duty_lists_page.show_item(request, member, item, error=exc, failed=_sent(form))
    except DangjianError as exc:
        return _refused(request, exc)
    location = URL(f"/admin/duties/{item.id}").with_query(done=done)
    raise web.HTTPSeeOther(location=str(location))


def _moment(request: web.Request) -> tuple[Any, date]:
    return request.config_dict[CLOCK].now(), duty_lists_page.today_of(request)


async def _edit(request: web.Request, member: Member, item: DutyItem, form: Any) -> str:
    await who.require_keeper(member, item)
    now, today = _moment(request)
    changed = await items.edit(member, item, draft_of(form), now, today)
    return "已保存修改：" + "；".join(changed) if changed else "没有改动。"


async def _note(request: web.Request, member: Member, item: DutyItem, form: Any) -> str:
    await who.require_reporter(member, item)
    now, today = _moment(request)
    upload = form.get("file")
    file = None
    if isinstance(upload, web.FileField) and upload.filename:
        # Some clients (aiohttp's among them) percent-encode a name that is not ASCII.
        name = unquote(upload.filename)
        file = Attachment(name, upload.content_type or "", upload.file.read())
    note = await items.add_note(
        member, item, text(form, "note"), now, today,
        evidence=text(form, "evidence") == "1", link=text(form, "link"), file=file,
    )  # fmt: skip
    return f"已记录{note.kind.value}。"


async def _complete(request: web.Request, member: Member, item: DutyItem, form: Any) -> str:
    now, today = _moment(request)
    await items.complete(member, item, text(form, "note"), now, today)
    return f"第 {item.id} 项已标记完成。"


async def _reopen(request: web.Request, member: Member, item: DutyItem, form: Any) -> str:
    now, today = _moment(request)
    await items.reopen(member, item, text(form, "note"), now, today)
    return f"第 {item.id} 项已重新打开。"


ITEM_ACTS: dict[str, ItemAct] = {
    "edit": _edit,
    "notes": _note,
    "done": _complete,
    "reopen": _reopen,
}


async def item_action(request: web.Request) -> web.Response:
    return await _on_item(request, ITEM_ACTS[request.match_info["action"]])
