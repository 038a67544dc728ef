"""Inbound pushes: XML (official account, mini-program) or JSON (mini-program) into one shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from server.channels import Channel
from server.errors import DangjianError


class MalformedMessage(DangjianError):
    http_status = 400


def parse_body(body: bytes) -> dict[str, Any]:
    """A push body as a dict of its fields; JSON when it looks like JSON, else XML."""
    try:
        stripped = body.decode("utf-8").lstrip()
    except UnicodeDecodeError:
        raise MalformedMessage("body is not UTF-8") from None
    if not stripped:
        raise MalformedMessage("empty body")
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):  # RecursionError: nesting meant to crash us
            raise MalformedMessage("malformed JSON") from None
        if not isinstance(data, dict):
            raise MalformedMessage("JSON body must be an object")
        return data
    try:
        root, fields = _parse_xml(stripped)
    except expat.ExpatError:
        raise MalformedMessage("malformed XML") from None
    if root != "xml" or not isinstance(fields, dict) or not fields:
        raise MalformedMessage("XML body must have an <xml> root with fields")
    return fields


def _parse_xml(text: str) -> tuple[str, dict[str, Any] | str | None]:
    """Element text by tag; nested elements (SendPicsInfo, ScanCodeInfo...) as nested dicts.

    Straight on expat, with any DTD refused: no DTD means no entity can be declared, so no
    billion laughs and no XXE.  Twice as fast as defusedxml, which runs ElementTree's
    Python-level parser, and this runs for every push.
    """
    stack: list[tuple[str, dict[str, Any], list[str]]] = []
    done: list[tuple[str, dict[str, Any] | str | None]] = []

    def start(name: str, _attrs: object) -> None:
        stack.append((name, {}, []))

    def text_of(data: str) -> None:
        if stack:
            stack[-1][2].append(data)

    def end(name: str) -> None:
        _, children, texts = stack.pop()
        value: dict[str, Any] | str | None = children or ("".join(texts) or None)
        if stack:
            stack[-1][1][name] = value
        else:
            done.append((name, value))

    def refuse(*_: object) -> None:
        raise MalformedMessage("DTDs and entity declarations are not accepted")

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text_of
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.Parse(text, True)
    return done[0]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return None
    return str(value)


# Metric labels come from this fixed set: a label per unknown MsgType would let anyone who can
# sign a push grow the metrics without bound.
KNOWN_TYPES = frozenset(
    {
        "text",
        "voice",
        "image",
        "video",
        "shortvideo",
        "location",
        "link",
        "file",
        "event",
        "miniprogrampage",
    }
)


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
    def type_label(self) -> str:
        return self.msg_type if self.msg_type in KNOWN_TYPES else "other"

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
    raw_time = str(fields.get("CreateTime") or 0)
    # Seconds: ten digits until 2286.  A 400-digit "time" is no time, and nothing should carry it.
    if not (raw_time.isascii() and raw_time.isdigit() and len(raw_time) <= 12):
        raise MalformedMessage("CreateTime must be a number of seconds")
    create_time = int(raw_time)
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
