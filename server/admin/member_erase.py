"""删除个人信息 on the dashboard: the member page's form, posted (`member_privacy`).

The form carries the session's form token (`community_forms.form_token`) and a ticked
已核实是本人的申请 (the dashboard's counterpart of the command's question, before 确认删除);
the service checks the rest before it writes anything (the reason, who erases, still 在册,
an open 流动 or 失联 record, an erasure already made).  A refusal brings the member's page
back with it on top, the field named and the form as it was sent; a refusal of who may do it,
or a form not from our page, is the dashboard's one refusal page.  Done, the browser goes to
the member's page, which says so (POST/redirect/GET: reloading it erases nothing).

A second submit of the same form — a double click, a reload, a colleague at the same moment —
meets the erasure already recorded (the row is unique): the page says it is done, politely,
and nothing is erased twice.
"""

from __future__ import annotations

from aiohttp import web

from server.admin.community_forms import check_form, text
from server.admin.member_privacy import page, staff_member, target_of
from server.admin.pages import message_page
from server.errors import Conflict, DangjianError, ValidationFailed
from server.models.privacy import Erasure
from server.services.privacy.erase import erase_member
from server.typedefs import CACHE, CLOCK, IDENTITIES, SETTINGS

NOT_CONFIRMED = "请勾选“已核实是本人的申请”，再按“确认删除”：删除后不能恢复。"


async def erase(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        staff = await staff_member(request)
        check_form(request, form, "党员的个人信息")
        target = await target_of(staff, request.match_info["id"])
    except DangjianError as exc:
        return message_page(
            request, "未能完成", exc.user_message, status=exc.http_status, field=exc.field
        )
    reason = text(form, "reason")
    try:
        if form.get("confirm") != "yes":
            raise ValidationFailed(NOT_CONFIRMED, field="confirm")
        await erase_member(
            target.id,
            staff,
            reason,
            now=request.config_dict[CLOCK].now(),
            identities=request.config_dict[IDENTITIES],
            cache=request.config_dict[CACHE],
            zone=request.config_dict[SETTINGS].zone,
        )
    except (ValidationFailed, Conflict) as exc:
        if await Erasure.exists(member_id=target.id):
            # Already done (this form twice, or someone else): said as done, not as a failure.
            erased = await target_of(staff, str(target.id))  # its name as it is now
            return await page(request, staff, erased, error=exc, status=200)
        sent = {"form": "erase", "reason": reason}
        return await page(request, staff, target, error=exc, failed=sent, status=exc.http_status)
    except DangjianError as exc:
        return message_page(
            request, "未能完成", exc.user_message, status=exc.http_status, field=exc.field
        )
    raise web.HTTPSeeOther(location=f"/admin/members/{target.id}/privacy?done=1")
