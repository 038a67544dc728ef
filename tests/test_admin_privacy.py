"""个人信息 on the dashboard: the committee's staff hand a member their data and, once the member
has left, erase it — from 党员管理, with the form token, a reason and a ticked 确认删除.

The street of test_admin_pages (李书记 and 王芳 in the first branch, 陈明 in the second, 赵干事 at
the committee), and 孙丽, who left the first branch (转出) and asks for her data to be deleted.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from datetime import timedelta
from typing import Any

import openpyxl
import pytest

from server.channels import Channel
from server.downloads import XLSX
from server.logs import JsonFormatter
from server.models.mobility import FlowReason
from server.models.people import Member, MemberStatus, Role, WeChatIdentity
from server.models.privacy import Erasure
from server.services.mobility import outgoing
from server.services.mobility.outgoing import Outgoing
from tests import test_admin_pages
from tests.conftest import APPID, make_member
from tests.test_admin_mobile import token_of
from tests.test_admin_pages import NOW, Street, sign_in

street = pytest.fixture(test_admin_pages.street.__wrapped__)  # the same street, fixture and all

LEAVER_PHONE = "13900000005"
LEAVER_OPENID = "oSunLiLeftTheBranch000000001"  # 28 characters, as WeChat's
REASON = "本人书面申请删除个人信息（2026年11月25日）"


async def leaver(s: Street) -> Member:
    """孙丽: 转出 from the first branch, her WeChat still bound."""
    sun = await make_member("孙丽", LEAVER_PHONE, org=s.one, status=MemberStatus.TRANSFERRED)
    await WeChatIdentity.create(
        appid=APPID, openid=LEAVER_OPENID, channel=Channel.OFFICIAL_ACCOUNT, member=sun
    )
    return sun


def cells(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return "\n".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


async def page_of(s: Street, member: Member) -> tuple[int, str]:
    resp = await s.client.get(f"/admin/members/{member.id}/privacy")
    return resp.status, await resp.text()


async def erase(s: Street, member: Member, **form: str) -> Any:
    return await s.client.post(
        f"/admin/members/{member.id}/erase", data=form, allow_redirects=False
    )


async def session_token(s: Street) -> str:
    """The session's form token from another page's form: for a member page that has none."""
    mobile = await s.client.get("/admin/mobile", params={"org": str(s.one.id)})
    return token_of(await mobile.text())


def asked(token: str, reason: str = REASON, **extra: str) -> dict[str, str]:
    return {"form_token": token, "form": "erase", "reason": reason, "confirm": "yes"} | extra


async def untouched(member: Member) -> None:
    """Nothing changed: the name and phone as they were, still bound, no erasure."""
    now = await Member.get(id=member.id)
    assert (now.name, now.phone) == (member.name, member.phone)
    assert await WeChatIdentity.filter(member_id=member.id).exists()
    assert not await Erasure.exists()


# --- 导出个人信息 -------------------------------------------------------------------------------


async def test_staff_hand_a_member_her_own_file_and_nobody_elses(
    street: Street, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dangjian.admin")
    await sign_in(street.client, street.staff)
    listed = await street.client.get("/admin/members", params={"org": str(street.one.id)})
    assert f'href="/admin/members/{street.member.id}/privacy"' in await listed.text()

    # Found by name on the 个人信息 page, on the roster or not; a name too long is named.
    found = await street.client.get("/admin/members/privacy", params={"q": "王芳"})
    assert found.status == 200 and f'href="/admin/members/{street.member.id}/privacy"' in (
        await found.text()
    )
    too_long = await street.client.get("/admin/members/privacy", params={"q": "王" * 21})
    assert too_long.status == 400 and "请检查：<strong>搜索内容</strong>" in await too_long.text()

    status, page = await page_of(street, street.member)
    assert status == 200 and "个人信息 · 王芳" in page and "导出个人信息（Excel）" in page

    resp = await street.client.get(f"/admin/members/{street.member.id}/data.xlsx")
    assert resp.status == 200 and resp.headers["Content-Type"] == XLSX
    assert f"member-data-{street.member.id}-20261125.xlsx" in resp.headers["Content-Disposition"]
    text = cells(await resp.read())
    assert "王芳" in text and "13900000002" in text  # her own phone, in full: it is her data
    for someone_elses in ("李书记", "陈明", "13900000001", "13900000004"):
        assert someone_elses not in text

    # Logged: who took whose data out, by id, and nothing the file holds.
    lines = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.getMessage() == "member data exported"
    ]
    assert [(x["member_id"], x["by_id"]) for x in lines] == [(street.member.id, street.staff.id)]
    assert "王芳" not in str(lines) and "13900000002" not in str(lines)


async def test_a_secretary_or_staff_of_another_branch_gets_neither(street: Street) -> None:
    sun = await leaver(street)
    await sign_in(street.client, street.secretary)
    members = await street.client.get("/admin/members")
    offered = await members.text()
    assert members.status == 200 and "王芳" in offered
    assert "privacy-link" not in offered and "个人信息（导出、删除）" not in offered
    token = await session_token(street)  # a good token of her own session: still not hers
    for path in (
        f"/admin/members/{sun.id}/privacy",
        f"/admin/members/{sun.id}/data.xlsx",
        f"/admin/members/privacy?org={street.one.id}",
    ):
        resp = await street.client.get(path)
        assert resp.status == 403 and "党工委工作人员" in await resp.text(), path
    refused = await erase(street, sun, **asked(token))
    assert refused.status == 403 and "党工委工作人员" in await refused.text()
    await untouched(sun)

    # Staff of the second branch only: the first branch's member is as one that does not exist.
    other = await make_member("钱干事", "13900000006", role=Role.STAFF, org=street.two)
    await sign_in(street.client, other)
    for path in (f"/admin/members/{sun.id}/privacy", f"/admin/members/{sun.id}/data.xlsx"):
        resp = await street.client.get(path)
        assert resp.status == 403 and "无权访问，或该对象不存在" in await resp.text()
    assert (await street.client.get("/admin/members/99999/data.xlsx")).status == 403
    assert (await street.client.get("/admin/members/x/data.xlsx")).status == 404
    await untouched(sun)


# --- 删除个人信息 -------------------------------------------------------------------------------


async def test_staff_erase_a_member_who_left_after_reading_what_will_go(street: Street) -> None:
    sun = await leaver(street)
    await sign_in(street.client, street.staff)
    found = await street.client.get("/admin/members/privacy", params={"org": str(street.one.id)})
    listed = await found.text()
    assert "孙丽" in listed and "王芳" not in listed  # those who left; the roster is elsewhere
    assert LEAVER_PHONE not in listed  # no phone on the member pages

    status, page = await page_of(street, sun)
    assert status == 200 and "将删除<strong>孙丽</strong>" in page and "已转出" in page
    assert re.search(r"微信绑定（解除并删除）<b>1</b>", page)  # erase-member's own preview
    assert "确认删除" in page and LEAVER_PHONE not in page

    done = await erase(street, sun, **asked(token_of(page)))
    assert done.status == 303
    assert done.headers["Location"] == f"/admin/members/{sun.id}/privacy?done=1"
    after = await street.client.get(done.headers["Location"])
    text = await after.text()
    assert after.status == 200 and "已删除。" in text and "删除记录" in text
    assert f"个人信息 · 已删除党员#{sun.id}" in text and "赵干事（党工委工作人员）" in text
    assert "孙丽" not in text and "导出个人信息（Excel）" not in text

    gone = await Member.get(id=sun.id)
    assert (gone.name, gone.phone) == (f"已删除党员#{sun.id}", f"已删除{sun.id}")
    assert gone.gender is None and not await WeChatIdentity.filter(member_id=sun.id).exists()
    record = await Erasure.get(member_id=sun.id)
    assert (record.by_id, record.reason, record.erased["identities"]) == (
        street.staff.id, REASON, 1
    )  # fmt: skip
    # Off the finder's list of those still to be erased; 王芳 and 陈明 untouched.
    listed = await (await street.client.get("/admin/members/privacy")).text()
    assert "已删除党员" not in listed
    assert await Member.filter(name__in=["王芳", "陈明"]).count() == 2


async def test_a_member_on_the_roster_is_told_to_be_transferred_first(street: Street) -> None:
    await sign_in(street.client, street.staff)
    status, page = await page_of(street, street.member)
    assert status == 200 and "请先办理转出" in page
    assert 'action="/admin/members/' not in page  # no form to press

    # Posted all the same (a form kept open from before): the service refuses it.
    resp = await erase(street, street.member, **asked(await session_token(street)))
    text = await resp.text()
    assert resp.status == 409 and "未能完成" in text and "请先办理转出" in text
    assert "没有做任何更改" in text and text.count("请先办理转出") == 1
    await untouched(street.member)


async def test_an_open_flowing_record_is_refused_until_it_ends(street: Street) -> None:
    sun = await leaver(street)
    # 流出 while on the roster; then 转出 by hand, leaving the 流动 record open.
    sun.status = MemberStatus.ACTIVE
    away = Outgoing("江苏苏州", FlowReason.WORK, since=NOW.date() - timedelta(days=30))
    await outgoing.mark_out(None, sun, away, NOW.date(), NOW)
    await Member.filter(id=sun.id).update(status=MemberStatus.TRANSFERRED)
    await sign_in(street.client, street.staff)
    status, page = await page_of(street, sun)
    assert status == 200 and "流动党员记录尚未结束" in page and "确认删除" not in page
    resp = await erase(street, sun, **asked(await session_token(street)))
    assert resp.status == 409 and "结束流动后再删除" in await resp.text()
    await untouched(sun)


async def test_a_form_without_its_reason_or_its_tick_comes_back_naming_it(street: Street) -> None:
    sun = await leaver(street)
    await sign_in(street.client, street.staff)
    token = token_of((await page_of(street, sun))[1])

    no_reason = await erase(street, sun, **asked(token, reason="   "))
    text = await no_reason.text()
    assert no_reason.status == 400 and "请写明删除的理由" in text
    assert "请检查：<strong>删除理由</strong>" in text
    assert re.search(r'<details class="act" id="erase-form" open>', text)  # the form, open

    too_long = await erase(street, sun, **asked(token, reason="理" * 201))
    assert too_long.status == 400 and "200字以内" in await too_long.text()

    unticked = await erase(street, sun, form_token=token, form="erase", reason=REASON)
    text = await unticked.text()
    assert unticked.status == 400 and "请检查：<strong>已核实是本人的申请</strong>" in text
    assert f'value="{REASON}"' in text  # what she wrote, kept for the second try
    await untouched(sun)


async def test_a_form_not_from_our_page_changes_nothing(street: Street) -> None:
    sun = await leaver(street)
    await sign_in(street.client, street.staff)
    token = token_of((await page_of(street, sun))[1])
    for form, headers in (
        (asked("0" * 32), {}),
        ({k: v for k, v in asked(token).items() if k != "form_token"}, {}),
        (asked(token), {"Origin": "https://evil.example"}),
    ):
        resp = await street.client.post(
            f"/admin/members/{sun.id}/erase", data=form, headers=headers, allow_redirects=False
        )
        assert resp.status == 403 and "未能完成" in await resp.text()
    assert (await street.client.get(f"/admin/members/{sun.id}/erase")).status == 405
    await untouched(sun)


async def test_a_double_submit_erases_once_and_says_it_is_done(street: Street) -> None:
    sun = await leaver(street)
    await sign_in(street.client, street.staff)
    token = token_of((await page_of(street, sun))[1])
    first = await erase(street, sun, **asked(token))
    second = await erase(street, sun, **asked(token))
    assert first.status == 303
    text = await second.text()
    assert second.status == 200 and "已删除：" in text and "无需再删" in text
    assert "未能完成" not in text and f"个人信息 · 已删除党员#{sun.id}" in text
    assert await Erasure.filter(member_id=sun.id).count() == 1

    # Pressed twice before the first answer came: one erasure, the other told it is done.
    zhou = await make_member("周红", "13900000007", org=street.one, status=MemberStatus.TRANSFERRED)
    both = await asyncio.gather(*(erase(street, zhou, **asked(token)) for _ in range(2)))
    assert sorted(r.status for r in both) == [200, 303]
    assert await Erasure.filter(member_id=zhou.id).count() == 1
