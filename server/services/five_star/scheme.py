"""The scoring scheme: five areas, their items with points and evidence, and the star bands.

Read from TOML (`scheme.toml` beside this file is the default) and checked whole before it is
used or saved: a mistake is refused with the area, the item and the field named, so staff
editing a year's copy on the dashboard see which line to mend.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.errors import ValidationFailed

DEFAULT = Path(__file__).with_name("scheme.toml")
AREAS = ("基本组织", "基本队伍", "基本制度", "基本任务", "基本保障")
SELF = "self"
# The records an item may be filled from; `target` is asked of the per-member ones.
SOURCES = {
    "meetings": "三会一课按时召开",
    "study": "组织党员学习",
    "exchange": "交流体会",
    "service": "双报到服务",
    "mobile": "流出党员联系",
    "org_life": "组织生活会",
    "appraisal": "民主评议党员",
}
NEEDS_TARGET = frozenset({"study", "exchange", "service"})
MAX_TEXT = 20_000
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class Item:
    key: str
    name: str
    points: int
    source: str  # "self", or one of SOURCES
    evidence: str
    target: int | None = None

    @property
    def auto(self) -> bool:
        return self.source != SELF


@dataclass(frozen=True)
class Area:
    key: str
    name: str
    items: tuple[Item, ...]

    @property
    def points(self) -> int:
        return sum(i.points for i in self.items)


@dataclass(frozen=True)
class Band:
    stars: int
    min_total: int
    min_area_share: float


@dataclass(frozen=True)
class Scheme:
    areas: tuple[Area, ...]
    bands: tuple[Band, ...]  # highest first

    @property
    def points(self) -> int:
        return sum(a.points for a in self.areas)

    def items(self) -> list[Item]:
        return [i for a in self.areas for i in a.items]

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items() if i.key == key), None)

    def area_of(self, key: str) -> Area:
        return next(a for a in self.areas if any(i.key == key for i in a.items))

    def level(self, scores: dict[str, int]) -> int:
        """The highest band the scores reach (0: none)."""
        total = sum(scores.get(i.key, 0) for i in self.items())
        for band in self.bands:
            shares_met = all(
                sum(scores.get(i.key, 0) for i in a.items) >= band.min_area_share * a.points
                for a in self.areas
            )
            if total >= band.min_total and shares_met:
                return band.stars
        return 0


def default_text() -> str:
    return DEFAULT.read_text(encoding="utf-8")


def _refuse(where: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"评星方案有误（{where}）：{message}", field="scheme")


def _text(raw: dict[str, Any], name: str, where: str, limit: int) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _refuse(where, f"缺少 {name}，应为文字。")
    if len(value) > limit:
        raise _refuse(where, f"{name} 不能超过 {limit} 个字。")
    return value.strip()


def _int(raw: dict[str, Any], name: str, where: str, low: int, high: int) -> int:
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(where, f"{name} 应为 {low} 到 {high} 之间的整数。")
    return value


def _key(raw: dict[str, Any], where: str, seen: set[str]) -> str:
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise _refuse(where, "key 应为小写字母开头的英文字母、数字或下划线（至多40个）。")
    if key in seen:
        raise _refuse(where, f"key「{key}」重复。")
    seen.add(key)
    return key


def _item(raw: Any, where: str, seen: set[str]) -> Item:
    if not isinstance(raw, dict):
        raise _refuse(where, "每个指标应为一个 [[areas.items]] 表。")
    key = _key(raw, where, seen)
    where = f"{where} 指标 {key}"
    source = raw.get("source")
    if source != SELF and source not in SOURCES:
        raise _refuse(where, "source 应为 self 或 " + "、".join(SOURCES) + " 之一。")
    target = None
    if source in NEEDS_TARGET:
        target = _int(raw, "target", where, 1, 1000)
    elif "target" in raw:
        raise _refuse(where, f"target 只用于 {'、'.join(sorted(NEEDS_TARGET))}。")
    return Item(
        key=key,
        name=_text(raw, "name", where, 50),
        points=_int(raw, "points", where, 1, 100),
        source=str(source),
        evidence=_text(raw, "evidence", where, 200),
        target=target,
    )


def _band(raw: Any, n: int) -> Band:
    where = f"第{n}个星级档次"
    if not isinstance(raw, dict):
        raise _refuse(where, "每个档次应为一个 [[bands]] 表。")
    stars = _int(raw, "stars", where, 1, 5)
    where = f"{stars}星档次"
    share = raw.get("min_area_share", 0.0)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise _refuse(where, "min_area_share 应为 0 到 1 之间的小数（如 0.8）。")
    return Band(stars, _int(raw, "min_total", where, 0, 1000), float(share))


def load(text: str) -> Scheme:
    """The scheme in `text`, or ValidationFailed naming what is wrong (field "scheme")."""
    if len(text) > MAX_TEXT:
        raise _refuse("全文", f"不能超过 {MAX_TEXT} 个字符。")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _refuse("格式", f"不是有效的 TOML：{exc}") from None
    areas_raw = raw.get("areas")
    if not isinstance(areas_raw, list) or len(areas_raw) != len(AREAS):
        raise _refuse("areas", "应有五个方面：" + "、".join(AREAS) + "。")
    seen_areas: set[str] = set()
    seen_items: set[str] = set()
    areas = []
    for n, (area, name) in enumerate(zip(areas_raw, AREAS, strict=True), start=1):
        where = f"第{n}个方面"
        if not isinstance(area, dict):
            raise _refuse(where, "每个方面应为一个 [[areas]] 表。")
        key = _key(area, where, seen_areas)
        if area.get("name") != name:
            raise _refuse(
                f"方面 {key}", f"name 应为「{name}」（五个方面依次为{'、'.join(AREAS)}）。"
            )
        items_raw = area.get("items")
        if not isinstance(items_raw, list) or not items_raw:
            raise _refuse(f"{name}", "至少要有一个指标（[[areas.items]]）。")
        items = tuple(_item(i, name, seen_items) for i in items_raw)
        areas.append(Area(key, name, items))
    bands_raw = raw.get("bands")
    if not isinstance(bands_raw, list) or not bands_raw:
        raise _refuse("bands", "至少要有一个星级档次（[[bands]]）。")
    bands = tuple(_band(b, n) for n, b in enumerate(bands_raw, start=1))
    stars = [b.stars for b in bands]
    if stars != sorted(set(stars), reverse=True):
        raise _refuse("bands", "星级档次应从高到低排列，每个星级只出现一次。")
    totals = [b.min_total for b in bands]
    if totals != sorted(totals, reverse=True) or len(set(totals)) != len(totals):
        raise _refuse("bands", "星级越高，min_total 应越高。")
    scheme = Scheme(tuple(areas), bands)
    if bands[0].min_total > scheme.points:
        raise _refuse(f"{bands[0].stars}星档次", f"min_total 超过了总分 {scheme.points}。")
    return scheme


def default() -> Scheme:
    return load(default_text())
