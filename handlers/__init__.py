"""Chat features, one router per module, included in a fixed order: first match wins."""

from __future__ import annotations

from handlers import (
    admin,
    attendance,
    binding,
    checkin,
    common,
    dues,
    fallback,
    help,
    meetings,
    members,
    questions,
    quiz,
    record,
    review,
    start,
    study,
    submissions,
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
        study.router,
        record.router,
        admin.router,  # 后台: before the fallback and free-text questions
        help.router,
        # 算党费 after the commands, before a quiz's catch-all (a command typed mid-quiz works)
        # and before free-text questions: 我该交多少党费 is a calculation, not a quote.
        dues.router,
        quiz.router,  # after the commands: a command typed mid-quiz still works
        submissions.drafting,  # a draft's text after the commands, before free-text questions
        questions.router,  # any other text from a member is a question
        fallback.router,
    )
