"""Who may not, and what is refused: plain members, another branch's secretary, bad input.

Another branch's secretary asking about a meeting, 心得 or member of this branch gets exactly
the answer a made-up id gets, on every endpoint that takes an id; and nothing is written.
"""

from __future__ import annotations

from typing import Any

import pytest

from server.models.meetings import Meeting, MeetingAttendee, MeetingChange, MeetingStatus
from server.models.notices import Notice
from server.models.people import Member
from server.models.study import Submission, SubmissionStatus
from tests.test_api_branch import World, a_meeting, schedule, world
from tests.test_api_branch_review import HIDDEN, hand_in

MISSING = 999_999


async def _counts() -> dict[str, int]:
    return {
        model.__name__: await model.all().count()
        for model in (Meeting, MeetingAttendee, MeetingChange, Notice, Submission, Member)
    }


async def _objects(w: World) -> dict[str, int]:
    """This branch's meeting (a 支委会), 心得 and member, and the branch itself."""
    return {
        "meeting": await a_meeting(w),
        "submission": await hand_in(w, "wang"),
        "member": w.people["wang"].id,
        "attendee": w.people["committee"].id,  # expected at the 支委会
        "branch": w.branch.id,
    }


# (method, path with {meeting}/{submission}/{member}/{branch}, body)
BY_ID: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PATCH", "/meetings/{meeting}", {"starts_at": "2026-12-02T15:00:00+08:00"}),
    ("POST", "/meetings/{meeting}/cancel", {"reason": "书记出差"}),
    ("GET", "/meetings/{meeting}/roster", None),
    (
        "POST",
        "/meetings/{meeting}/attendance",
        {"member_id": "{attendee}", "attendance": "present", "reason": "手机没电"},
    ),
    ("PUT", "/meetings/{meeting}/minutes", {"text": "会议决定……"}),
    ("GET", "/meetings/{meeting}/signin-code", None),
    ("GET", "/review/submissions/{submission}", None),
    ("POST", "/review/submissions/{submission}/approve", None),
    ("POST", "/review/submissions/{submission}/return", {"reason": "再想想"}),
    ("GET", "/members/{member}", None),
    ("GET", "/members?org={branch}", None),
    ("GET", "/ledger?branch={branch}&year=2026", None),
]
LISTS = ["/branch/meetings", "/review/submissions", "/members"]


def _fill(template: Any, ids: dict[str, int]) -> Any:
    if isinstance(template, str):
        filled = template.format(**ids)
        return int(filled) if filled.isdigit() and template.startswith("{") else filled
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    return template


def _label(case: tuple[str, str, Any]) -> str:
    return f"{case[0]} {case[1]}"


@pytest.mark.parametrize("case", BY_ID, ids=_label)
async def test_another_branchs_secretary_gets_what_a_made_up_id_gets(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any, case: tuple[str, str, Any]
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    method, path, body = case
    ids = await _objects(w)
    before = await _counts()
    there = await w.call(method, _fill(path, ids), "zhao", json=_fill(body, ids))
    made_up = dict.fromkeys(ids, MISSING)
    nowhere = await w.call(method, _fill(path, made_up), "zhao", json=_fill(body, ids))
    assert there == nowhere == (403, HIDDEN)
    assert await _counts() == before
    assert (await Meeting.get(id=ids["meeting"])).status == MeetingStatus.PLANNED
    assert (await Submission.get(id=ids["submission"])).status == SubmissionStatus.PENDING
    # The branch's own secretary is answered (200, or 409 for a code asked for too early).
    mine = await w.call(method, _fill(path, ids), "secretary", json=_fill(body, ids))
    assert mine[0] in (200, 409), mine


@pytest.mark.parametrize("case", [*BY_ID, *((("GET", p, None)) for p in LISTS)], ids=_label)
async def test_a_plain_member_may_not(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any, case: tuple[str, str, Any]
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    method, path, body = case
    ids = await _objects(w)
    before = await _counts()
    status, answer = await w.call(method, _fill(path, ids), "zheng", json=_fill(body, ids))
    assert status == 403 and "支部书记" in answer["error"]
    assert await _counts() == before


async def test_a_plain_member_and_a_committee_member_cannot_schedule(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    for who in ("zheng", "committee"):
        status, answer = await schedule(w, who)
        assert status == 403 and "支部书记" in answer["error"]
    assert await Meeting.all().count() == 0 and await Notice.all().count() == 0


BAD_MEETINGS: list[tuple[dict[str, Any], str]] = [
    ({"colour": "red"}, "colour"),
    ({"kind": 123}, "kind"),
    ({"kind": "茶话会"}, "kind"),
    ({"kind": "1 OR 1=1"}, "kind"),
    ({"kind": ""}, "kind"),
    ({"starts_at": "2026-11-24T15:00:00+08:00"}, "starts_at"),  # yesterday
    ({"starts_at": "2026-11-25T09:59:00"}, "starts_at"),  # a minute ago, read in Shanghai
    ({"starts_at": "2029-01-01T15:00:00+08:00"}, "starts_at"),  # more than two years ahead
    ({"starts_at": "0001-01-01T00:00:00+08:00"}, "starts_at"),
    ({"starts_at": "明天下午3点"}, "starts_at"),
    ({"starts_at": "'; DROP TABLE meeting; --"}, "starts_at"),
    ({"starts_at": None}, "starts_at"),
    ({"minutes": "ninety"}, "minutes"),
    ({"minutes": 5}, "minutes"),
    ({"minutes": 100_000}, "minutes"),
    ({"topic": ""}, "topic"),
    ({"topic": "   "}, "topic"),
    ({"topic": "x" * 60_000}, "topic"),  # 60 KB: within the body limit, refused by length
    ({"topic": ["研究"]}, "topic"),
    ({"place": "地" * 101}, "place"),
    ({"organisation_id": "1 OR 1=1"}, "organisation_id"),
    ({"organisation_id": -1}, "organisation_id"),
    ({"organisation_id": 10**20}, "organisation_id"),
]


@pytest.mark.parametrize(("change", "field"), BAD_MEETINGS, ids=lambda v: str(v)[:40])
async def test_a_malformed_meeting_is_refused_naming_the_field_and_nothing_is_written(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any, change: dict[str, Any], field: str
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    before = await _counts()
    status, answer = await schedule(w, **change)
    assert status == 400, answer
    assert answer["field"] == field
    assert await _counts() == before


async def test_a_100_kb_topic_is_refused_before_it_is_read(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    before = await _counts()
    status, answer = await schedule(w, topic="x" * 100_000)
    assert status == 413  # over DANGJIAN_MAX_BODY_BYTES: the server refuses to read it at all
    assert answer["field"] == "body" and "65536" in answer["error"]
    assert await _counts() == before


async def test_sql_looking_text_is_only_text(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    topic = "'; DROP TABLE member; --"
    status, meeting = await schedule(w, topic=topic, place="1 OR 1=1")
    assert status == 200 and meeting["topic"] == topic and meeting["place"] == "1 OR 1=1"
    assert await Member.all().count() == 6


async def test_malformed_changes_to_a_meeting_are_refused_and_nothing_changes(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    number = await a_meeting(w)
    other = w.people["sun"].id  # not on this meeting's list
    cases: list[tuple[str, str, Any, str]] = [
        ("PATCH", "", {"starts_at": "2026-11-20T15:00:00+08:00"}, "starts_at"),
        ("PATCH", "", {"starts_at": "2026-12-02T15:00:00", "colour": 1}, "colour"),
        ("PATCH", "", {"starts_at": "2026-12-02T15:00:00", "minutes": "long"}, "minutes"),
        ("PATCH", "", {"minutes": 60}, "starts_at"),
        ("POST", "/cancel", {"reason": ""}, "reason"),
        ("POST", "/cancel", {"reason": "  "}, "reason"),
        ("POST", "/cancel", {}, "reason"),
        ("POST", "/cancel", {"reason": "因" * 201}, "reason"),
        (
            "POST",
            "/attendance",
            {"member_id": "1 OR 1=1", "attendance": "present", "reason": "补"},
            "member_id",
        ),
        (
            "POST",
            "/attendance",
            {"member_id": other, "attendance": "present", "reason": "补"},
            "member_id",
        ),
        (
            "POST",
            "/attendance",
            {"member_id": w.people["wang"].id, "attendance": "late", "reason": "补"},
            "attendance",
        ),
        (
            "POST",
            "/attendance",
            {"member_id": w.people["secretary"].id, "attendance": "present", "reason": ""},
            "reason",
        ),
        ("PUT", "/minutes", {"text": ""}, "text"),
        ("PUT", "/minutes", {"text": "纪" * 5001}, "text"),
        ("PUT", "/minutes", {"text": 42}, "text"),
    ]
    before = await _counts()
    for method, tail, body, field in cases:
        status, answer = await w.call(method, f"/meetings/{number}{tail}", "secretary", json=body)
        assert (status, answer.get("field")) == (400, field), (method, tail, body, answer)
    assert await _counts() == before
    meeting = await Meeting.get(id=number)
    assert meeting.status == MeetingStatus.PLANNED and meeting.minutes is None
    for method, tail in (("POST", "/cancel"), ("PUT", "/minutes")):
        resp = await w.client.request(
            method,
            f"/api/v1/meetings/{number}{tail}",
            data="reason=x",
            headers={**await w.headers("secretary"), "Content-Type": "text/plain"},
        )
        assert resp.status == 400 and (await resp.json())["field"] == "body"


@pytest.mark.parametrize("path", LISTS)
async def test_huge_or_silly_pages_are_refused_naming_the_parameter(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any, path: str
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    for query, field in (
        ("per_page=100000", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=1 OR 1=1", "page"),
        ("page=1&page=2", "page"),
        ("colour=red", "colour"),
    ):
        status, answer = await w.call("GET", f"{path}?{query}", "secretary")
        assert (status, answer["field"]) == (400, field), (path, query)


async def test_list_filters_refuse_bad_values(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    w = await world(aiohttp_client, make_settings, fake_wechat)
    for path, field in (
        ("/branch/meetings?from=yesterday", "from"),
        ("/branch/meetings?to=2026-13-01", "to"),
        ("/branch/meetings?kind=" + "会" * 21, "kind"),
        ("/review/submissions?status=everything", "status"),
        ("/members?status=dead", "status"),
        ("/members?org=1 OR 1=1", "org"),
        ("/members?q=" + "王" * 51, "q"),
        ("/ledger?branch=1&year=1999", "year"),
        ("/ledger?branch=0", "branch"),
        ("/ledger?branch=1&year=2026&format=csv", "format"),
    ):
        status, answer = await w.call("GET", path, "secretary")
        assert (status, answer["field"]) == (400, field), (path, answer)
