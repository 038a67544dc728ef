"""What the fake keeps for the harness to look at: the calls it answered, the messages it
delivered, and the failures queued to inject."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


def _json_with_at(record: CallRecord | SentMessage) -> dict[str, Any]:
    return {**asdict(record), "at": record.at.isoformat()}


@dataclass
class CallRecord:
    seq: int
    method: str
    path: str
    query: dict[str, str]
    body: Any
    errcode: int
    status: int
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return _json_with_at(self)


def redact(query: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    # The recorded call is shown to tests and humans: no token, no secret.
    query = {k: "***" if k == "secret" else v for k, v in query.items() if k != "access_token"}
    if isinstance(body, dict) and "secret" in body:
        body = {**body, "secret": "***"}
    return query, body


@dataclass
class SentMessage:
    kind: str  # "custom", "subscribe" or "template"
    openid: str
    body: dict[str, Any]
    at: datetime
    msgid: int

    @property
    def text(self) -> str | None:
        """The content of a custom text message, for quick assertions."""
        text = self.body.get("text")
        return text.get("content") if isinstance(text, dict) else None

    def to_json(self) -> dict[str, Any]:
        return _json_with_at(self)


@dataclass
class Failure:
    """An injected answer: HTTP `status` if set, else `errcode`; `delay` real seconds first."""

    errcode: int | None
    status: int | None
    delay: float | None
    times: int | None  # None: every call until reset
    after: int = 0  # calls let through untouched first: "the second send hangs"


def take_failure(failures: dict[str, Failure], path: str) -> Failure | None:
    """The failure queued for `path`, used up once; it is forgotten when none are left."""
    failure = failures.get(path)
    if failure is None:
        return None
    if failure.after > 0:
        failure.after -= 1
        return None
    if failure.times is not None:
        failure.times -= 1
        if failure.times <= 0:
            del failures[path]
    return failure
