"""Organisation subtrees: "everything under X" is a prefix match on the materialised path."""

from __future__ import annotations

from tortoise.expressions import Q


def under(path: str, relation: str = "organisation") -> Q:
    """Rows whose `relation` is the organisation at `path` or anywhere beneath it."""
    # The "/" keeps 第一支部 from matching 第一支部二组's sibling 第一支部其他.
    return Q(**{f"{relation}__path": path}) | Q(**{f"{relation}__path__startswith": path + "/"})


def subtree(path: str) -> Q:
    """Organisation rows themselves: the one at `path` and every one beneath it."""
    return Q(path=path) | Q(path__startswith=path + "/")
