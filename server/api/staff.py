"""Organising staff: tallies, compliance per branch, exports."""

from __future__ import annotations

from server.api.spec import Routes

routes = Routes("统计")
