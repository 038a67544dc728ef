"""Who the 社区服务 page's steps tell: as chat's community commands do (`handlers/community.py`),
the step is handed `tidings` and writes its messages to the outbox in its own transaction; the
sender is woken once it has committed.

The one place the dashboard says how the 四单制 is told: if that changes, this module follows
chat and nothing else on the page does.  The functions after `tidings` give the few words the
page adds to its confirmation (将通知…), in chat's wording.
"""

from __future__ import annotations

from aiohttp import web

from server.models.community import ServiceOrder
from server.services.community import notify, orders
from server.typedefs import CLOCK, SETTINGS, WAKE_OUTBOX


def tidings(request: web.Request) -> notify.Tidings:
    """One step's way of telling: written with the step, sent within seconds."""
    config = request.config_dict
    return notify.Tidings.of(config[SETTINGS], config[CLOCK].zone, config[WAKE_OUTBOX])


async def dispatched(told: notify.Tidings, order: ServiceOrder) -> str:
    """下单 and 发布: the members it suits (the resident, for a need, is told as well)."""
    if names := told.names("order_dispatched"):
        return f"将通知 {len(names)} 名报到党员（收不到推送的回复 服务 时能看到）。"
    # None of them reachable in WeChat is not none of them there (chat says the latter).
    if suited := await orders.who_to_tell(order):
        return f"可以接这一单的 {len(suited)} 名报到党员都收不到推送，请电话联系或等他们回复 服务。"
    return "本社区还没有可以接这一单的已确认报到党员。"


def need_refused() -> str:
    return "将告知居民（我的点单 中也能看到）。"


def volunteer_decided(told: notify.Tidings) -> str:
    if told.names("volunteer_decided"):
        return "将通知本人。"
    return "本人暂时收不到推送，回复 我的报到 时会看到。"


def completed(order: ServiceOrder) -> str:
    return "" if order.need_id is None else "将请居民评价（回复 我的点单 时也可以评价）。"


async def cancelled(told: notify.Tidings, order: ServiceOrder) -> str:
    names = told.names("order_cancelled")
    line = f"将通知接单党员：{'、'.join(names)}；如急，请电话告知。" if names else ""
    unreached = [v.name for v in await orders.claimers(order) if v.name not in names]
    if unreached:
        line += f"{'、'.join(unreached)}收不到推送，请电话告知。"
    return line
