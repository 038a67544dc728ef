"""Branch secretaries' endpoints: meetings, review, members, the ledger."""

from __future__ import annotations

from server.api.spec import Routes

routes = Routes("支部管理")
