"""Inbound pushes: XML (official account, mini-program) or JSON (mini-program) into one shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from server.errors import DangjianError
from server.models import Channel


class MalformedMessage(DangjianError):
    http_status = 400


def parse_body(body: bytes) -> dict[str, Any]:
    """A push body as a flat dict of its fields; JSON when it looks like JSON, else XML."""
    text = body.decode("utf-8", errors="strict") if body else ""
    stripped = text.lstrip()
    if not stripped:
        raise MalformedMessage("empty body")
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise MalformedMessage("malformed JSON") from None
        if not isinstance(data, dict):
            raise MalformedMessage("JSON body must be an object")
        return data
    try:
        # defusedxml refuses DTDs and entity declarations (billion laughs, XXE) outright;
        # ElementTree is several times faster than xmltodict on these small flat documents.
        root = SafeElementTree.fromstring(stripped)
    except (ParseError, DefusedXmlException, ValueError):
        raise MalformedMessage("malformed XML") from None
    if root.tag != "xml" or len(root) == 0:
        raise MalformedMessage("XML body must have an <xml> root with fields")
    return _fields(root)


def _fields(element: Element) -> dict[str, Any]:
    """Child elements as a dict; nested ones (SendPicsInfo, ScanCodeInfo...) as nested dicts."""
    return {child.tag: _fields(child) if len(child) else (child.text or None) for child in element}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return None
    return str(value)


@dataclass(frozen=True)
class InboundMessage:
    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    channel: Channel
    msg_id: str | None = None
    content: str | None = None
    event: str | None = None
    event_key: str | None = None
    recognition: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def dedup_key(self) -> str:
        """WeChat's advice: MsgId for messages, FromUserName + CreateTime for events."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.from_user}:{self.create_time}:{self.event or self.msg_type}"

    @property
    def text(self) -> str | None:
        """What the member said: typed text, or WeChat's transcription of a voice message."""
        if self.msg_type == "text":
            return self.content
        if self.msg_type == "voice":
            return self.recognition or None
        if self.msg_type == "event" and self.event == "click":
            return self.event_key  # menu buttons are configured with a command as their key
        return None


def to_message(fields: dict[str, Any], channel: Channel) -> InboundMessage:
    from_user = _text(fields.get("FromUserName"))
    msg_type = _text(fields.get("MsgType"))
    if not from_user or not msg_type:
        raise MalformedMessage("FromUserName and MsgType are required")
    try:
        create_time = int(str(fields.get("CreateTime") or 0))
    except ValueError:
        raise MalformedMessage("CreateTime must be a number") from None
    event = _text(fields.get("Event"))
    return InboundMessage(
        to_user=_text(fields.get("ToUserName")) or "",
        from_user=from_user,
        create_time=create_time,
        msg_type=msg_type.lower(),
        channel=channel,
        msg_id=_text(fields.get("MsgId") or fields.get("MsgID")),
        content=_text(fields.get("Content")),
        event=event.lower() if event else None,
        event_key=_text(fields.get("EventKey")),
        recognition=_text(fields.get("Recognition")),
        raw=fields,
    )
