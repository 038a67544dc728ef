"""What WeChat accepts in a message body: custom-message types, templates and their required
fields, and the limits on each subscribe-message data field (-> 47003 naming the field)."""

from __future__ import annotations

import re
from typing import Any

from server.wechat.fake_replies import Reply, error

CUSTOM_TYPES = frozenset(
    {"text", "image", "voice", "video", "music", "news", "mpnews", "msgmenu", "wxcard",
     "miniprogrampage", "link"}
)  # fmt: skip


def custom_problem(body: dict[str, Any]) -> Reply | None:
    msgtype = body.get("msgtype")
    if msgtype not in CUSTOM_TYPES:
        return error(40008)
    if not isinstance(body.get(msgtype), dict):
        return error(47001, f"({msgtype} missing)")
    if msgtype == "text" and not body["text"].get("content"):
        return error(47001, "(text.content empty)")
    return None


def template_problem(body: dict[str, Any], templates: dict[str, list[str] | None]) -> Reply | None:
    """Once any template is registered, unknown ids get 40037; listed fields must all be sent."""
    template_id, data = body.get("template_id"), body.get("data")
    if not isinstance(template_id, str) or not template_id:
        return error(40037)
    if templates and template_id not in templates:
        return error(40037)
    if not isinstance(data, dict):
        return error(47003, "data missing")
    for name in templates.get(template_id) or []:
        if name not in data:
            return error(47003, f"data.{name}.value is empty")
    return None


def template_content(fields: list[str] | None) -> str:
    """A template's `content` as WeChat lists it: one `{{name.DATA}}` line per field (a template
    registered without fields lists none)."""
    return "".join(f"{{{{{name}.DATA}}}}\n" for name in fields or [])


def subscribe_problem(body: dict[str, Any]) -> Reply | None:
    """Checked after `template_problem`, so `data` is a dict."""
    for name, item in body["data"].items():
        problem = check_field(name, item)
        if problem:
            return error(47003, f"data.{name}.value {problem}")
    if body.get("miniprogram_state", "formal") not in ("developer", "trial", "formal"):
        return error(47003, "miniprogram_state invalid")
    return None


_DATE = r"\d{4}(?:年|-|/)\d{1,2}(?:月|-|/)\d{1,2}日?"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?"
_RULES: dict[str, tuple[int, re.Pattern[str] | None]] = {
    # WeChat's subscribe-message field types: (max length, shape).
    "thing": (20, None),
    "number": (32, re.compile(r"^[-+]?\d+(?:\.\d+)?$")),
    "letter": (32, re.compile(r"^[A-Za-z]+$")),
    "symbol": (5, re.compile(r"^[^\w\s]+$")),
    "character_string": (32, re.compile(r"^[\x21-\x7e]+$")),
    "time": (64, re.compile(rf"^(?:{_DATE}(?:\s*{_TIME})?|{_TIME})(?:\s*~\s*.+)?$")),
    "date": (64, re.compile(rf"^{_DATE}(?:\s*{_TIME})?(?:\s*~\s*.+)?$")),
    "amount": (11, re.compile(r"^[¥$€￥]?\d+(?:\.\d{1,2})?元?$")),
    "phone_number": (17, re.compile(r"^[\d+\-() ]+$")),
    "car_number": (8, None),
    "name": (20, None),
    "phrase": (5, re.compile(r"^[\u4e00-\u9fff]+$")),
}


def check_field(name: str, item: Any) -> str | None:
    """Why a subscribe-message data item breaks WeChat's limits, or None when it is fine."""
    if not isinstance(item, dict) or not isinstance(item.get("value"), str):
        return "missing"
    value = item["value"]
    if not value:
        return "is empty"
    kind = re.sub(r"\d+$", "", name)
    if kind not in _RULES:
        return None
    limit, shape = _RULES[kind]
    if kind == "name" and any(ord(ch) > 0x7F for ch in value):
        limit = 10  # ten Chinese characters or twenty letters
    if len(value) > limit:
        return f"too long (at most {limit} characters for {kind})"
    if shape is not None and not shape.match(value):
        return f"invalid (not a {kind})"
    return None
