"""Lists that say 按组织顺序排列 follow the tree: under each parent 第二 before 第十 before 第十一,
however the roll happened to create them, and a second 党总支's branches after the first's.

A path sorted as text put 第一、第三、第二、第四 (三 sorts before 二); the 流动党员 figures, the
XLSX and the 流入报到 branch picker all take their order from `org_order.in_tree_order`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.db import close_database, open_database
from server.models.people import Organisation
from server.services.mobility import counts, incoming
from server.services.people.access import Scope
from server.services.people.org_order import in_tree_order, numeral, sibling_key
from tests.conftest import make_branch, migrated

STREET = "示范街道党工委"
FIRST = f"{STREET}/第一社区党总支"
SECOND = f"{STREET}/第二社区党总支"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[None]:
    await open_database(migrated(tmp_path / "order.sqlite3"))
    yield
    await close_database()


def test_chinese_numerals_are_read_as_numbers() -> None:
    read = {t: numeral(t) for t in ("二", "十", "十一", "二十", "二十三", "一百零五", "两", "12")}
    assert read == {
        "二": 2, "十": 10, "十一": 11, "二十": 20, "二十三": 23, "一百零五": 105, "两": 2, "12": 12,
    }  # fmt: skip
    assert numeral("东") is None
    names = ["第十一支部", "第二支部", "第十支部", "红星村党支部", "第三支部", "第12支部"]
    ordered = sorted(names, key=lambda name: sibling_key(name, 1))
    assert ordered == ["第二支部", "第三支部", "第十支部", "第十一支部", "第12支部", "红星村党支部"]
    # Names without a number keep the order they were created in (their ids).
    assert sibling_key("幸福里党支部", 3) < sibling_key("红星村党支部", 7)


async def test_branches_come_in_the_trees_order_not_the_paths(db: None) -> None:
    # The roll created them out of order: ids do not give the order either.
    for n in ("第三", "第一", "第十一", "第二", "第十", "第四"):
        await make_branch(f"{SECOND}/第二社区{n}党支部")
    for n in ("第二", "第一"):
        await make_branch(f"{FIRST}/第一社区{n}党支部")
    everyone = Scope(0, None, everything=True)

    names = [b.name for b in await counts.branches_of(everyone)]
    assert names == [
        "第一社区第一党支部", "第一社区第二党支部",  # the first 党总支, though created later
        "第二社区第一党支部", "第二社区第二党支部", "第二社区第三党支部", "第二社区第四党支部",
        "第二社区第十党支部", "第二社区第十一党支部",
    ]  # fmt: skip
    within = await Organisation.get(path=SECOND)
    assert [b.name for b in await counts.branches_of(everyone, within)] == names[2:]
    # 流入报到's picker: the branches a name finds, in the same order.
    assert [b.name for b in await incoming.branches_named("第二社区")] == names[2:]
    assert await in_tree_order([]) == []
