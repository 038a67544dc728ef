"""党费计算 in the mini-program: the same rule and words as the chat's 算党费.

POST, not GET: the income travels in the body, never in a URL that proxies and access logs
keep.  Nothing is stored; a refusal names the field without repeating the number.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from server.api import replies
from server.api.spec import Auth, Call, Input, Routes
from server.services.people import dues
from server.services.people.dues import Category

routes = Routes("党费计算")


class DuesInput(Input):
    category: Category = Field(
        description="在职、离退休、农民、学生、下岗失业、低保或抚恤救济",
    )
    income: Decimal | None = Field(
        None,
        gt=0,
        le=dues.MAX_INCOME,
        decimal_places=2,
        allow_inf_nan=False,
        description=(
            "每月收入（元，精确到分）：在职为税后工资收入中相对固定的、经常性的部分，"
            "离退休为离退休费或养老金总额；其他情况不需要，也不使用。不保存"
        ),
    )


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


@routes.post(
    "/dues",
    response=replies.Dues,
    summary="按规定计算每月应交党费（收入不保存）",
    body=DuesInput,
    auth=Auth.SESSION,
)
async def calculate(call: Call[Any]) -> dict[str, Any]:
    """金额为字符串（元，两位小数）；农民党员为区间（`amount` 为 null，看 `min`、`max`）。
    在职、离退休缺少 `income` 时回答 400（`field`: `income`）。实际数额以党支部核定的为准。"""
    body: DuesInput = call.body
    income = body.income if body.category in dues.INCOME_NAMED else None
    result = dues.monthly_dues(body.category, income)
    return {
        "category": result.category.value,
        "amount": _money(result.amount),
        "min": _money(result.low),
        "max": _money(result.high),
        "rate": None if result.rate is None else dues.percent(result.rate),
        "base": _money(result.base),
        "bracket": result.bracket,
        "source": result.source,
        "notes": [dues.AUTHORITATIVE, dues.HARDSHIP, dues.MORE_WELCOME],
    }
