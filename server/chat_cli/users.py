"""The members the chat plays: one stable openid per name, and every name played this session."""

from __future__ import annotations

import base64
import hashlib


def openid_for(name: str) -> str:
    """A stable, realistic openid (28 chars, leading "o") so a name is the same member every run."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode("ascii")[:27]


def short_openid(openid: str) -> str:
    # Style rule: no full openids on screen or in logs.
    return f"{openid[:6]}…{openid[-4:]}"


class Players:
    """The member played now, and everyone played before: late replies to them still show."""

    user: str
    openid: str

    def __init__(self, name: str) -> None:
        self.names: dict[str, str] = {}  # openid → name
        self.switch(name)

    def switch(self, name: str) -> None:
        self.user, self.openid = name, openid_for(name)
        self.names[self.openid] = name
