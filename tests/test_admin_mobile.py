"""流动党员 on the dashboard, through the real app.

The street's staff member 白辉 reads the figures of every branch — 流出, 流入, 本季度已联系,
可能失联, 查找中, 停止党籍, 待确认流入 — in the tree's order with a 合计 row (the second branch,
with more, still second: nothing is ranked), what each column counts, and the XLSX.  李书记,
secretary of the second branch, reads her own branch only: the to-dos on top (王强's contact is
due, 刘芳 is put to her as a question, 陈明 is being searched for, 周杰's 党籍 was stopped and
the 除名 reminder has its day), the 流入 report waiting with 确认 / 不确认, each member's last
contact, 组织生活 and 党费.  She registers a 流出 (a reason not on the list is named and nothing
is written), logs a contact, records a search, confirms a 流入.  Another branch's member, or
report, is refused as one that does not exist; a plain member never gets in.  At 390 px in
headless Chromium the page does not scroll sideways and its wide table says it scrolls.

A 流出 member with no 联系人 is a to-do with the form that names one, whose box offers only
members at home (never a 流出 member, never the member themselves).  A confirmed 流入 member's
year downloads from the list for the organisation that holds their relationship; any other
member's is refused as a made-up number.  Branches come in the tree's order (第二 before 第三,
which a path sorted as text reverses).
"""

from __future__ import annotations

import io
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.channels import Channel
from server.clock import FrozenClock
from server.models.community import CommunityMessage
from server.models.meetings import Meeting, MeetingType
from server.models.mobility import (
    FlowReason,
    FlowStatus,
    LostAttempt,
    LostCase,
    MobileContact,
    MobileMember,
)
from server.models.people import Member, Organisation, Role, WeChatIdentity
from server.services.mobility import contacts, counts, incoming, lost, outgoing
from server.services.mobility.outgoing import Outgoing
from server.services.people.access import scope_of
from server.services.people.admin_links import issue_link
from server.typedefs import SETTINGS
from tests.conftest import APPID, make_branch, make_member
from tests.mobility_helpers import quorate
from tests.test_admin_pages import sign_in, token_in

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 11, 25)
SPRING = date(2026, 3, 2)  # when the branch recorded its first members as 流出
COMMITTEE = "示范街道党工委"
ONE = f"{COMMITTEE}/东社区党总支/东社区第一党支部"
TWO = f"{COMMITTEE}/东社区党总支/东社区第二党支部"


def moment(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


@dataclass
class Street:
    client: TestClient
    one: Organisation  # one 流出 member: 吴刚
    two: Organisation  # 李书记's: more of everything
    staff: Member  # 白辉
    secretary: Member  # 李书记
    committee: Member  # 赵委员, 王强's 联系人
    plain: Member  # 孙群, nobody's secretary
    wu: Member  # the first branch's
    wang: Member  # contact due
    liu: Member  # six months silent: 可能失联？
    chen: Member  # searched for
    zhou: Member  # 党籍 stopped
    pending: MobileMember  # 马丽's 流入 report to the second branch
    elsewhere: MobileMember  # 何静's, to the first branch


async def build(now: datetime = NOW) -> dict[str, Any]:
    """The street on `now`'s day: every record dated by the services' own arguments."""
    one, two = await make_branch(ONE), await make_branch(TWO)
    street = await Organisation.get(path=COMMITTEE)
    staff = await make_member("白辉", "13900000001", role=Role.STAFF, org=street)
    secretary = await make_member("李书记", "13900000002", role=Role.SECRETARY, org=two)
    committee = await make_member("赵委员", "13900000003", role=Role.COMMITTEE_MEMBER, org=two)
    plain = await make_member("孙群", "13900000004", org=two)
    first = await make_member("钱书记", "13900000005", role=Role.SECRETARY, org=one)
    wu = await make_member("吴刚", "13900000006", org=one)
    wang = await make_member("王强", "13900000007", org=two)
    liu = await make_member("刘芳", "13900000008", org=two)
    chen = await make_member("陈明", "13900000009", org=two)
    zhou = await make_member("周杰", "13900000010", org=two)
    spring = moment(SPRING)
    await outgoing.mark_out(first, wu, Outgoing("上海", FlowReason.WORK), SPRING, spring)
    await outgoing.mark_out(
        secretary,
        wang,
        Outgoing("江苏苏州", FlowReason.WORK, keeper_id=committee.id, reach="微信同号"),
        SPRING,
        spring,
    )
    for who, place in ((liu, "广东深圳"), (chen, "浙江杭州"), (zhou, "新疆乌鲁木齐")):
        await outgoing.mark_out(
            secretary, who, Outgoing(place, FlowReason.RESIDENCE), SPRING, spring
        )
    october = date(2026, 10, 10)
    await contacts.log_contact(committee, wang, "电话 了解近况", october, moment(october))
    await contacts.record_dues(secretary, wang, date(2026, 9, 1), october, moment(october))
    searched = date(2026, 11, 2)
    await lost.search(
        secretary, chen, "亲属 联系其母亲，说已半年没有音讯", searched, moment(searched)
    )
    stopped = date(2026, 10, 20)
    await lost.search(secretary, zhou, "原单位 原单位称已离职", stopped, moment(stopped))
    meeting = await Meeting.create(
        organisation=two,
        kind=MeetingType.BRANCH_MEETING,
        topic="研究失联党员处置",
        starts_at=moment(stopped, 9).astimezone(UTC),
        ends_at=moment(stopped, 10).astimezone(UTC),
    )
    await quorate(meeting, away=[zhou, liu, chen])
    await lost.stop(
        secretary, zhou, meeting.id, "经支部党员大会讨论，决定停止其党籍", stopped,
        moment(stopped, 11), ZONE,
    )  # fmt: skip
    report = incoming.Incoming(
        name="马丽", phone="13700000001", home_org="河南省某县某镇某村党支部",
        home_contact="0371-1234567", place="幸福小区5栋", reason=FlowReason.WORK,
    )  # fmt: skip
    pending = await incoming.report_in(
        APPID, "o-incoming-ma", Channel.OFFICIAL_ACCOUNT, two, report, TODAY, now
    )
    other = incoming.Incoming(
        name="何静", phone="13700000002", home_org="安徽省某县党支部", home_contact="",
        place="幸福小区1栋", reason=FlowReason.RESIDENCE,
    )  # fmt: skip
    elsewhere = await incoming.report_in(
        APPID, "o-incoming-he", Channel.OFFICIAL_ACCOUNT, one, other, TODAY, now
    )
    return {
        "one": one, "two": two, "staff": staff, "secretary": secretary,
        "committee": committee, "plain": plain, "wu": wu, "wang": wang, "liu": liu,
        "chen": chen, "zhou": zhou, "pending": pending, "elsewhere": elsewhere,
    }  # fmt: skip


@pytest.fixture
async def street(aiohttp_client: Any, make_settings: Any) -> Street:
    client = await aiohttp_client(create_app(make_settings(identity_ttl=0), clock=FrozenClock(NOW)))
    return Street(client, **await build())


async def open_page(s: Street, who: Member, **query: str) -> tuple[int, str]:
    await sign_in(s.client, who)
    resp = await s.client.get("/admin/mobile", params=query)
    return resp.status, await resp.text()


def token_of(page: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', page)
    assert found, page[:500]
    return found.group(1)


async def post(s: Street, path: str, data: dict[str, Any], **kw: Any) -> Any:
    return await s.client.post(f"/admin/mobile{path}", data=data, allow_redirects=False, **kw)


def out_form(s: Street, token: str, **extra: str) -> dict[str, str]:
    return {
        "form_token": token, "form": "out", "org": str(s.two.id), "member": str(s.plain.id),
        "place": "江苏昆山", "reason": "外出务工经商", "since": "2026-11-01", "reach": "手机同号",
        "other_org": "", "certificate": "", "keeper": str(s.committee.id), "cadence_days": "",
    } | extra  # fmt: skip


def row_of(page: str, org_id: int) -> list[str]:
    found = re.search(rf'<tr data-org="{org_id}".*?</tr>', page, re.S)
    assert found, page
    return re.findall(r'<td data-key="\w+"[^>]*>(\d+)</td>', found.group(0))


# --- who sees what ---------------------------------------------------------------------------


async def test_staff_read_every_branchs_figures_in_the_trees_order(street: Street) -> None:
    status, page = await open_page(street, street.staff)
    assert status == 200, page
    assert 'id="mobile-link"' in page  # the header's 流动党员, beside 社区服务 where that shows
    one, two = page.index(f'data-org="{street.one.id}"'), page.index(f'data-org="{street.two.id}"')
    assert one < two  # by path, though the second has more of everything: no ranking
    assert "sortable" not in page and "data-sort" not in page
    # The figures are the service's, column by column, and 合计 adds them up.
    seen = await counts.overview(
        await counts.branches_of(await scope_of(street.staff)), TODAY, NOW, ZONE, 30
    )
    first, second = seen.branches
    # 吴刚, silent since March: 可能失联; 何静's report waiting.
    assert row_of(page, street.one.id) == [str(v) for v in first.values()]
    assert [str(v) for v in first.values()] == ["1", "0", "0", "1", "0", "0", "1"]
    # The stopped member is 流出 no more: the case is the branch's business now.
    assert (second.outgoing, second.possibly_lost, second.searching, second.stopped) == (3, 1, 1, 1)
    assert second.contacted == 1 and second.pending == 1  # 王强, in October; 马丽's report
    total = re.search(r'id="mobile-total">(.*?)</tr>', page, re.S)
    assert total and "合计" in total.group(1)
    assert re.findall(r">(\d+)</td>", total.group(1)) == [str(v) for v in seen.total()]
    chips = re.findall(r'class="chip" data-key="(\w+)">\w+ <b>(\d+)</b>', page)
    assert chips == [(k, str(v)) for (k, _), v in zip(counts.COLUMNS, seen.total(), strict=True)]
    # Each column is said what it counts, in the services' words.
    caliber = page[page.index('id="caliber"') :]
    for key, label in counts.COLUMNS:
        assert f'<th data-key="{key}">{label}</th>' in page and f"<strong>{label}" in caliber
    assert "不是一种身份" in caliber and "全国党员管理信息系统" in caliber
    assert f'href="/admin/mobile/export?org={street.staff.organisation_id}"' in page
    # Figures only: the staff's page names no member.
    assert not any(m.name in page for m in (street.wang, street.liu, street.wu))

    # A branch's row opens its list, for staff too.
    status, branch = await open_page(street, street.staff, org=str(street.one.id))
    assert status == 200 and "吴刚" in branch and "王强" not in branch


async def test_a_secretary_reads_her_branchs_list_and_to_dos(street: Street) -> None:
    status, page = await open_page(street, street.secretary)
    assert status == 200, page
    assert f'data-org="{street.two.id}"' in page and 'id="mobile-counts"' not in page
    todo = page[page.index('id="todo"') : page.index('id="pending"')]
    # 王强: a contact due, gently; 刘芳: a question, not a status.
    assert f'data-kind="contact" data-member="{street.wang.id}"' in todo and "联系到期" in todo
    assert "联系人：赵委员" in todo and "上次联系：10月10日" in todo
    assert f'data-kind="lost" data-member="{street.liu.id}"' in todo
    assert "可能失联？" in todo and "是否与党组织失去联系，请支部核实" in todo
    assert f'data-kind="search" data-member="{street.chen.id}"' in todo
    assert "已查找 1 次" in todo and "亲属：联系其母亲" in todo
    assert "「恢复联系 陈明 处理情况」" in todo  # what the page does not do, chat does
    assert f'data-kind="stopped" data-member="{street.zhou.id}"' in todo
    assert "10月20日经支部党员大会决定" in todo and "2028年10月20日" in todo and "除名" in todo
    assert "通报" not in todo.replace("不通报", "")
    # The 流入 report waiting, with both buttons; the first branch's is not hers.
    assert f'action="/admin/mobile/incoming/{street.pending.id}/confirm"' in page
    assert f'action="/admin/mobile/incoming/{street.pending.id}/refuse"' in page
    assert "河南省某县某镇某村党支部" in page and "何静" not in page
    # The list: each member with place, 联系人, last contact, 党费 交至.
    row = re.search(rf'<tr data-member="{street.wang.id}">(.*?)</tr>', page, re.S)
    words = ("王强", "流出", "江苏苏州", "赵委员", "10月10日", "2026年9月")
    assert row and all(word in row.group(1) for word in words)
    assert "吴刚" not in page  # the first branch's
    # The forms: the seven reasons, the branch's members who may be marked 流出.
    for reason in FlowReason:
        assert f'<option value="{reason.value}"' in page
    out = page[page.index('id="out-form"') : page.index('id="contact-form"')]
    assert f'<option value="{street.plain.id}"' in out
    assert f'<option value="{street.wang.id}"' not in out.split('name="keeper"')[0]  # 流出 already

    # Another branch is refused as one that does not exist.
    status, other = await open_page(street, street.secretary, org=str(street.one.id))
    assert status == 403 and "无权访问" in other


async def test_a_plain_member_never_gets_in(street: Street) -> None:
    # Without a session: off to the page that says how to sign in.
    resp = await street.client.get("/admin/mobile", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/admin/signin"
    # A plain member's link (were one issued) does not open a session.
    link = await issue_link(street.client.app[SETTINGS], street.plain, NOW)
    login = await street.client.post(
        "/admin/login", data={"t": token_in(link)}, allow_redirects=False
    )
    assert login.status == 403
    after = await street.client.get("/admin/mobile", allow_redirects=False)
    assert after.status == 303
    # A secretary relieved of the post after signing in loses the page at once.
    await sign_in(street.client, street.secretary)
    await Member.filter(id=street.secretary.id).update(role=Role.MEMBER)
    gone = await street.client.get("/admin/mobile", allow_redirects=False)
    assert gone.status == 303


async def test_the_branches_come_in_the_trees_order(street: Street) -> None:
    # Created last, and before 第二 as text (三 U+4E09 < 二 U+4E8C): still third.
    three = await make_branch(f"{COMMITTEE}/东社区党总支/东社区第三党支部")
    _, page = await open_page(street, street.staff)
    at = [page.index(f'<tr data-org="{b.id}"') for b in (street.one, street.two, three)]
    assert at == sorted(at)
    resp = await street.client.get("/admin/mobile/export")
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    listed = [r[1] for r in book["流动党员情况统计表"].iter_rows(min_row=4, values_only=True)]
    assert listed[:3] == ["东社区第一党支部", "东社区第二党支部", "东社区第三党支部"]


# --- the forms --------------------------------------------------------------------------------


async def test_a_move_with_a_reason_not_on_the_list_is_named_and_nothing_is_written(
    street: Street,
) -> None:
    _, page = await open_page(street, street.secretary)
    token = token_of(page)
    bad = await post(street, "/out", out_form(street, token, reason="旅游"))
    text = await bad.text()
    assert bad.status == 400 and 'data-field="reason"' in text and "流动原因请写" in text
    assert "请检查：<strong>原因</strong>" in text and "没有做任何更改" in text
    assert 'id="out-form" open' in text and 'value="江苏昆山"' in text  # the form as sent
    assert not await MobileMember.exists(member_id=street.plain.id)
    assert not (await Member.get(id=street.plain.id)).is_mobile

    ahead = await post(street, "/out", out_form(street, token, since="2026-12-01"))
    assert ahead.status == 400 and 'data-field="since"' in await ahead.text()
    slow = await post(street, "/out", out_form(street, token, cadence_days="400"))
    assert slow.status == 400 and 'data-field="cadence_days"' in await slow.text()
    assert not await MobileMember.exists(member_id=street.plain.id)

    await WeChatIdentity.create(
        appid=APPID, openid="o-member-sun", channel=Channel.OFFICIAL_ACCOUNT, member=street.plain
    )
    done = await post(street, "/out", out_form(street, token, cadence_days="14"))
    assert done.status == 303, await done.text()
    record = await MobileMember.get(member_id=street.plain.id)
    assert (record.place, record.reason, record.reach) == ("江苏昆山", FlowReason.WORK, "手机同号")
    assert (record.since, record.keeper_id, record.cadence_days) == (
        date(2026, 11, 1), street.committee.id, 14
    )  # fmt: skip
    assert (await Member.get(id=street.plain.id)).is_mobile
    back = await (await street.client.get(done.headers["Location"])).text()
    assert "已登记孙群流出：江苏昆山，外出务工经商。将通知本人。" in back
    (told,) = await CommunityMessage.filter(openid="o-member-sun")  # as chat tells him
    assert "流出党员" in told.text and "赵委员" in told.text
    assert f'<tr data-member="{street.plain.id}">' in back

    twice = await post(street, "/out", out_form(street, token))
    assert twice.status == 409 and "已登记为流动党员" in await twice.text()
    assert await MobileMember.filter(member_id=street.plain.id).count() == 1


async def test_another_branchs_member_or_report_is_refused_and_nothing_changes(
    street: Street,
) -> None:
    _, page = await open_page(street, street.secretary)
    token = token_of(page)
    theirs = str(street.wu.id)
    # The first branch's member, named on her own branch's form.
    for path, data in (
        ("/contacts", {"member": theirs, "channel": "电话", "note": "聊了近况", "form": "contact"}),
        ("/searches", {"member": theirs, "method": "电话", "note": "无人接听", "form": "search"}),
    ):
        resp = await post(street, path, {"form_token": token, "org": str(street.two.id), **data})
        assert resp.status == 403 and "无权访问" in await resp.text()
    # Her own form, pointed at the first branch.
    resp = await post(street, "/out", out_form(street, token, org=str(street.one.id)))
    assert resp.status == 403
    # The first branch's 流入 report, through her branch.
    resp = await post(
        street, f"/incoming/{street.elsewhere.id}/confirm",
        {"form_token": token, "org": str(street.two.id)},
    )  # fmt: skip
    assert resp.status == 403
    assert not await MobileContact.filter(member_id=street.wu.id).exists()
    assert not await LostCase.filter(member_id=street.wu.id).exists()
    assert not await MobileMember.exists(member_id=street.plain.id)
    assert (await MobileMember.get(id=street.elsewhere.id)).status == FlowStatus.PENDING

    # A form without the page's token, or from another site, changes nothing either.
    bare = await post(street, "/out", {**out_form(street, token), "form_token": ""})
    assert bare.status == 403 and "请刷新流动党员页面" in await bare.text()
    forged = await post(
        street, "/out", out_form(street, token), headers={"Origin": "https://evil.example"}
    )
    assert forged.status == 403
    assert not await MobileMember.exists(member_id=street.plain.id)


async def test_a_contact_a_search_and_a_confirmed_report(street: Street) -> None:
    _, page = await open_page(street, street.secretary)
    token = token_of(page)
    two = str(street.two.id)
    # An empty note is named; a contact with one clears 王强's to-do.
    empty = await post(
        street, "/contacts",
        {"form_token": token, "form": "contact", "org": two, "member": str(street.wang.id),
         "channel": "电话", "note": " "},
    )  # fmt: skip
    assert empty.status == 400 and 'data-field="note"' in await empty.text()
    logged = await post(
        street, "/contacts",
        {"form_token": token, "form": "contact", "org": two, "member": str(street.wang.id),
         "channel": "视频", "day": "2026-11-24", "note": "视频通话，了解在苏州的组织生活情况"},
    )  # fmt: skip
    assert logged.status == 303
    (contact,) = await MobileContact.filter(member_id=street.wang.id, day=date(2026, 11, 24))
    assert (contact.channel, contact.by_id) == ("视频", street.secretary.id)
    back = await (await street.client.get(logged.headers["Location"])).text()
    assert "已记录11月24日与王强的联系（视频）。" in back
    assert f'data-kind="contact" data-member="{street.wang.id}"' not in back

    # 刘芳, put as a question, is searched for: the to-do becomes 查找中.
    no_way = await post(
        street, "/searches",
        {"form_token": token, "form": "search", "org": two, "member": str(street.liu.id),
         "method": "托梦", "note": "无"},
    )  # fmt: skip
    assert no_way.status == 400 and 'data-field="method"' in await no_way.text()
    assert not await LostCase.exists(member_id=street.liu.id)
    found = await post(
        street, "/searches",
        {"form_token": token, "form": "search", "org": two, "member": str(street.liu.id),
         "method": "电话", "note": "拨打两次无人接听"},
    )  # fmt: skip
    assert found.status == 303
    (attempt,) = await LostAttempt.filter(case__member_id=street.liu.id)
    assert (attempt.method, attempt.note, attempt.day) == ("电话", "拨打两次无人接听", TODAY)
    back = await (await street.client.get(found.headers["Location"])).text()
    assert f'data-kind="search" data-member="{street.liu.id}"' in back

    # 不确认 needs a reason; 确认 makes the member, 流入 and without a vote here.
    pending = street.pending.id
    silent = await post(
        street,
        f"/incoming/{pending}/refuse",
        {"form_token": token, "org": two, "form": f"in-{pending}-refuse"},
    )
    text = await silent.text()
    assert silent.status == 400 and 'data-field="reason"' in text
    assert f'id="in-{pending}"' in text and "open" in text.split(f'id="in-{pending}"')[1][:1500]
    assert (await MobileMember.get(id=pending)).status == FlowStatus.PENDING
    confirmed = await post(
        street, f"/incoming/{pending}/confirm", {"form_token": token, "org": two}
    )
    assert confirmed.status == 303
    ma = await Member.get(phone="13700000001")
    assert ma.incoming and ma.organisation_id == street.two.id
    back = await (await street.client.get(confirmed.headers["Location"])).text()
    assert "已确认马丽的流入报到" in back and "没有表决权、选举权和被选举权" in back
    (told,) = await CommunityMessage.filter(openid="o-incoming-ma")  # as chat tells her
    assert "东社区第二党支部" in told.text and "确认" in told.text and "将通知本人" in back
    again = await post(
        street, f"/incoming/{pending}/refuse", {"form_token": token, "org": two, "reason": "重复"}
    )
    assert again.status == 409 and "已经处理过了" in await again.text()


async def test_the_figures_download_as_the_upper_levels_form(street: Street) -> None:
    await sign_in(street.client, street.staff)
    resp = await street.client.get("/admin/mobile/export")
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    cells = {str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row}
    assert any("东社区第二党支部" in c for c in cells)

    await sign_in(street.client, street.secretary)
    other = await street.client.get("/admin/mobile/export", params={"org": str(street.one.id)})
    assert other.status == 403


# --- 联系人 -------------------------------------------------------------------------------------


def keeper_box(page: str, form: str) -> str:
    """The 联系人 <select> of a form (its id, e.g. out-form)."""
    found = re.search(rf'id="{form}".*?<select name="keeper"[^>]*>(.*?)</select>', page, re.S)
    assert found, page[:300]
    return found.group(1)


async def test_a_missing_keeper_is_a_to_do_and_only_members_at_home_are_offered(
    street: Street,
) -> None:
    _, page = await open_page(street, street.secretary)
    todo = page[page.index('id="todo"') : page.index('id="pending"')]
    # 刘芳 has none; 王强 has 赵委员; 陈明 is searched for and 周杰 stopped: other business.
    assert f'data-kind="keeper" data-member="{street.liu.id}"' in todo and "未指定联系人" in todo
    for other in (street.wang, street.chen, street.zhou):
        assert f'data-kind="keeper" data-member="{other.id}"' not in todo
    assert f"keeper={street.liu.id}#keeper-form" in todo
    # No 流出 member is offered as anyone's 联系人.
    offered = keeper_box(page, "out-form")
    assert f'value="{street.committee.id}"' in offered and f'value="{street.plain.id}"' in offered
    for away in (street.wang, street.liu, street.chen):
        assert f'value="{away.id}"' not in offered

    # The to-do's link opens the form with 刘芳 chosen, and she is not in the 联系人 box.
    _, picked = await open_page(street, street.secretary, keeper=str(street.liu.id))
    assert 'id="keeper-form" open' in picked
    assert f'<option value="{street.liu.id}" selected>' in picked.split('id="keeper-form"')[1]
    assert f'value="{street.liu.id}"' not in keeper_box(picked, "keeper-form")
    token = token_of(picked)
    form = {"form_token": token, "form": "keeper", "org": str(street.two.id),
            "member": str(street.liu.id)}  # fmt: skip
    for bad in (street.wang, street.liu):  # sent anyway: named, nothing changes
        resp = await post(street, "/keepers", form | {"keeper": str(bad.id)})
        assert resp.status == 400 and 'data-field="keeper"' in await resp.text()
    out = await post(street, "/out", out_form(street, token, keeper=str(street.wang.id)))
    assert out.status == 400 and "不能是流出党员" in await out.text()
    assert not await MobileMember.exists(member_id=street.plain.id)
    assert (
        await MobileMember.get(member_id=street.liu.id, current__not_isnull=True)
    ).keeper_id is None

    done = await post(street, "/keepers", form | {"keeper": str(street.committee.id)})
    assert done.status == 303, await done.text()
    record = await MobileMember.get(member_id=street.liu.id, current__not_isnull=True)
    assert record.keeper_id == street.committee.id
    back = await (await street.client.get(done.headers["Location"])).text()
    assert "已指定赵委员为刘芳的联系人。" in back
    assert f'data-kind="keeper" data-member="{street.liu.id}"' not in back


# --- a 流入 member's record, for their home organisation ------------------------------------------


async def test_a_incoming_members_year_downloads_for_their_home_organisation(
    street: Street,
) -> None:
    await incoming.decide_in(street.secretary, street.pending.id, True, "", NOW)
    ma = await Member.get(phone="13700000001")
    _, page = await open_page(street, street.secretary)
    row = re.search(rf'<tr data-member="{ma.id}">(.*?)</tr>', page, re.S)
    href = f"/admin/mobile/members/{ma.id}/record?year=2026"
    assert row and f'href="{href}"' in row.group(1) and "下载记录" in row.group(1)
    # 王强 is 流出: his row offers no record.
    wang = re.search(rf'<tr data-member="{street.wang.id}">(.*?)</tr>', page, re.S)
    assert wang and "/record" not in wang.group(1)

    resp = await street.client.get(href)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    assert book["参加组织生活情况"]["A1"].value == "流入党员马丽参加组织生活情况（2026年）"
    last = await street.client.get(f"/admin/mobile/members/{ma.id}/record", params={"year": "2025"})
    assert last.status == 200
    wrong = await street.client.get(href.replace("2026", "20x6"))
    assert wrong.status == 400 and "年份" in await wrong.text()

    # A member who is not 流入, another branch's 流入 member, a made-up number: one refusal.
    await incoming.decide_in(None, street.elsewhere.id, True, "", NOW)
    he = await Member.get(phone="13700000002")
    made_up = await street.client.get("/admin/mobile/members/999999/record")
    refusal = await made_up.text()
    assert made_up.status == 403
    for other in (street.wang.id, he.id, "x1"):
        resp = await street.client.get(f"/admin/mobile/members/{other}/record")
        assert (resp.status, await resp.text()) == (403, refusal)
    # Staff over both branches may download either.
    await sign_in(street.client, street.staff)
    theirs = await street.client.get(f"/admin/mobile/members/{he.id}/record")
    assert theirs.status == 200


# --- in a browser, at phone width -------------------------------------------------------------


async def test_the_page_at_390_px_in_chromium(
    aiohttp_server: Any, make_settings: Any, tmp_path: Path
) -> None:
    from tests.test_admin_e2e import ARGS, CHROMIUM, _browser_or_skip, _free_port

    _browser_or_skip()
    from playwright.async_api import async_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(identity_ttl=0, public_url=base)
    await aiohttp_server(create_app(settings, clock=FrozenClock(NOW)), port=port)
    s = await build()
    shots = tmp_path / "shots"
    shots.mkdir()
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for who, name in ((s["secretary"], "secretary"), (s["staff"], "staff")):
                for width in (390, 1366):
                    context = await browser.new_context(
                        viewport={"width": width, "height": 844}, locale="zh-CN"
                    )
                    context.set_default_timeout(15_000)
                    page = await context.new_page()
                    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                    page.on(
                        "console",
                        lambda m: (
                            problems.append(m.text) if m.type in ("error", "warning") else None
                        ),
                    )
                    await page.goto(await issue_link(settings, who, NOW))
                    async with page.expect_navigation():
                        await page.click("text=进入后台")
                    async with page.expect_navigation():
                        await page.click("#mobile-link")
                    await _fits(page)
                    await _says_it_scrolls(page)
                    await page.screenshot(
                        path=str(shots / f"mobile-{name}-{width}.png"), full_page=True
                    )
                    if name == "secretary" and width == 390:
                        await _log_a_contact_from_the_to_do(page, s["wang"], shots)
                    if name == "secretary" and width == 1366:
                        await _the_keeper_box_leaves_out_the_member(page, s["plain"])
                    await context.close()
        finally:
            await browser.close()
    wanted = os.environ.get("DANGJIAN_SHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, Path(wanted) / png.name)
    assert problems == []


async def _log_a_contact_from_the_to_do(page: Any, wang: Member, shots: Path) -> None:
    """The to-do's 记录联系 opens the form with 王强 chosen; sent, the to-do is gone."""
    async with page.expect_navigation():
        await page.click(f'li[data-member="{wang.id}"] a:text("记录联系")')
    form = page.locator("#contact-form form")
    assert await form.is_visible()
    assert await form.locator("select[name=member]").input_value() == str(wang.id)
    card = await page.locator("#forms").bounding_box()
    field = await form.locator("input[name=note]").bounding_box()
    assert field["width"] > card["width"] * 0.8, (field, card)  # the form stacks
    await _fits(page)
    await page.screenshot(path=str(shots / "mobile-secretary-contact-390.png"), full_page=True)
    await form.locator("select[name=channel]").select_option("电话")
    await form.locator("input[name=note]").fill("电话了解近况，提醒按时交纳党费")
    async with page.expect_navigation():
        await form.locator("button").click()
    assert "与王强的联系（电话）" in (await page.text_content("#done") or "")
    assert await page.locator(f'li[data-kind="contact"][data-member="{wang.id}"]').count() == 0
    await _fits(page)


async def _the_keeper_box_leaves_out_the_member(page: Any, plain: Member) -> None:
    """登记流出: once 孙群 is chosen, the 联系人 box no longer offers 孙群."""
    await page.click("#out-form summary")
    form = page.locator("#out-form form")
    option = form.locator(f'select[name=keeper] option[value="{plain.id}"]')
    assert not await option.is_disabled()
    await form.locator("select[name=member]").select_option(str(plain.id))
    assert await option.is_disabled()


async def _fits(page: Any) -> None:
    width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width


async def _says_it_scrolls(page: Any) -> None:
    """Each table too wide for the screen has the line saying so above it, and no other."""
    boxes = page.locator(".table-box")
    for n in range(await boxes.count()):
        box = boxes.nth(n)
        wide = await box.evaluate("b => b.scrollWidth > b.clientWidth + 1")
        said = await box.evaluate(
            "b => !!(b.previousElementSibling"
            " && b.previousElementSibling.classList.contains('swipe-hint'))"
        )
        assert said == wide, (n, wide, said)
