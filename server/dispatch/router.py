"""Routers: each feature module owns one; the root includes them in a fixed order.

A handler is registered with filters; the first handler whose filters all pass wins.  A filter
returns a bool, or a dict whose items become keyword arguments of the handler (a command's
parsed arguments, say).  Handlers declare only the arguments they need, by name.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from server.dispatch.context import ChatContext

FilterResult = bool | dict[str, Any] | None
Filter = Callable[[ChatContext], FilterResult | Awaitable[FilterResult]]
HandlerFunc = Callable[..., Awaitable[str | None]]


@dataclass(frozen=True)
class HelpEntry:
    """One line of the 帮助 menu; shown only to users the predicate admits."""

    usage: str
    summary: str
    visible: Callable[[ChatContext], bool]
    order: int = 100


@dataclass
class Handler:
    func: HandlerFunc
    filters: tuple[Filter, ...]
    params: frozenset[str] = field(init=False)
    takes_kwargs: bool = field(init=False)
    # Which filters are coroutines, worked out once: matching runs for every message.
    awaited: tuple[bool, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.awaited = tuple(
            inspect.iscoroutinefunction(f) or inspect.iscoroutinefunction(type(f).__call__)
            for f in self.filters
        )
        sig = inspect.signature(self.func)
        self.params = frozenset(sig.parameters)
        self.takes_kwargs = any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()
        )

    async def match(self, ctx: ChatContext) -> dict[str, Any] | None:
        found: dict[str, Any] = {}
        for flt, awaited in zip(self.filters, self.awaited, strict=True):
            # `awaited`: the filters that return an awaitable (the union does not say which).
            result = await flt(ctx) if awaited else flt(ctx)  # type: ignore[misc]  # see above
            if not result:
                return None
            if isinstance(result, dict):
                found.update(result)
        return found

    async def call(self, ctx: ChatContext, found: dict[str, Any]) -> str | None:
        available = {**ctx.injectables(), **found}
        kwargs = (
            available
            if self.takes_kwargs
            else {k: v for k, v in available.items() if k in self.params}
        )
        return await self.func(**kwargs)


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Handler] = []
        self._children: list[Router] = []
        self.help_entries: list[HelpEntry] = []
        self.hints: dict[str, str] = {}

    def handler(self, *filters: Filter) -> Callable[[HandlerFunc], HandlerFunc]:
        def register(func: HandlerFunc) -> HandlerFunc:
            self._handlers.append(Handler(func, filters))
            return func

        return register

    def message(self, *filters: Filter) -> Callable[[HandlerFunc], HandlerFunc]:
        """Something the user said: text, or a voice message WeChat transcribed."""
        return self.handler(_has_text, *filters)

    def event(self, *filters: Filter) -> Callable[[HandlerFunc], HandlerFunc]:
        return self.handler(_is_event, *filters)

    def help(
        self, usage: str, summary: str, *, visible: Callable[[ChatContext], bool], order: int = 100
    ) -> None:
        self.help_entries.append(HelpEntry(usage, summary, visible, order))

    def hint(self, code: str, text: str) -> None:
        """What chat adds to a refusal with this error code (`DangjianError.code`): how to send
        the command again.  The domain's message says what is wrong in words any channel can
        show; the API answers the same refusal with its status and code instead."""
        self.hints[code] = text

    def include(self, *routers: Router) -> Router:
        self._children.extend(routers)
        return self

    def walk(self) -> Iterator[Router]:
        yield self
        for child in self._children:
            yield from child.walk()

    def all_help(self) -> list[HelpEntry]:
        entries = [e for router in self.walk() for e in router.help_entries]
        return sorted(entries, key=lambda e: e.order)

    def all_hints(self) -> dict[str, str]:
        return {code: text for router in self.walk() for code, text in router.hints.items()}

    async def resolve(self, ctx: ChatContext) -> tuple[Handler, dict[str, Any]] | None:
        for router in self.walk():
            for handler in router._handlers:
                found = await handler.match(ctx)
                if found is not None:
                    return handler, found
        return None


def _has_text(ctx: ChatContext) -> bool:
    return ctx.text is not None


def _is_event(ctx: ChatContext) -> bool:
    return ctx.message.msg_type == "event"
