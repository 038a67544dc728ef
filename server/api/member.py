"""A member's own pages in the mini-program."""

from __future__ import annotations

from server.api.spec import Routes

routes = Routes("党员")
