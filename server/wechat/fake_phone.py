"""Mini-program phone verification: `getuserphonenumber` trades getPhoneNumber's code for the
number the user verified.  Codes are single-use and live five minutes (-> 40029 otherwise)."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.wechat.fake_replies import Reply, error, ok

CODE_LIFETIME = 300


@dataclass
class _PhoneCode:
    phone: str
    issued_at: float
    used: bool = False


@dataclass
class PhoneCodes:
    codes: dict[str, _PhoneCode] = field(default_factory=dict)

    def add(self, code: str, phone: str, now: float) -> None:
        """The user tapped 允许 on getPhoneNumber for `phone`; the page received `code`."""
        self.codes[code] = _PhoneCode(phone, now)

    def exchange(self, body: dict[str, object], appid: str, now: float) -> Reply:
        code = body.get("code")
        if not isinstance(code, str) or not code:
            return error(41008)
        entry = self.codes.get(code)
        if entry is None or entry.used or now - entry.issued_at > CODE_LIFETIME:
            return error(40029)
        entry.used = True
        return ok(
            phone_info={
                "phoneNumber": entry.phone,
                "purePhoneNumber": entry.phone,
                "countryCode": "86",
                "watermark": {"timestamp": int(now), "appid": appid},
            }
        )
