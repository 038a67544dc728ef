"""Structured (one JSON object per line) logs that never carry a phone number or a full openid."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_PHONE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
# WeChat openids are 28 characters of [A-Za-z0-9_-], starting with 'o' for official accounts.
_OPENID = re.compile(r"\b(o[A-Za-z0-9_-]{5})[A-Za-z0-9_-]{20,}([A-Za-z0-9_-]{2})\b")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def scrub(text: str) -> str:
    text = _PHONE.sub(r"\1****\2", text)
    return _OPENID.sub(r"\1…\2", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,  # which of several workers or servers said it
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(entry, ensure_ascii=False, default=str))


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log would print full query strings (openid, signatures).
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    # APScheduler logs every run of every job at INFO (the outbox ticks every few seconds):
    # our jobs log what they did themselves; its warnings and errors still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
