"""答题 and 心得 in the mini-program, through the real HTTP server."""

from __future__ import annotations

import asyncio
from typing import Any

from server.models.people import Member
from server.models.study import PointsEntry, QuizAnswer, QuizAttempt, Submission, SubmissionStatus
from server.typedefs import CORPUS
from server.wechat.fake_state import FakeWeChat
from study_content.corpus import Unit
from tests.test_api_member import hidden_alike, people, start

ESSAY = (
    "今天学习了党章中关于党员义务的内容，深刻认识到作为一名共产党员，"
    "必须时刻把群众的利益放在第一位，在社区工作中主动靠前，带头参加志愿服务，"
    "用实际行动践行全心全意为人民服务的根本宗旨，争做合格党员。"
)


def right_letter(question: dict[str, Any], corpus: list[Unit]) -> str:
    for unit in corpus:
        if unit.id == question["unit"]["id"]:
            for q in unit.questions:
                if q.question == question["question"]:
                    return q.answer
    raise AssertionError(f"not in the corpus: {question}")


# --- 答题 ----------------------------------------------------------------------------------


async def test_a_member_answers_five_questions_in_order_and_is_scored_by_the_server(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    wang = (await people())["wang"]
    headers = await world.headers(wang)
    corpus = world.client.app[CORPUS]
    status, attempt = await world.call("POST", "/quiz", headers)
    assert status == 200 and attempt["total"] == 5 and attempt["answered"] == 0
    assert len(attempt["questions"]) == 5
    for q in attempt["questions"]:  # nothing that gives the answer away
        assert not {"answer", "explanation", "correct"} & set(q)
        assert [c["letter"] for c in q["choices"]][:3] == ["A", "B", "C"]
    first = attempt["questions"][0]
    wrong = next(
        c["letter"] for c in first["choices"] if c["letter"] != right_letter(first, corpus)
    )
    path = f"/quiz/{attempt['id']}/answers"
    status, one = await world.call("POST", path, headers, json={"position": 0, "choice": wrong})
    assert (
        status == 200 and one["correct"] is False and one["answer"] == right_letter(first, corpus)
    )
    assert one["explanation"] and one["score"] == 0 and one["finished"] is False
    status, _ = await world.call("POST", path, headers, json={"position": 0, "choice": "A"})
    assert status == 409  # each question once
    for q in attempt["questions"][1:]:
        body = {"position": q["position"], "choice": right_letter(q, corpus)}
        status, result = await world.call("POST", path, headers, json=body)
        assert status == 200 and result["correct"] is True
    assert result["finished"] is True and result["score"] == 4 and result["points"] == 4
    status, shown = await world.call("GET", f"/quiz/{attempt['id']}", headers)
    assert status == 200 and shown["finished"] is True and shown["score"] == 4
    assert shown["answered"] == 5 and shown["questions"][0]["correct"] is False
    assert shown["questions"][0]["answer"] == right_letter(first, corpus)  # shown once answered
    stored = await QuizAttempt.get(id=attempt["id"])
    assert stored.score == 4 and stored.finished_at is not None
    assert await PointsEntry.filter(member_id=wang.id, reason="quiz").count() == 1
    status, _ = await world.call("POST", path, headers, json={"position": 4, "choice": "A"})
    assert status == 409  # finished: nothing more to answer


async def test_quiz_answers_out_of_order_or_malformed_are_400_and_change_nothing(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    headers = await world.headers((await people())["wang"])
    _, attempt = await world.call("POST", "/quiz", headers)
    path = f"/quiz/{attempt['id']}/answers"
    cases = [
        ({"position": 2, "choice": "A"}, "position"),  # the next one is 0
        ({"position": 5, "choice": "A"}, "position"),
        ({"position": -1, "choice": "A"}, "position"),
        ({"position": "0", "choice": "A"}, "position"),
        ({"position": True, "choice": "A"}, "position"),
        ({"position": 0, "choice": "E"}, "choice"),
        ({"position": 0, "choice": "a OR 1=1"}, "choice"),
        ({"position": 0}, "choice"),
        ({"position": 0, "choice": "A", "score": 5}, "score"),
    ]
    for body, field in cases:
        status, answer = await world.call("POST", path, headers, json=body)
        assert status == 400 and answer["field"] == field, (body, answer)
    resp = await world.client.post(
        "/api/v1" + path, data=b"{not json", headers={**headers, "Content-Type": "application/json"}
    )
    assert resp.status == 400 and (await resp.json())["field"] == "body"
    assert await QuizAnswer.all().count() == 0


async def test_the_same_answer_sent_twice_at_once_counts_once(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    headers = await world.headers((await people())["wang"])
    _, attempt = await world.call("POST", "/quiz", headers)
    path = f"/quiz/{attempt['id']}/answers"
    body = {"position": 0, "choice": "A"}
    answers = await asyncio.gather(
        *(world.call("POST", path, headers, json=body) for _ in range(2))
    )
    assert sorted(status for status, _ in answers) == [200, 409]
    assert await QuizAnswer.filter(attempt_id=attempt["id"]).count() == 1


async def test_another_members_quiz_is_hidden_like_one_that_does_not_exist(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk = await people()
    _, theirs = await world.call("POST", "/quiz", await world.headers(folk["wang"]))
    for stranger in (folk["chen"], folk["zheng"]):  # another branch, and her own branch
        headers = await world.headers(stranger)
        await hidden_alike(world, "GET", f"/quiz/{theirs['id']}", "/quiz/99999", headers)
        await hidden_alike(
            world,
            "POST",
            f"/quiz/{theirs['id']}/answers",
            "/quiz/99999/answers",
            headers,
            json={"position": 0, "choice": "A"},
        )
    assert await QuizAnswer.all().count() == 0
    headers = await world.headers(folk["wang"])
    for junk in ("1 OR 1=1", "0", "-1", "1e3", "99999999999999"):
        status, body = await world.call("GET", f"/quiz/{junk}", headers)
        assert status == 400 and body["field"] == "id", (junk, body)


# --- 心得 ----------------------------------------------------------------------------------


async def test_a_member_hands_in_a_xinde_and_follows_its_review(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    wang = (await people())["wang"]
    headers = await world.headers(wang)
    unit = world.client.app[CORPUS][0]
    body = {"text": ESSAY, "unit_id": unit.id}
    status, handed = await world.call("POST", "/submissions", headers, json=body)
    assert status == 200 and handed["status"] == "pending" and handed["status_label"] == "待审核"
    assert handed["text"] == ESSAY and handed["unit"]["id"] == unit.id
    assert handed["day"] == "2026-11-25" and handed["return_reason"] is None
    assert handed["created_at"].endswith("+08:00")  # every time the API gives is local
    status, twice = await world.call("POST", "/submissions", headers, json=body)
    assert status == 409 and str(handed["id"]) in twice["error"]
    assert await Submission.filter(member_id=wang.id).count() == 1
    status, me = await world.call("GET", "/profile", headers)
    assert me["submissions"] == {"pending": 1, "approved": 0, "returned": 0}
    # The secretary returns it with a note; she reads the note in the mini-program.
    await Submission.filter(id=handed["id"]).update(
        status=SubmissionStatus.RETURNED, return_reason="请结合本职工作再谈谈"
    )
    status, mine = await world.call("GET", f"/submissions/{handed['id']}", headers)
    assert status == 200 and mine["status"] == "returned"
    assert mine["return_reason"] == "请结合本职工作再谈谈"
    # Quoting SQL is just text: stored and shown as written.
    sql = "';DROP TABLE member;-- " + ESSAY
    status, odd = await world.call("POST", "/submissions", headers, json={"text": sql})
    assert status == 200 and odd["text"] == sql
    assert await Member.all().count() == 4


async def test_my_xinde_are_listed_newest_first_a_page_at_a_time(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk = await people()
    headers = await world.headers(folk["wang"])
    ids = []
    for n in range(3):
        text = f"第{'一二三'[n]}篇体会：" + ESSAY
        ids.append(
            (await world.call("POST", "/submissions", headers, json={"text": text}))[1]["id"]
        )
    await world.call(
        "POST", "/submissions", await world.headers(folk["zheng"]), json={"text": ESSAY}
    )
    await Submission.filter(id=ids[0]).update(status=SubmissionStatus.APPROVED)
    status, page = await world.call(
        "GET", "/submissions", headers, params={"page": "1", "per_page": "2"}
    )
    assert status == 200 and page["total"] == 3 and page["per_page"] == 2
    assert [s["id"] for s in page["items"]] == [ids[2], ids[1]]
    assert page["items"][0]["excerpt"].endswith("…") and "text" not in page["items"][0]
    status, approved = await world.call(
        "GET", "/submissions", headers, params={"status": "approved"}
    )
    assert [s["id"] for s in approved["items"]] == [ids[0]] and approved["total"] == 1


async def test_a_refused_xinde_leaves_no_row(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    headers = await world.headers((await people())["wang"])
    cases = [
        ({"text": "学习了，很有收获！"}, "text"),  # too short
        ({"text": "   "}, "text"),
        ({"text": "党" * 5001}, "text"),  # too long
        ({"text": "a" * 10_001}, "text"),  # far too long: refused before any work
        ({"text": 12345}, "text"),
        ({"text": ["a", "b"]}, "text"),
        ({}, "text"),
        ({"text": ESSAY, "unit_id": "1 OR 1=1"}, "unit_id"),
        ({"text": ESSAY, "unit_id": "no-such-unit"}, "unit_id"),
        ({"text": ESSAY, "status": "approved"}, "status"),
        ({"text": ESSAY, "member_id": 1}, "member_id"),
    ]
    for body, field in cases:
        status, answer = await world.call("POST", "/submissions", headers, json=body)
        assert status == 400 and answer["field"] == field, (body, answer)
    flood = await world.client.post(
        "/api/v1/submissions", json={"text": "党" * 200_000}, headers=headers
    )
    assert flood.status == 413  # beyond DANGJIAN_MAX_BODY_BYTES: not even read
    status, answer = await world.call("POST", "/submissions", headers, json={"text": "党" * 10})
    assert "50" in answer["error"]  # says how long a 心得 must be, in Chinese
    assert await Submission.all().count() == 0


async def test_hostile_list_queries_are_400_naming_the_parameter(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    headers = await world.headers((await people())["wang"])
    cases = [
        ({"per_page": "100000"}, "per_page"),
        ({"per_page": "0"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"page": "1 OR 1=1"}, "page"),
        ({"status": "';DROP TABLE member;--"}, "status"),
        ({"member_id": "1"}, "member_id"),
    ]
    for params, field in cases:
        status, body = await world.call("GET", "/submissions", headers, params=params)
        assert status == 400 and body["field"] == field, (params, body)


async def test_another_members_xinde_is_hidden_like_one_that_does_not_exist(
    aiohttp_client: Any, make_settings: Any, fake_wechat: tuple[FakeWeChat, str]
) -> None:
    world = await start(aiohttp_client, make_settings, fake_wechat)
    folk = await people()
    _, theirs = await world.call(
        "POST", "/submissions", await world.headers(folk["wang"]), json={"text": ESSAY}
    )
    for who in ("chen", "zheng", "secretary"):  # even her secretary: this is the member's page
        headers = await world.headers(folk[who])
        await hidden_alike(
            world, "GET", f"/submissions/{theirs['id']}", "/submissions/99999", headers
        )
        _, listed = await world.call("GET", "/submissions", headers)
        assert listed["total"] == 0
    headers = await world.headers(folk["wang"])
    status, body = await world.call("GET", "/submissions/1%20OR%201=1", headers)
    assert status == 400 and body["field"] == "id"
