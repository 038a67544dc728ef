"""The branch secretary reviews 心得, looks up the members, and downloads the 台账."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from openpyxl import load_workbook

from server.models.people import Member, Organisation, Role
from server.models.study import CheckIn, PointsEntry, Submission, SubmissionStatus
from server.services.study import submissions
from server.typedefs import CORPUS
from tests.conftest import make_member
from tests.test_api_branch import NOW, WANG_OA, World, a_meeting, world

HIDDEN = {"error": "无权访问，或该对象不存在。", "code": "FORBIDDEN"}
# 120 characters of a member's own thoughts (the same text as the chat's review stories).
REFLECTION = (
    "学习了“三会一课”制度，我体会到，组织生活不是走过场。作为网格党小组的一员，我要按时参加党小组会，"
    "把居民反映的问题带到会上；在党课上认真听、认真记，把学到的道理用到为群众办实事上。"
    "下一步，我打算每周走访楼栋里的两户老人，了解他们的困难，及时向支部报告，争取做到小事不出网格。"
)


async def hand_in(w: World, who: str, text: str = REFLECTION, unit: str | None = None) -> int:
    """A member hands in a 心得 as the chat and the member pages do (the service)."""
    found = await submissions.submit(
        w.people[who], text, w.clock.today(), w.client.app[CORPUS], unit_id=unit
    )
    return found.id


# --- review --------------------------------------------------------------------------------


async def test_the_secretary_reads_a_reflection_approves_it_and_the_member_is_told(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    number = await hand_in(w, "wang")
    status, page = await w.call("GET", "/review/submissions", "secretary")
    assert status == 200 and page["total"] == 1
    item = page["items"][0]
    assert item["id"] == number and item["member"]["name"] == "王芳"
    assert item["day"] == "2026-11-25" and item["length"] > 50 and item["near_copy"] is None
    status, full = await w.call("GET", f"/review/submissions/{number}", "secretary")
    assert status == 200 and full["content"] == REFLECTION

    w.fake.interact(WANG_OA)  # she wrote to the account today: the 48-hour window is open
    status, done = await w.call("POST", f"/review/submissions/{number}/approve", "secretary")
    assert status == 200, done
    assert done["notified"] is True
    assert "points" not in done  # the points are hers: the reviewer is not shown them
    assert done["submission"]["status"] == "approved"
    status, shown = await w.call("GET", f"/review/submissions/{number}", "secretary")
    assert shown["reviewed_at"].endswith("+08:00")  # every time the API gives is local
    # Told exactly as the chat's 通过 tells her.
    assert [m.text for m in w.fake.messages_to(WANG_OA)] == [
        f"您 11月25日 提交的心得（编号 {number}）已通过支部审核，您获得积分 +5。感谢您的分享！"
    ]
    saved = await Submission.get(id=number)
    assert saved.reviewer_id == w.people["secretary"].id  # type: ignore[attr-defined]
    assert saved.notified_at is not None
    wang = w.people["wang"]
    assert await PointsEntry.filter(member_id=wang.id, deed=f"submission:{number}").count() == 1
    # Deciding twice is a conflict, and pays nothing twice.
    again = await w.call("POST", f"/review/submissions/{number}/approve", "secretary")
    assert again[0] == 409 and "已经审核过了" in again[1]["error"]
    back = await w.call(
        "POST", f"/review/submissions/{number}/return", "secretary", json={"reason": "再想想"}
    )
    assert back[0] == 409
    assert (await w.call("GET", "/review/submissions", "secretary"))[1]["total"] == 0
    approved = (await w.call("GET", "/review/submissions?status=approved", "secretary"))[1]
    assert [i["id"] for i in approved["items"]] == [number]


async def test_returning_needs_a_reason_which_the_member_reads(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    number = await hand_in(w, "wang")
    status, answer = await w.call(
        "POST", f"/review/submissions/{number}/return", "secretary", json={"reason": "   "}
    )
    assert status == 400 and answer["field"] == "reason"
    assert (await Submission.get(id=number)).status == SubmissionStatus.PENDING
    # She has not written for two days: no window, so the answer says she was not told.
    status, done = await w.call(
        "POST",
        f"/review/submissions/{number}/return",
        "secretary",
        json={"reason": "请结合本网格的实际，再具体谈谈。"},
    )
    assert status == 200 and done["notified"] is False
    assert done["submission"]["status"] == "returned"
    saved = await Submission.get(id=number)
    assert saved.return_reason == "请结合本网格的实际，再具体谈谈。" and saved.notified_at is None
    assert w.fake.messages_to(WANG_OA) == []


async def test_near_copies_are_flagged_and_another_branchs_copy_is_not_named(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    unit = w.client.app[CORPUS][0].id
    theirs = await hand_in(w, "sun", unit=unit)  # 孙九, in the other branch
    ours = await hand_in(w, "wang", REFLECTION + "我会坚持下去。", unit=unit)
    copied = await hand_in(w, "zheng", REFLECTION + "我会坚持下去！！", unit=unit)
    page = (await w.call("GET", "/review/submissions", "secretary"))[1]
    flags = {i["id"]: i["near_copy"] for i in page["items"]}
    assert theirs not in flags  # the other branch's 心得 is not in this list
    assert flags[ours]["kind"] == "elsewhere" and "submission_id" not in flags[ours]
    assert flags[copied]["kind"] == "submission" and flags[copied]["submission_id"] == ours
    assert flags[copied]["similarity"] >= 0.6


async def test_a_secretary_does_not_review_their_own(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    own = await hand_in(w, "secretary")
    assert (await w.call("GET", "/review/submissions", "secretary"))[1]["total"] == 0
    status, _ = await w.call("POST", f"/review/submissions/{own}/approve", "secretary")
    assert status == 403
    assert (await Submission.get(id=own)).status == SubmissionStatus.PENDING


# --- members -------------------------------------------------------------------------------


async def test_the_secretary_lists_the_branchs_members_masked_and_filtered(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    status, page = await w.call("GET", "/members", "secretary")
    assert status == 200
    names = [m["name"] for m in page["items"]]
    assert names == ["李书记", "周委员", "王芳", "郑七"]  # never the other branch's
    wang = next(m for m in page["items"] if m["name"] == "王芳")
    assert wang["phone"] == "137********" and wang["role"] == "党员"  # never the bind digits
    assert wang["group"] == {"id": w.group.id, "name": "第一网格党小组"}
    assert wang["bound"] is True and wang["status"] == "active"
    assert next(m for m in page["items"] if m["name"] == "郑七")["bound"] is False
    assert "13700000004" not in str(page)

    by_group = (await w.call("GET", f"/members?org={w.group.id}", "secretary"))[1]
    assert [m["name"] for m in by_group["items"]] == ["王芳"]
    by_name = (await w.call("GET", "/members?q=王", "secretary"))[1]
    assert [m["name"] for m in by_name["items"]] == ["王芳"]
    by_tail = (await w.call("GET", "/members?q=0005", "secretary"))[1]
    assert [m["name"] for m in by_tail["items"]] == ["郑七"]
    sql = (await w.call("GET", "/members?q=' OR 1=1 --", "secretary"))[1]
    assert sql["total"] == 0
    paged = (await w.call("GET", "/members?per_page=3&page=2", "secretary"))[1]
    assert [m["name"] for m in paged["items"]] == ["郑七"] and paged["total"] == 4
    status, answer = await w.call("GET", f"/members?org={w.other_branch.id}", "secretary")
    assert status == 403 and answer == HIDDEN


async def test_one_members_page_shows_their_year(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    wang: Member = w.people["wang"]
    for day in (date(2026, 11, 23), date(2026, 11, 24), date(2025, 12, 31)):
        await CheckIn.create(member=wang, organisation=w.branch, day=day)
    await hand_in(w, "wang")
    number = await a_meeting(w, kind="党员大会")
    w.travel(NOW + timedelta(days=2))  # the meeting is over; she neither came nor asked leave
    status, page = await w.call("GET", f"/members/{wang.id}", "secretary")
    assert status == 200, page
    assert page["name"] == "王芳" and page["phone"] == "137********" and page["bound"] is True
    assert page["year"]["year"] == 2026
    # Check-ins, self-study and points are hers alone: never on a page about her for others.
    assert set(page["year"]) == {"year", "submissions", "meetings"}
    assert "check_in" not in str(page) and "points" not in str(page)
    assert page["year"]["submissions"] == {"pending": 1, "approved": 0, "returned": 0}
    assert page["year"]["meetings"] == {"present": 0, "leave": 0, "absent": 1}
    assert number  # the meeting above, counted as absent


# --- the ledger ----------------------------------------------------------------------------


async def test_the_secretary_downloads_the_years_ledger_and_it_opens_in_excel(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    number = await a_meeting(w, place="党群服务中心")
    text = "会议研究了发展党员工作。"
    await w.call("PUT", f"/meetings/{number}/minutes", "secretary", json={"text": text})
    w.travel(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    resp = await w.client.get(
        f"/api/v1/ledger?branch={w.branch.id}&year=2026", headers=await w.headers("secretary")
    )
    assert resp.status == 200
    assert resp.content_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="ledger-{w.branch.id}-2026.xlsx"' in disposition
    assert "filename*=UTF-8''" + quote("台账-第一社区第一党支部-2026.xlsx") in disposition
    book = load_workbook(io.BytesIO(await resp.read()))
    assert book.sheetnames[:5] == ["支部党员大会", "支委会", "党小组会", "党课", "主题党日"]
    sheet = book["支委会"]
    assert sheet["A1"].value == "第一社区第一党支部 2026年支委会台账"
    row = [c.value for c in sheet[5]]
    assert row[0] == "第1次" and row[1] == datetime(2026, 11, 26) and row[3] == "党群服务中心"
    assert row[6] == "研究发展党员" and row[-2] == text and row[-1] == "已召开"
    # 应到 2, 实到 0, nobody on leave, both absent (nobody signed in)
    assert (row[7], row[8], row[10], row[12]) == (2, 0, 0, 2)
    assert row[13] == "李书记；周委员"


async def test_a_secretary_with_one_branch_need_not_name_it_nor_the_year(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    await a_meeting(w)
    w.travel(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    status, body = await w.call("GET", "/ledger", "secretary")
    assert status == 200
    book = load_workbook(io.BytesIO(body))
    assert book["支委会"]["A1"].value == "第一社区第一党支部 2026年支委会台账"  # this year's
    assert book["支委会"]["G5"].value == "研究发展党员"
    other = load_workbook(io.BytesIO((await w.call("GET", "/ledger", "zhao"))[1]))
    assert other["支委会"]["A1"].value == "第一社区第二党支部 2026年支委会台账"
    assert other["支委会"]["A5"].value == "本年度未召开"
    last_year = load_workbook(
        io.BytesIO((await w.call("GET", "/ledger?year=2025", "secretary"))[1])
    )
    assert last_year["支委会"]["A1"].value == "第一社区第一党支部 2025年支委会台账"


async def test_staff_over_many_branches_must_say_which(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    committee = await Organisation.get(path="示范街道党工委")
    w.people["staff"] = await make_member("街道干事", "13700000021", role=Role.STAFF, org=committee)
    status, answer = await w.call("GET", "/ledger?year=2026", "staff")
    assert (status, answer["field"]) == (400, "branch")
    assert "2 个支部" in answer["error"]
    status, _ = await w.call("GET", f"/ledger?branch={w.other_branch.id}", "staff")
    assert status == 200


async def test_the_ledger_of_another_branch_is_hidden_and_the_year_is_checked(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    hidden = await w.call("GET", f"/ledger?branch={w.other_branch.id}&year=2026", "secretary")
    missing = await w.call("GET", "/ledger?branch=999999&year=2026", "secretary")
    assert hidden == missing == (403, HIDDEN)
    for year in ("1999", "2101", "twenty", "2026.5"):
        status, answer = await w.call(
            "GET", f"/ledger?branch={w.branch.id}&year={year}", "secretary"
        )
        assert status == 400 and answer["field"] == "year", year


async def test_staff_and_an_admin_read_a_reflection_but_only_the_branch_decides_it(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    """As in chat: 通过 and 退回 belong to the member's own branch leaders, not to those above."""
    w = await world(aiohttp_client, make_settings, fake_wechat)
    committee = await Organisation.get(path="示范街道党工委")
    w.people["staff"] = await make_member("钱干事", "13700000021", role=Role.STAFF, org=committee)
    w.people["admin"] = await make_member("管理员", "13700000022", role=Role.ADMIN, org=committee)
    number = await hand_in(w, "wang")
    for who in ("staff", "admin"):
        status, full = await w.call("GET", f"/review/submissions/{number}", who)
        assert status == 200 and full["content"] == REFLECTION, who
    for who in ("staff", "admin", "committee"):
        approve = await w.call("POST", f"/review/submissions/{number}/approve", who)
        assert approve[0] == 403, (who, approve)
        back = await w.call(
            "POST", f"/review/submissions/{number}/return", who, json={"reason": "再想想"}
        )
        assert back[0] == 403, (who, back)
    saved = await Submission.get(id=number)
    assert saved.status == SubmissionStatus.PENDING and saved.reviewer_id is None  # type: ignore[attr-defined]
    assert await PointsEntry.filter(deed=f"submission:{number}").count() == 0
    # Her own secretary still decides it.
    done = await w.call("POST", f"/review/submissions/{number}/approve", "secretary")
    assert done[0] == 200, done
