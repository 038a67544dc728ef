"""取消: leave whatever multi-turn flow the member is in; and what two features share (who sees
which help entries, how a step's messages are written, a day as chat says it)."""

from __future__ import annotations

from server.clock import Clock
from server.dispatch import ChatContext, Router
from server.dispatch.context import EDGE_PUNCT
from server.dispatch.filters import Keyword, in_any_state
from server.dispatch.state import Conversation
from server.models.people import BRANCH_LEADERS, Role
from server.services.community.notify import Tidings
from server.services.delivery.messenger import WakeOutbox
from server.settings import Settings

router = Router("common")


# Who sees which examples in 帮助: each role only what it may do.
def branch_leader(ctx: ChatContext) -> bool:
    """支部书记, 副书记, 总支书记: schedule any meeting of the branch, review, decide leave."""
    return ctx.member is not None and ctx.member.role in BRANCH_LEADERS


def group_leader(ctx: ChatContext) -> bool:
    """党小组长: the group's meetings — schedule, sign-in, leave, minutes."""
    return ctx.member is not None and ctx.member.role == Role.GROUP_LEADER


def runs_meetings(ctx: ChatContext) -> bool:
    return branch_leader(ctx) or group_leader(ctx)


CANCEL = Keyword("取消", "退出", "cancel")
# Reading a unit page by page (study.py); 写心得 (submissions.py) writes about the unit being read.
READING = "study:reading"

router.help("取消", "放弃正在进行的操作", visible=in_any_state, order=90)


@router.message(CANCEL, in_any_state)
async def cancel(conversation: Conversation) -> str:
    conversation.clear()
    return "好的，已取消。回复 帮助 查看可以做的事。"


@router.message(CANCEL)
async def nothing_to_cancel() -> str:
    return "当前没有进行中的操作。回复 帮助 查看可以做的事。"


# --- shared by features ---------------------------------------------------------------------


def tidings(settings: Settings, clock: Clock, wake_outbox: WakeOutbox) -> Tidings:
    """Messages written right after the step, sent within seconds (after the quiet hours)."""
    return Tidings.of(settings, clock.zone, wake_outbox)


def raw_after(raw_text: str, *words: str) -> str | None:
    """What follows `words` in the message as typed (full-width punctuation kept for the
    record); None when the typed text does not begin with them (the normalised one is used)."""
    rest = raw_text.strip().lstrip(EDGE_PUNCT + " \u3000")
    for word in words:
        if not rest.startswith(word):
            return None
        rest = rest[len(word) :].lstrip(EDGE_PUNCT + " \u3000")
    return rest
