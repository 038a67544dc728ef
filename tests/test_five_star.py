"""五星支部 on the demo street: evidence gathered by the system, scores and the level decided
by people.

On the Thursday evening of the demo's eighth week, 谭波福, secretary of 红星村第一党支部, sends
支部评星 and reads her branch's points area by area, what is still open and the next step; a
plain member of the branch is told politely who may ask.  Every figure the records fill equals
what the tallies, the lights, the 流动党员 figures and the 联系卡 say for the same branch and
days.  Then the whole year: the street's staff open it, she scores the branch's own items and
applies, the 党总支 and the 党工委 review (one adjustment, with its reason), the 党工委 decides
in a meeting, the list is published for seven days in the tree's order, an objection is recorded
and answered, and the levels are final — each step with who and when.  Scores above an item's
points, an adjustment without a reason, a step out of turn, another branch's secretary and a
scheme with a mistake are refused, naming the field, and change nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.channels import Channel
from server.clock import FrozenClock
from server.db import close_database, open_database
from server.errors import Conflict, ValidationFailed
from server.models.five_star import (
    AssessmentStep,
    BranchAssessment,
    ItemScore,
    ScoreAdjustment,
    Stage,
    StarCycle,
)
from server.models.meetings import MeetingType
from server.models.people import WeChatIdentity
from server.services.community.contact_card import progress
from server.services.five_star import cycle as cycles
from server.services.five_star import scheme as schemes
from server.services.meetings.compliance_status import GREEN, RED, branch_lights
from server.services.mobility import counts
from server.services.people.access import NotAllowed
from server.services.tallies.report import tally_report
from server.settings import Settings
from tests.conftest import APPID
from tests.demo_street import DAY, NOW, seeded_street
from tests.five_star_helpers import (
    ZONE,
    Cast,
    basis,
    cast,
    hold,
    live_figures,
    score_every_own_item,
    serving,
)
from tests.wechat_peer import WeChatPeer, openid_for

SECRETARY, MEMBER = openid_for("five-star-secretary"), openid_for("five-star-member")


@pytest.fixture
async def street(tmp_path: Path) -> AsyncIterator[Cast]:
    url, _, _ = seeded_street(tmp_path / "street.sqlite3")
    await open_database(url)
    yield await cast()
    await close_database()


# --- the mid-year to-do in chat ---------------------------------------------------------------


async def test_a_secretary_sees_where_her_branch_stands_and_a_member_is_told_who_may(
    aiohttp_client: Any, make_settings: Any, tmp_path: Path
) -> None:
    url, _, _ = seeded_street(tmp_path / "street.sqlite3")
    clock = FrozenClock(NOW)
    settings = make_settings(identity_ttl=0, db_url=url, lecture_every="quarter")
    client = await aiohttp_client(create_app(settings, clock=clock))
    peer = WeChatPeer(
        token=settings.token, aes_key=settings.aes_keys[0], appid=settings.appid, clock=clock
    )
    c = await cast()
    for who, openid in ((c.secretary, SECRETARY), (c.member, MEMBER)):
        await WeChatIdentity.create(
            appid=APPID, openid=openid, channel=Channel.OFFICIAL_ACCOUNT, member=who
        )

    reply = (await peer.say(client, SECRETARY, "支部评星")).text or ""
    scheme = schemes.default()
    live = await live_figures(scheme, c.branch, DAY, NOW)
    assert reply.startswith("红星村第一党支部2026年度五星支部评星（截至11月26日）")
    total = sum(f.score for f in live.values())  # nothing self-scored yet
    assert f"目前得分 {total}/100" in reply
    for area in scheme.areas:
        so_far = sum(live[i.key].score for i in area.items if i.auto)
        assert f"· {area.name} {so_far}/20" in reply
    # The records' open items, in the records' own words, and the items still to self-score.
    for item in scheme.items():
        if item.auto:
            line = f"{item.name}：{live[item.key].words}（{live[item.key].score}/{item.points}分）"
            assert (line in reply) is live[item.key].open, (line, reply)
    assert live["meetings_on_time"].full  # twelve of twelve held: not on the to-do
    assert "召开组织生活会：本年尚未召开组织生活会（0/6分）" in reply
    assert "待自评 9 项：支部委员会健全，按期换届、" in reply
    assert "党工委尚未开启2026年度评星" in reply
    assert "不排名" in reply and "红星村第二党支部" not in reply

    # 帮助 lists it for her, not for a plain member; he is refused, politely.
    assert "支部评星" in ((await peer.say(client, SECRETARY, "帮助")).text or "")
    assert "支部评星" not in ((await peer.say(client, MEMBER, "帮助")).text or "")
    refused = (await peer.say(client, MEMBER, "支部评星")).text or ""
    assert "支部评星由支部书记、副书记查看" in refused and "得分" not in refused
    assert not await StarCycle.exists()  # looking stores nothing

    # Once the year is opened and an item scored, the to-do follows.
    cycle = await cycles.open_cycle(c.staff, 2026, NOW)
    assessment = await cycles.assessment_of(cycle, c.branch)
    await cycles.self_score(c.secretary, assessment, "venue", 7, "村党群服务中心", NOW)
    reply = (await peer.say(client, SECRETARY, "支部评星")).text or ""
    assert f"目前得分 {total + 7}/100" in reply and "待自评 8 项" in reply
    assert "下一步：在后台「五星支部」为自评指标打分" in reply


# --- the records' figures are the tallies' ----------------------------------------------------


async def test_every_automatic_figure_equals_the_existing_counts(
    street: Cast, settings: Settings
) -> None:
    c = street
    # One of the branch's members also serves where he lives: reported to 红星村, he did two
    # services this year (one confirmed in March, one in the autumn) and claimed a third.
    volunteer = await serving(c)
    await hold(c.branch, MeetingType.ORG_LIFE, date(2026, 11, 20), "2026年度组织生活会")

    scheme = schemes.default()
    for branch in (c.branch, c.other):
        live = await live_figures(scheme, branch, DAY, NOW)
        report = await tally_report(
            branch, date(2026, 1, 1), DAY, by=None, today=DAY, zone=ZONE, now=NOW
        )
        total = report.total
        study, exchange = live["organised_study"], live["exchange"]
        assert (study.done, study.owed) == (total.organised_study, total.active_members * 12)
        assert (exchange.done, exchange.owed) == (
            total.exchange_person_times,
            total.active_members * 2,
        )
        assert report.sentence in study.evidence[0].text
        assert study.evidence[0].link == f"/admin?org={branch.id}&from=2026-01-01&to=2026-11-26"
        for key, kind in (("org_life", "组织生活会"), ("appraisal", "民主评议党员")):
            assert live[key].done == total.meetings.get(kind, 0)
            assert len(live[key].evidence) == live[key].done  # each meeting listed

        [lights] = await branch_lights(
            [branch], DAY, ZONE, "quarter", now=NOW, start=date(2026, 1, 1), end=DAY
        )
        every = [light for p in lights.periods for light in p.lights]
        met = sum(light.state == GREEN for light in every)
        owed = met + sum(light.state == RED for light in every)
        assert (live["meetings_on_time"].done, live["meetings_on_time"].owed) == (met, owed)
        assert live["meetings_on_time"].score == 10 * met // owed

        seen = await counts.overview([branch], DAY, NOW, ZONE, 30)
        mobile = live["mobile_contacted"]
        assert (mobile.done, mobile.owed) == (seen.branches[0].contacted, seen.branches[0].outgoing)
        assert mobile.evidence[0].link == f"/admin/mobile?org={branch.id}"

    live = await live_figures(scheme, c.branch, DAY, NOW)
    assert live["org_life"].done == 1 and live["org_life"].score == 6
    assert "2026年度组织生活会" in live["org_life"].evidence[0].text
    mine = await progress(volunteer, 2026, NOW, settings)
    assert mine.completed == 2
    assert (live["service"].done, live["service"].owed) == (mine.completed, 2)
    assert f"{volunteer.name}：完成服务 {mine.completed} 次" == live["service"].evidence[0].text


# --- the whole year ---------------------------------------------------------------------------


async def test_the_whole_cycle_each_step_by_a_person_with_who_and_when(street: Cast) -> None:
    c = street
    await hold(c.branch, MeetingType.ORG_LIFE, date(2026, 11, 20), "2026年度组织生活会")
    await hold(c.branch, MeetingType.APPRAISAL, date(2026, 11, 21), "民主评议党员")
    cycle = await cycles.open_cycle(c.staff, 2026, NOW)
    assert cycle.scheme_text == schemes.default_text()  # the year's copy of the scheme in force
    scheme = cycles.scheme_of(cycle)
    assessment = await cycles.assessment_of(cycle, c.branch)
    assert assessment.stage is Stage.DRAFT

    await score_every_own_item(c, assessment, scheme, NOW)
    live = await live_figures(scheme, c.branch, DAY, NOW)
    scores = await cycles.current_scores(assessment, live)
    reached = scheme.level(scores)
    assert reached >= 1, scores
    assessment = await cycles.apply(c.secretary, assessment, reached, basis(DAY, NOW))
    assert (assessment.stage, assessment.applied_level) == (Stage.APPLIED, reached)
    frozen = await ItemScore.get(assessment_id=assessment.id, item="meetings_on_time")
    assert frozen.auto and frozen.score == live["meetings_on_time"].score
    assert frozen.figure == live["meetings_on_time"].words

    # The 党总支 reviews first; the street's staff may not take its turn.
    assert await cycles.reviewer(assessment) == "党总支"
    with pytest.raises(NotAllowed):
        await cycles.review(c.staff, assessment, "", NOW)
    later = NOW + timedelta(days=1)
    adjusted = await cycles.adjust(
        c.general, assessment, "venue", 5, "活动室与村委办公室合用，未单独设置", later
    )
    assert (adjusted.reviewer, adjusted.before, adjusted.score) == ("党总支", 7, 5)
    assessment = await cycles.review(c.general, assessment, "同意申报", later)
    assert assessment.stage is Stage.GENERAL_REVIEWED
    assessment = await cycles.review(c.staff, assessment, "", later)
    assert assessment.stage is Stage.COMMITTEE_REVIEWED

    scores = await cycles.current_scores(assessment)
    assert scores["venue"] == 5
    level = scheme.level(scores)
    decided_on = date(2026, 11, 27)
    assessment = await cycles.decide(
        c.staff, assessment, level, decided_on, "党工委2026年第12次会议", "",
        today=decided_on, now=later,
    )  # fmt: skip
    assert (assessment.stage, assessment.decided_level) == (Stage.DECIDED, level)

    # The sister branch applied too, and is decided the same way: then the list is published.
    other = await cycles.assessment_of(cycle, c.other)
    for item in scheme.items():
        if not item.auto:
            await cycles.self_score(c.other_secretary, other, item.key, item.points, "", NOW)
    other_live = await live_figures(scheme, c.other, DAY, NOW)
    other_level = scheme.level(await cycles.current_scores(other, other_live))
    other = await cycles.apply(c.other_secretary, other, other_level, basis(DAY, NOW))
    other = await cycles.review(c.general, other, "", later)
    other = await cycles.review(c.staff, other, "", later)
    await cycles.decide(
        c.staff, other, other_level, decided_on, "党工委2026年第12次会议", "",
        today=decided_on, now=later,
    )  # fmt: skip
    listed = await cycles.publish(c.staff, cycle, 7, today=decided_on, now=later)
    # The tree's order (第一 before 第二), whatever the levels: never by score.
    assert [(x.branch.name, x.level) for x in listed] == [
        ("红星村第一党支部", level),
        ("红星村第二党支部", other_level),
    ]
    await cycle.refresh_from_db()
    assert (cycle.publicity_start, cycle.publicity_end) == (decided_on, date(2026, 12, 3))

    assessment = await BranchAssessment.get(id=assessment.id)
    objection = await cycles.record_objection(
        c.staff, assessment, "红星村村民张某", "活动室经常锁门", today=date(2026, 11, 30), now=later
    )
    with pytest.raises(Conflict):  # not final while the period runs
        await cycles.finalise(c.staff, cycle, today=date(2026, 12, 3), now=later)
    with pytest.raises(Conflict, match="异议没有答复"):
        await cycles.finalise(c.staff, cycle, today=date(2026, 12, 4), now=later)
    await cycles.answer_objection(
        c.staff, objection, "经核实，活动室按时开放，已提醒支部公示开放时间", later
    )
    with pytest.raises(Conflict, match="已经答复"):
        await cycles.answer_objection(c.staff, objection, "再答一次", later)
    with pytest.raises(Conflict, match="公示期已于2026年12月3日结束"):
        await cycles.record_objection(
            c.staff, assessment, "迟到的异议", "过期", today=date(2026, 12, 4), now=later
        )
    assert await cycles.finalise(c.staff, cycle, today=date(2026, 12, 4), now=later) == 2
    with pytest.raises(Conflict):  # once
        await cycles.finalise(c.staff, cycle, today=date(2026, 12, 5), now=later)
    assessment = await BranchAssessment.get(id=assessment.id)
    assert (assessment.stage, assessment.decided_level) == (Stage.FINAL, level)

    steps = await AssessmentStep.filter(assessment_id=assessment.id).order_by("id")
    assert [(s.action, s.by_id) for s in steps] == [
        ("申报", c.secretary.id),
        ("党总支审核", c.general.id),
        ("党工委审核", c.staff.id),
        ("会议决定", c.staff.id),
        ("公示", c.staff.id),
        ("异议", c.staff.id),
        ("答复异议", c.staff.id),
        ("确定", c.staff.id),
    ]
    assert all(s.at is not None for s in steps)
    assert "2026年11月27日党工委2026年第12次会议" in steps[3].note


# --- hostile input ------------------------------------------------------------------------------


async def test_out_of_turn_out_of_range_and_out_of_place_change_nothing(street: Cast) -> None:
    c = street
    with pytest.raises(NotAllowed):
        await cycles.open_cycle(c.secretary, 2026, NOW)
    cycle = await cycles.open_cycle(c.staff, 2026, NOW)
    with pytest.raises(Conflict):
        await cycles.open_cycle(c.staff, 2026, NOW)
    scheme = cycles.scheme_of(cycle)
    assessment = await cycles.assessment_of(cycle, c.branch)

    with pytest.raises(ValidationFailed, match="0 到 8 分") as above:
        await cycles.self_score(c.secretary, assessment, "venue", 9, "", NOW)
    assert above.value.field == "score"
    with pytest.raises(ValidationFailed) as negative:
        await cycles.self_score(c.secretary, assessment, "venue", -1, "", NOW)
    assert negative.value.field == "score"
    with pytest.raises(ValidationFailed, match="由系统按记录计分"):
        await cycles.self_score(c.secretary, assessment, "meetings_on_time", 10, "", NOW)
    with pytest.raises(ValidationFailed) as unknown:
        await cycles.self_score(c.secretary, assessment, "no_such_item", 1, "", NOW)
    assert unknown.value.field == "item"
    for stranger in (c.other_secretary, c.member, c.general):
        with pytest.raises(NotAllowed):
            await cycles.self_score(stranger, assessment, "venue", 8, "", NOW)
    assert not await ItemScore.exists()

    live = await live_figures(scheme, c.branch, DAY, NOW)
    with pytest.raises(ValidationFailed, match="还有自评指标没有打分") as early:
        await cycles.apply(c.secretary, assessment, 1, basis(DAY, NOW))
    assert early.value.field == "item"
    await score_every_own_item(c, assessment, scheme, NOW)
    reached = scheme.level(await cycles.current_scores(assessment, live))
    if reached < 5:
        with pytest.raises(ValidationFailed, match="不能高于得分达到的星级") as high:
            await cycles.apply(c.secretary, assessment, reached + 1, basis(DAY, NOW))
        assert high.value.field == "level"
    with pytest.raises(NotAllowed):
        await cycles.apply(c.other_secretary, assessment, 1, basis(DAY, NOW))
    # Skipping steps: no review, decision or 公示 before its turn.
    with pytest.raises(Conflict):
        await cycles.review(c.general, assessment, "", NOW)
    with pytest.raises(Conflict):
        await cycles.decide(
            c.staff, assessment, 1, DAY, "会议", "", today=DAY, now=NOW
        )  # fmt: skip
    with pytest.raises(Conflict):
        await cycles.publish(c.staff, cycle, 7, today=DAY, now=NOW)
    assessment = await cycles.apply(c.secretary, assessment, max(reached, 1), basis(DAY, NOW))
    with pytest.raises(Conflict):
        await cycles.apply(c.secretary, assessment, 1, basis(DAY, NOW))  # twice
    with pytest.raises(Conflict):  # the scheme is fixed once a branch applied
        await cycles.save_scheme(c.staff, cycle, schemes.default_text(), NOW)

    # An adjustment needs its reason, a score within the item's points, the right reviewer.
    with pytest.raises(ValidationFailed, match="调整理由") as bare:
        await cycles.adjust(c.general, assessment, "venue", 5, "  ", NOW)
    assert bare.value.field == "reason"
    with pytest.raises(ValidationFailed) as over:
        await cycles.adjust(c.general, assessment, "venue", 80, "多给", NOW)
    assert over.value.field == "score"
    with pytest.raises(NotAllowed):
        await cycles.adjust(c.staff, assessment, "venue", 5, "党工委越过党总支", NOW)
    assert not await ScoreAdjustment.exists()
    assessment = await cycles.review(c.general, assessment, "", NOW)
    assessment = await cycles.review(c.staff, assessment, "", NOW)
    # A level above what the scores reach, or a lower one without a reason, is refused.
    reached = scheme.level(await cycles.current_scores(assessment))
    if reached < 5:
        with pytest.raises(ValidationFailed) as higher:
            await cycles.decide(
                c.staff, assessment, reached + 1, DAY, "会议", "", today=DAY, now=NOW
            )
        assert higher.value.field == "level"
    if reached > 0:
        with pytest.raises(ValidationFailed) as lower:
            await cycles.decide(
                c.staff, assessment, reached - 1, DAY, "会议", "", today=DAY, now=NOW
            )
        assert lower.value.field == "note"
    with pytest.raises(ValidationFailed) as ahead:
        await cycles.decide(
            c.staff, assessment, reached, DAY + timedelta(days=1), "会议", "", today=DAY, now=NOW
        )
    assert ahead.value.field == "meeting_on"
    with pytest.raises(ValidationFailed) as no_ref:
        await cycles.decide(c.staff, assessment, reached, DAY, " ", "", today=DAY, now=NOW)
    assert no_ref.value.field == "meeting_ref"
    with pytest.raises(NotAllowed):
        await cycles.decide(c.general, assessment, reached, DAY, "会议", "", today=DAY, now=NOW)
    assessment = await BranchAssessment.get(id=assessment.id)
    assert assessment.stage is Stage.COMMITTEE_REVIEWED and assessment.decided_level is None
    with pytest.raises(Conflict):  # no 异议 before 公示
        await cycles.record_objection(c.staff, assessment, "某人", "异议", today=DAY, now=NOW)
    await cycles.decide(c.staff, assessment, reached, DAY, "会议", "", today=DAY, now=NOW)
    with pytest.raises(ValidationFailed) as days:
        await cycles.publish(c.staff, cycle, 100, today=DAY, now=NOW)
    assert days.value.field == "days"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda t: t.replace(
                'points = 10\nsource = "meetings"', 'points = "十"\nsource = "meetings"'
            ),
            "基本组织 指标 meetings_on_time",
        ),
        (
            lambda t: t.replace('source = "mobile"', 'source = "weather"'),
            "基本队伍 指标 mobile_contacted",
        ),
        (lambda t: t.replace('name = "基本保障"', 'name = "基本后勤"'), "方面 support"),
        (lambda t: t.replace('key = "venue"', 'key = "dues"'), "基本保障"),
        (lambda t: t.replace("stars = 4", "stars = 5"), "bands"),
        (lambda t: t.replace("target = 12\n", ""), "基本队伍 指标 organised_study"),
        (lambda t: t + "\n[[bands]\n", "格式"),
    ],
)
async def test_a_scheme_with_a_mistake_is_refused_naming_where(
    street: Cast, change: Any, named: str
) -> None:
    text = change(schemes.default_text())
    assert text != schemes.default_text()
    with pytest.raises(ValidationFailed) as refused:
        schemes.load(text)
    assert refused.value.field == "scheme" and named in refused.value.user_message
    cycle = await cycles.open_cycle(street.staff, 2026, NOW)
    with pytest.raises(ValidationFailed):
        await cycles.save_scheme(street.staff, cycle, text, NOW)
    await cycle.refresh_from_db()
    assert cycle.scheme_text == schemes.default_text() and cycle.scheme_edited_at is None
