"""What each endpoint answers, as models: the OpenAPI document shows them, and the test suite
checks every answer it sees against them (`DANGJIAN_API_CHECK_REPLIES`), so the document
cannot drift from what the server sends.

Every time is ISO 8601 with the deployment's offset (+08:00); every day `YYYY-MM-DD`.  A field
that may be absent has a default of None; one that is always there but may be null has no
default.  Lists that can grow page (`Page`); short ones (a member's own upcoming meetings, the
pending leave requests) come whole as `{"items": [...]}`.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Time = str  # ISO 8601 with the offset: 2026-11-26T15:00:00+08:00
Day = str  # 2026-11-26


class Out(BaseModel):
    # A field the server sends and the model does not name is a defect the tests catch.
    model_config = ConfigDict(extra="forbid")


class Ok(Out):
    ok: bool


class Ref(Out):
    """An organisation, a 党小组 or a member, by id and name."""

    id: int
    name: str


class OrgRef(Ref):
    path: str = Field(description="组织路径：示范街道党工委/第一党总支/第一党支部")


class UnitRef(Out):
    id: str = Field(description="学习内容编号")
    title: str
    source: str = Field(description="出处")


class Page(Out, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:  # pydantic passes type forms
        return f"{params[0].__name__}Page"  # a component name OpenAPI accepts (no brackets)


class Whole(Out, Generic[T]):
    """A short list, whole."""

    items: list[T]

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:  # pydantic passes type forms
        return f"{params[0].__name__}List"


# --- who I am -----------------------------------------------------------------------------


class Me(Out):
    id: int
    name: str
    phone: str = Field(description="本人看到的是号段和后四位（138****5678）")
    role: str
    status: str
    organisation: OrgRef


class LoggedIn(Out):
    token: str
    expires_in: int = Field(description="令牌有效期（秒）")
    member: Me | None = Field(description="尚未绑定党员身份时为 null")


class Session(Out):
    bound: bool
    member: Me | None
    expires_at: int = Field(description="令牌到期时间（Unix 秒）")


class Bound(Out):
    bound: bool
    already: bool = Field(description="此前已经绑定")
    member: Me


# --- my own study -------------------------------------------------------------------------


class CheckedIn(Out):
    day: Day
    already: bool = Field(description="今天已经打过卡（这次不再记）")
    streak: int
    month_days: int
    points_awarded: int
    points_today: int


class ProfileCheckIn(Out):
    today: bool
    month_days: int
    streak: int


class ProfilePoints(Out):
    this_month: int
    last_12_months: int


class ProfileStar(Out):
    year: int | None = Field(description="评定的年度；尚未评定时为 null")
    status: str = Field(description="rated（已评定）、exempt（免评）或 none（尚未评定）")
    star: int | None = Field(description="支部评定的星级 1–5；免评或尚未评定时为 null")
    text: str = Field(description="已评定 ★★★★、免评 或 尚未评定")


class SubmissionCounts(Out):
    pending: int
    approved: int
    returned: int


class MeetingCounts(Out):
    present: int
    leave: int
    absent: int


class Profile(Out):
    member: Me
    today: Day
    check_in: ProfileCheckIn
    self_study_days_this_month: int
    points: ProfilePoints
    submissions: SubmissionCounts
    meetings_this_year: MeetingCounts
    star: ProfileStar = Field(
        description="支部在民主评议时评定、已确认的最近一年的星级或免评；不由积分决定"
    )


class Grant(Out):
    template_id: str
    remaining: int


class Grants(Out):
    meeting_template: str | None
    grants: list[Grant]


class Subscribed(Grants):
    accepted: list[str]
    ignored: dict[str, str] = Field(description="未计入的模板及其结果（reject、ban、filter）")


class UnitText(UnitRef):
    tags: list[str]
    text: str = Field(description="正文（Markdown）")


class Reading(Out):
    unit: UnitText
    counted: bool = Field(description="这次阅读计入了今天的自学")


class Found(Out):
    unit: UnitRef
    answer: str | None = Field(description="答案所在的原句（若能确定）")
    text: str = Field(description="摘录的原文")
    score: float


class SearchResult(Out):
    q: str
    items: list[Found]
    topics: list[str] = Field(description="没有找到时，可以问的方面")


class Choice(Out):
    letter: str
    text: str


class QuizQuestion(Out):
    position: int
    topic: str
    unit: UnitRef
    question: str
    choices: list[Choice]
    # Only once answered: whether it was right, the right answer and why.
    correct: bool | None = None
    answer: str | None = None
    explanation: str | None = None


class Quiz(Out):
    id: int
    day: Day
    total: int
    answered: int
    score: int
    finished: bool
    finished_at: Time | None
    questions: list[QuizQuestion]


class Answered(Out):
    position: int
    correct: bool
    answer: str
    explanation: str
    score: int
    answered: int
    total: int
    finished: bool
    points: int


class Dues(Out):
    category: str
    amount: str | None = Field(description="每月应交党费（元）；须按实际情况确定时为 null")
    min: str
    max: str
    rate: str | None
    base: str | None
    bracket: str
    source: str
    notes: list[str]


class MySubmission(Out):
    id: int
    status: str
    status_label: str
    day: Day
    length: int
    unit: UnitRef | None
    meeting_id: int | None = Field(description="以心得参加的会议编号；不是会议心得时为 null")
    text: str | None = Field(None, description="全文（单篇时）")
    excerpt: str | None = Field(None, description="摘要（列表中）")
    return_reason: str | None
    reviewed_at: Time | None
    created_at: Time


# --- my meetings --------------------------------------------------------------------------


class Mine(Out):
    role: str = Field(description="expected 应到，invited 列席，incoming 流入党员（无表决权）")
    attendance: str
    label: str
    reason: str | None
    signed_at: Time | None
    mode: str | None = Field(description="online 线上参加，writing 以心得参加；其余为 null")


class MyMeeting(Out):
    id: int
    kind: str
    topic: str
    place: str | None
    online: str | None = Field(description="线上参会方式；没有时为 null")
    starts_at: Time
    ends_at: Time
    status: str
    organisation: Ref
    mine: Mine | None = Field(description="不在名单上时为 null")
    signin_open: bool
    may_ask_leave: bool
    may_withdraw_leave: bool
    may_write: bool = Field(
        description=(
            "流动党员可就会议主题交心得代替参会（POST /submissions 带 meeting_id）："
            "会议开始后至结束后 7 天内，尚未计入出勤"
        )
    )


class SignedIn(Out):
    meeting: MyMeeting
    points: int


class LeaveAsked(MyMeeting):
    told: list[str] = Field(description="已收到通知的审批人")


# --- a branch's meetings ------------------------------------------------------------------


class Meeting(Out):
    id: int
    kind: str
    topic: str
    place: str | None
    starts_at: Time
    ends_at: Time
    status: str
    organisation: Ref
    has_minutes: bool
    speaker: str | None
    study: bool = Field(description="计入组织学习")
    online: str | None = Field(description="线上参会方式（流动党员可在线参加）；没有时为 null")


class WithMinutes(Meeting):
    minutes: str | None


class RosterPerson(Out):
    member_id: int
    name: str
    role: str = Field(description="expected 应到，invited 列席，incoming 流入党员（无表决权）")
    attendance: str
    reason: str | None
    signed_at: Time | None
    mode: str | None = Field(description="online 线上参加，writing 以心得参加；其余为 null")


class RosterCounts(Out):
    expected: int
    present: int
    leave: int
    requested: int
    absent: int
    unknown: int
    invited: int
    incoming: int = Field(description="流入党员（无表决权，不计入应到）")


class Named(Out):
    member_id: int
    name: str


class Roster(Out):
    meeting: Meeting
    people: list[RosterPerson]
    counts: RosterCounts
    quorum: bool | None = Field(
        description="只对支部党员大会：有表决权的到会人数是否超过应到会有表决权人数的一半"
        "（预备党员、列席和流入党员不计）"
    )
    unreachable: list[Named]
    uncertain: list[Named]


class Corrected(Out):
    meeting_id: int
    member_id: int
    attendance: str
    reason: str


class LeaveDecided(Corrected):
    told: bool


class MeetingBrief(Out):
    id: int
    kind: str
    topic: str
    starts_at: Time


class LeaveRequest(Out):
    meeting: MeetingBrief
    member: Ref
    reason: str


class SigninCode(Out):
    meeting_id: int
    code: str
    valid_until: Time


# --- review -------------------------------------------------------------------------------


class NearCopy(Out):
    kind: str = Field(description="unit：与学习内容雷同；submission：与另一篇心得雷同")
    similarity: float
    unit_id: str | None = None
    title: str | None = None
    submission_id: int | None = None


class ForReview(Out):
    id: int
    member: Ref
    day: Day
    length: int
    status: str
    near_copy: NearCopy | None
    excerpt: str
    # The whole 心得 (one at a time):
    content: str | None = None
    unit_id: str | None = None
    return_reason: str | None = None
    reviewed_at: Time | None = None


class Reviewed(Out):
    submission: ForReview
    notified: bool = Field(description="本人已收到通知（不在 48 小时互动窗口内时为 false）")


# --- roster -------------------------------------------------------------------------------


class MemberRow(Out):
    id: int
    name: str
    phone: str = Field(description="只显示号段（138********）")
    role: str
    status: str
    organisation: Ref
    group: Ref | None
    is_mobile: bool
    incoming: bool = Field(description="流入党员：组织关系在外地，在本支部参加组织生活，无表决权")
    probationary: bool = Field(description="预备党员：转正前无表决权、选举权和被选举权")
    bound: bool


class MemberYear(Out):
    year: int
    submissions: SubmissionCounts
    meetings: MeetingCounts


class MemberDetail(MemberRow):
    year: MemberYear


class Unbound(MemberRow):
    unbound: int = Field(description="解除的绑定数")
    told: bool


# --- tallies ------------------------------------------------------------------------------


class TallyRow(Out):
    key: str
    label: str
    org_id: int | None
    start: Day
    end: Day
    organised_study: int = Field(description="组织党员学习人次")
    members_studied: int
    self_study: int = Field(description="自学人次")
    members_self_studied: int
    check_ins: int
    submitted: int
    approved: int
    returned: int
    pending: int
    exchange_person_times: int = Field(description="交流体会人次")
    meetings: dict[str, int] = Field(description="已召开的会议，按类型")
    meetings_held: int
    meetings_scheduled: int
    expected: int
    present: int
    leave: int
    absent: int
    attendance_rate: float | None
    active_members: int


class ServiceFigures(Out):
    """One community's (or the total's) 双报到 figures, by the rules of counts.py."""

    name: str = Field(description="社区名称；合计为“合计”")
    units: int = Field(description="结对的报到单位（期末前登记）")
    volunteers: int = Field(description="社区确认的报到党员（期末前确认）")
    needs: int = Field(description="居民点单：期内提交的需求")
    dispatched: int = Field(description="社区下单：期内派出且未撤销的服务单")
    claims: int = Field(description="认领人次：期内认领、未放弃、服务单未撤销")
    claimers: int = Field(description="认领过的党员人数")
    completed: int = Field(description="完成人次：党员报告完成且社区期内确认")
    orders_completed: int = Field(description="期内社区确认办结的服务单")
    hours: float = Field(description="完成人次的服务时长合计（小时）")
    rated: int = Field(description="期内办结、居民已评价的服务单")
    average_rating: float | None = Field(description="已评价服务单的平均分（1–5）；无评价为 null")
    unrated: int = Field(description="办结满7天仍未评价的服务单")


class ServiceSummary(Out):
    start: Day
    end: Day
    sentence: str = Field(description="可直接写进报告的一句话：N名报到党员认领服务事项M件，完成K件")
    total: ServiceFigures
    communities: list[ServiceFigures] = Field(description="按社区，名称排序")


class Tallies(Out):
    org_id: int
    org_name: str
    org_path: str
    start: Day
    end: Day
    by: str | None
    sentence: str = Field(description="可直接写进报告的一句话")
    total: TallyRow
    rows: list[TallyRow]
    service: ServiceSummary | None = Field(
        description="党员双报到、“四单制”：同一期间按社区的数字；范围内没有参与的社区时为 null"
    )


class Light(Out):
    item: str
    label: str
    kind: str
    org_id: int
    start: Day
    end: Day
    state: str = Field(description="green 已开，amber 已安排，due 待开，red 未开")
    word: str
    next_at: str | None
    held_at: str | None


class Period(Out):
    start: Day
    end: Day
    label: str
    state: str | None
    lights: list[Light]


class BranchLights(Out):
    branch_id: int
    branch_name: str
    branch_path: str
    overall: str | None
    columns: dict[str, str | None] = Field(description="每项当前的状态；不需要开时为 null")
    lights: list[Light]
    periods: list[Period]


class Compliance(Page[BranchLights]):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Day = Field(alias="from")
    end: Day = Field(alias="to")
    red: int = Field(description="总体为 red 的支部数")
