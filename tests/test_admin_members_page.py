"""党员管理 on the dashboard: a secretary unbinds, re-roles and moves her own members by form."""

from __future__ import annotations

import pytest

from server.models.people import MemberChange, Role, WeChatIdentity
from tests import test_admin_pages
from tests.test_admin_pages import Street, sign_in

street = pytest.fixture(test_admin_pages.street.__wrapped__)  # the same street, fixture and all


async def test_a_secretary_manages_her_branch_from_the_members_page(street: Street) -> None:
    client = street.client
    await sign_in(client, street.secretary)

    page = await client.get("/admin/members")
    text = await page.text()
    assert page.status == 200 and "王芳" in text and "陈明" not in text  # another branch

    unbound = await client.post(
        f"/admin/members/{street.member.id}/unbind",
        data={"reason": "本人换了手机", "back": str(street.one.id)},
    )
    assert unbound.status == 200 and "已解除王芳的微信绑定" in await unbound.text()
    assert not await WeChatIdentity.exists(member_id=street.member.id)

    promoted = await client.post(
        f"/admin/members/{street.member.id}/role", data={"role": "支委委员", "reason": "换届"}
    )
    assert promoted.status == 200 and "王芳现为支委委员" in await promoted.text()
    kinds = await MemberChange.filter(member_id=street.member.id).values_list("kind", flat=True)
    assert sorted(kinds) == ["role", "unbind"]


async def test_the_forms_refuse_what_the_rules_refuse(street: Street) -> None:
    client = street.client
    await sign_in(client, street.secretary)
    chen = (await client.get("/admin/members", params={"org": street.two.id})).status

    no_reason = await client.post(f"/admin/members/{street.secretary.id}/unbind", data={})
    staff = await client.post(
        f"/admin/members/{street.member.id}/role", data={"role": Role.STAFF.value}
    )
    elsewhere = await client.post(
        f"/admin/members/{street.member.id}/transfer", data={"organisation": str(street.two.id)}
    )
    forged = await client.post(
        f"/admin/members/{street.member.id}/role",
        data={"role": "支部书记"},
        headers={"Origin": "https://evil.example"},
    )

    assert chen == 403
    assert (no_reason.status, staff.status, elsewhere.status, forged.status) == (400, 403, 403, 403)
    assert not await MemberChange.exists()
