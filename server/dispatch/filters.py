"""Filters: small callables over the ChatContext returning bool or a dict of arguments."""

from __future__ import annotations

import re
from collections.abc import Iterable

from server.dispatch.context import EDGE_PUNCT, ChatContext, normalise
from server.dispatch.router import FilterResult
from server.models.people import Role


class Keyword:
    """The whole message is one of the words (aliases, any case): 帮助, 菜单, help."""

    def __init__(self, *words: str) -> None:
        self.words = frozenset(normalise(w).lower() for w in words)

    def __call__(self, ctx: ChatContext) -> bool:
        return ctx.text is not None and ctx.text.lower() in self.words


class Command:
    """The message starts with one of the words; the rest is passed as `args`.

    Chinese users often omit the space ("绑定张三 1234"), so the word need not be followed by one.
    """

    def __init__(self, *words: str) -> None:
        # Longest first, so "写心得" is not mistaken for "写".
        self.words = sorted({normalise(w).lower() for w in words}, key=len, reverse=True)

    def __call__(self, ctx: ChatContext) -> FilterResult:
        if ctx.text is None:
            return False
        lowered = ctx.text.lower()
        for word in self.words:
            if lowered.startswith(word):
                rest = ctx.text[len(word) :]
                if word.isascii() and rest and not rest.startswith(" "):
                    continue  # "helpme" is not the command "help"
                return {"args": rest.strip(EDGE_PUNCT + " "), "command": word}
        return False


class Pattern:
    """The whole message matches a regular expression; its named groups become arguments.

    `通过 12`, `会议 3`: commands that carry a number are matched exactly, so that a sentence
    which merely begins with 通过 is not taken for one.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern, re.S)

    def __call__(self, ctx: ChatContext) -> FilterResult:
        found = self.pattern.fullmatch(ctx.text or "")
        return found.groupdict() if found else False


class EventType:
    def __init__(self, *events: str) -> None:
        self.events = frozenset(e.lower() for e in events)

    def __call__(self, ctx: ChatContext) -> bool:
        return ctx.message.msg_type == "event" and (ctx.message.event or "") in self.events


class MsgType:
    def __init__(self, *types: str) -> None:
        self.types = frozenset(types)

    def __call__(self, ctx: ChatContext) -> bool:
        return ctx.message.msg_type in self.types


class HasRole:
    def __init__(self, roles: Iterable[Role]) -> None:
        self.roles = frozenset(roles)

    def __call__(self, ctx: ChatContext) -> bool:
        return ctx.member is not None and ctx.member.role in self.roles


class InState:
    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, ctx: ChatContext) -> bool:
        return ctx.conversation.is_in(self.name)


def bound(ctx: ChatContext) -> bool:
    return ctx.member is not None


def unbound(ctx: ChatContext) -> bool:
    return ctx.member is None


def in_any_state(ctx: ChatContext) -> bool:
    return ctx.conversation.name is not None
