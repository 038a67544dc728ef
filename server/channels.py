"""The two WeChat products a member reaches us through.  Its own module: the WeChat protocol
layer and the models both name them, and neither may import the other."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    OFFICIAL_ACCOUNT = "oa"  # 公众号
    MINIPROGRAM = "miniprogram"  # 小程序
