"""Every chat handler asks only for what the dispatcher can give it: a `Deps` field, a value
of the message (`ChatContext.injectables`), or a group its own pattern names.  A parameter
named wrong fails here, not when a member sends the message."""

from __future__ import annotations

from handlers import build_router
from server.deps import Deps
from server.dispatch.filters import Command, Pattern
from server.dispatch.router import Handler

MESSAGE = {"ctx", "message", "text", "raw_text", "openid", "appid", "channel", "member"}
MESSAGE |= {"identity", "conversation", "help_entries"}
# What a feature's own filter function returns (a dict becomes arguments): 问 <question>,
# 写心得 <text> (the command word), an answer A-D to a quiz question.
FILTERS_GIVE = {"question", "command", "choice"}


def _unknown(handler: Handler) -> set[str]:
    named: set[str] = set()
    for flt in handler.filters:
        if isinstance(flt, Pattern):
            named |= set(flt.pattern.groupindex)
        if isinstance(flt, Command):
            named |= {"args", "command"}
    if handler.takes_kwargs:
        return set()
    return set(handler.params - Deps.names() - MESSAGE - named - FILTERS_GIVE)


def test_every_handler_asks_only_for_what_it_can_be_given() -> None:
    handlers = [h for router in build_router().walk() for h in router._handlers]
    assert len(handlers) > 30
    wrong = {f"{h.func.__module__}.{h.func.__name__}": _unknown(h) for h in handlers}
    assert {name: params for name, params in wrong.items() if params} == {}


def test_the_check_sees_a_misnamed_parameter() -> None:
    async def handler(clocks: object, number: str, member: object) -> str:  # clock misspelt
        return ""

    assert _unknown(Handler(handler, (Pattern(r"会议 (?P<number>\d+)"),))) == {"clocks"}
