"""Who reads the roster: a secretary their branch, a 党小组长 their group, a member nobody's."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from server.models.people import Member, Organisation, OrgKind, Role
from server.wechat.fake_state import FakeWeChat
from tests.api_helpers import signed_in
from tests.conftest import make_branch, make_member

ONE = "示范街道党工委/东社区党总支/东社区第一党支部"
TWO = "示范街道党工委/西社区党总支/西社区第一党支部"


async def grouped(name: str, phone: str, group: Organisation, **kw: Any) -> Member:
    member = await make_member(name, phone, org=await Organisation.get(id=group.parent_id), **kw)  # type: ignore[attr-defined]
    member.group = group
    await member.save()
    return member


async def test_a_group_leader_reads_their_own_group_and_nobody_else(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    one = await make_branch(ONE)
    north = await Organisation.create(
        name="北网格党小组", kind=OrgKind.GROUP, parent=one, path=f"{ONE}/北网格党小组"
    )
    south = await Organisation.create(
        name="南网格党小组", kind=OrgKind.GROUP, parent=one, path=f"{ONE}/南网格党小组"
    )
    leader = await grouped("刘组长", "13900000001", north, role=Role.GROUP_LEADER)
    neighbour = await grouped("王芳", "13900000002", north)
    other_group = await grouped("陈明", "13900000003", south)
    other_branch = await make_member("周强", "13900000004", org=await make_branch(TWO))
    headers = await signed_in(client, fake_wechat[0], leader)

    resp = await client.get("/api/v1/members", headers=headers)
    assert resp.status == 200, await resp.text()
    names = {item["name"] for item in (await resp.json())["items"]}
    assert names == {"刘组长", "王芳"}

    seen = await client.get(f"/api/v1/members/{neighbour.id}", headers=headers)
    assert seen.status == 200
    refused = [
        await client.get(f"/api/v1/members/{who}", headers=headers)
        for who in (other_group.id, other_branch.id, 999_999)
    ]
    bodies = [await r.json() for r in refused]
    assert [r.status for r in refused] == [403, 403, 403]
    assert bodies[0] == bodies[1] == bodies[2]  # another group's member looks like nobody

    south_list = await client.get("/api/v1/members", params={"org": south.id}, headers=headers)
    assert south_list.status == 403


async def test_a_plain_member_reads_no_roster(
    client: TestClient, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    wang = await make_member("王芳", "13900000002", org=await make_branch(ONE))
    headers = await signed_in(client, fake_wechat[0], wang)
    resp = await client.get("/api/v1/members", headers=headers)
    assert resp.status == 403
    assert "名册" in (await resp.json())["error"]
