"""The customer-service window: how many messages the account may send a user, and until when.

A user message opens 5 sends within 48 h, an event 3 within 1 minute; no open window -> 45015,
window used up -> 45047.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.wechat.fake_replies import Reply, error

MESSAGE_WINDOW = (48 * 3600, 5)
EVENT_WINDOW = (60, 3)


@dataclass
class _Window:
    expires_at: float
    remaining: int


@dataclass
class ServiceWindows:
    windows: dict[tuple[str, str], _Window] = field(default_factory=dict)  # (openid, kind)

    def open(self, openid: str, kind: str, now: float) -> None:
        if kind not in ("message", "event"):
            raise ValueError("kind must be 'message' or 'event'")
        seconds, count = MESSAGE_WINDOW if kind == "message" else EVENT_WINDOW
        # Each new action opens its window afresh, as WeChat counts from the latest one.
        self.windows[(openid, kind)] = _Window(now + seconds, count)

    def use(self, openid: str, now: float) -> Reply | None:
        """Spend one send to `openid`; None when allowed, else WeChat's refusal."""
        windows = [self.windows.get((openid, k)) for k in ("event", "message")]
        open_windows = [w for w in windows if w is not None and w.expires_at > now]
        if not open_windows:
            return error(45015)
        # Use the window that closes first, so the longer one lasts.
        usable = sorted((w for w in open_windows if w.remaining > 0), key=lambda w: w.expires_at)
        if not usable:
            return error(45047)
        usable[0].remaining -= 1
        return None
