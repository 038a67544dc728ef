"""Chat features, one router per module, included in a fixed order: first match wins."""

from __future__ import annotations

from handlers import (
    admin,
    attendance,
    binding,
    checkin,
    common,
    community,
    dues,
    duty_lists,
    fallback,
    five_star,
    help,
    meetings,
    member_stars,
    members,
    mobile_members,
    mobility,
    mobility_cases,
    mobility_list,
    questions,
    quiz,
    record,
    residents,
    review,
    service_menu,
    start,
    study,
    submissions,
    unit_contacts,
    volunteers,
)
from server.dispatch import Router


def build_router() -> Router:
    # Order matters: a pending multi-turn flow and 取消 come first, the helpful fallback last.
    return Router("root").include(
        common.router,
        start.router,
        binding.router,
        members.router,
        checkin.router,
        submissions.router,
        review.router,  # before study: 继续 while reviewing pages through the 心得
        meetings.router,
        attendance.router,
        # 流动党员: before study, whose 继续 would otherwise take the list's; the list's
        # 流出党员 before the 流出 command (a prefix of it).
        mobility_list.router,
        mobility_cases.router,
        mobility.router,
        mobile_members.router,
        study.router,
        member_stars.router,  # 我的星级 before 我的's own words
        record.router,
        five_star.router,  # 支部评星
        duty_lists.router,  # 我的清单, 清单进展: before free-text questions
        admin.router,  # 后台: before the fallback and free-text questions
        # The 双报到 loop; residents and members from units are not bound, so none of these
        # asks for a binding.  The community's 报到审核 before the members' 报到 (a prefix).
        community.router,
        residents.router,
        volunteers.router,
        service_menu.router,  # 帮助 for those in the loop, before the general one
        help.router,
        # 算党费 after the commands, before a quiz's catch-all (a command typed mid-quiz works)
        # and before free-text questions: 我该交多少党费 is a calculation, not a quote.
        dues.router,
        quiz.router,  # after the commands: a command typed mid-quiz still works
        submissions.drafting,  # a draft's text after the commands, before free-text questions
        volunteers.answering,  # 报到's questions answered, likewise
        mobile_members.answering,  # 年度报告's and 流入报到's, likewise
        unit_contacts.router,  # 单位联络, 联系卡: a 报到单位's contact, no member
        questions.router,  # any other text from a member is a question
        service_menu.late,  # … and from a resident or a member from a unit, a pointer
        fallback.router,
    )
