"""What every secretaries' endpoint asks first: may the caller lead, and in which scope.

The chat services' own refusals for an id (NotFound, PermissionDenied) become `Hidden` here,
so a meeting, 心得 or member of another branch is refused exactly as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from server.api.spec import Call
from server.errors import NotFound, PermissionDenied
from server.services.people.access import Hidden, Scope, require_leader


def leader_scope(call: Call[Any]) -> Scope:
    """The caller's scope, once we know they may run a branch's business (else 403)."""
    require_leader(call.member)
    assert call.scope is not None
    return call.scope


@contextmanager
def hidden_if_refused() -> Iterator[None]:
    """The chat services' "no such meeting / not yours" for an id: the API's one answer."""
    try:
        yield
    except (NotFound, PermissionDenied):
        raise Hidden() from None


def zone_of(call: Call[Any]) -> ZoneInfo:
    return call.deps.settings.zone
