"""What a handler can ask for, by parameter name."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from server.dispatch.state import Conversation
from server.models.people import Member, WeChatIdentity
from server.wechat.messages import InboundMessage

_SPACES = re.compile(r"\s+")
# Punctuation a member may leave at the ends of a command ("帮助。", "【绑定】").
EDGE_PUNCT = "。．.，,！!？?；;：:、~～…【】[]「」『』\"'“”‘’()（）《》<>"


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), one space between words, edge punctuation removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACES.sub(" ", text).strip()
    return text.strip(EDGE_PUNCT + " ")


def text_after_number(raw_text: str, command: str) -> str:
    """What the user typed after `command N`, as typed: full-width punctuation kept.

    Commands are matched on the normalised text; reasons and minutes are kept from the raw one,
    so the number (full-width too) is skipped here rather than cut by its normalised length.
    """
    found = re.fullmatch(rf"\s*{re.escape(command)}\s*[0-9０-９]+\s*(.*)", raw_text, re.S)
    return found.group(1).strip() if found else ""


class PrivateReply(str):
    """A reply that repeats what the member gave only for the moment (an income for 算党费).

    Every reply is kept in the shared cache so that WeChat's retries of the same push get it
    again; this one is kept only as long as those retries can come (`processing.py`).
    """


@dataclass
class ChatContext:
    message: InboundMessage
    appid: str
    member: Member | None
    identity: WeChatIdentity | None
    conversation: Conversation
    deps: dict[str, Any] = field(default_factory=dict)
    text: str | None = field(init=False)

    def __post_init__(self) -> None:
        raw = self.message.text
        self.text = normalise(raw) if raw is not None else None

    @property
    def bound(self) -> bool:
        return self.member is not None

    def injectables(self) -> dict[str, Any]:
        return {
            **self.deps,
            "ctx": self,
            "message": self.message,
            "text": self.text,
            "raw_text": self.message.text,
            "openid": self.message.from_user,
            "appid": self.appid,
            "channel": self.message.channel,
            "member": self.member,
            "identity": self.identity,
            "conversation": self.conversation,
        }
