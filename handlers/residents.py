"""居民点单 in chat: 居民登记, 点单 (a photo may follow), 我的点单, 评价 N 1-5.

Residents are not Party members and have no binding: each is the WeChat user who registered
(`residents.resident_for(appid, openid)`), so none of these asks for `member`.  What a resident
reads of a member who serves them is a name, never a phone.
"""

from __future__ import annotations

from server.clock import Clock, when_text
from server.dispatch import ChatContext, Router
from server.dispatch.filters import Command, InState, Keyword, MsgType, Pattern
from server.dispatch.state import Conversation
from server.errors import ValidationFailed
from server.models.community import (
    NEED_STATUS_LABELS,
    ORDER_STATUS_LABELS,
    Community,
    Need,
    NeedStatus,
    OrderStatus,
    Resident,
    ServiceOrder,
)
from server.models.people import own_phone
from server.services.community import notify, orders, residents, timeline
from server.services.community.wording import community_at_start, short, split_at_phone
from server.services.delivery.messenger import WakeOutbox
from server.settings import Settings
from server.wechat.messages import InboundMessage
from server.wechat.replies import MAX_TEXT_BYTES, fit

router = Router("residents")
PHOTO = "resident:photo"  # data: need — the need an image sent next is attached to

REGISTER = Command("居民登记", "居民注册")
POST = Command("点单", "居民点单", "我要点单")
MINE = Keyword("我的点单", "我的需求", "点单记录")
ONE = Pattern(r"(?:我的点单|我的需求)\s*(?P<number>\d{1,9})")
RATE = Pattern(r"评价\s*(?P<number>\d{1,9})\s+(?P<stars>\d{1,2})\s*(?:分|星)?\s*(?P<note>.*)")
# 评价 761 非常满意: the words older residents use for a score.
WORDS_FOR_STARS = {
    "非常满意": 5, "很满意": 5, "特别满意": 5, "五星": 5, "五分": 5, "满分": 5,
    "很不满意": 1, "非常不满意": 1, "一星": 1, "一分": 1,
    "不满意": 2, "不太满意": 2, "两星": 2, "二星": 2, "两分": 2,
    "一般": 3, "还行": 3, "三星": 3, "三分": 3,
    "满意": 4, "比较满意": 4, "四星": 4, "四分": 4, "挺好": 4, "很好": 5,
}  # fmt: skip
_WORDS = "|".join(sorted(WORDS_FOR_STARS, key=len, reverse=True))
RATE_IN_WORDS = Pattern(rf"评价\s*(?P<number>\d{{1,9}})\s*(?P<word>{_WORDS})\s*(?P<note>.*)")
# A number typed: meant as a rating.  (A named group: a Pattern passes when it finds one.)
RATE_MALFORMED = Pattern(r"评价\s*(?P<number>\d).*")
# 评价 alone, or 评价 挺好的谢谢: which orders they may rate, and how.
RATE_BARE = Pattern(r"(?P<word>评价)(?:\s*[^\d\s].*)?")

HOW_TO_REGISTER = (
    "请先登记：居民登记 姓名 手机号 社区 住址，例如：居民登记 张三 13800000000 红星村 幸福小区3栋。"
    "手机号只给接单的党员和社区，方便上门联系。"
)
SHOWN = 8  # needs listed by 我的点单: about 200 bytes each


def _typed(raw_text: str | None, words: tuple[str, ...], fallback: str) -> str:
    """What followed the command as typed, full-width punctuation kept (`args` is normalised)."""
    raw = (raw_text or "").strip()
    for word in sorted(words, key=len, reverse=True):
        if raw.startswith(word):
            return raw[len(word) :].strip(" :：\u3000")
    return fallback


async def _resident(appid: str, openid: str) -> Resident:
    resident = await residents.resident_for(appid, openid)
    if resident is None:
        raise ValidationFailed(HOW_TO_REGISTER, field="resident")
    return resident


@router.message(REGISTER)
async def register(args: str, appid: str, openid: str, clock: Clock) -> str:
    if not args:
        return HOW_TO_REGISTER
    name, phone, rest = split_at_phone(args)
    if not name:
        raise ValidationFailed("请在手机号前写上您的姓名。" + HOW_TO_REGISTER, field="name")
    community, place = await community_at_start(rest)
    if community is None:
        raise ValidationFailed("请在手机号后写上社区和住址。" + HOW_TO_REGISTER, field="community")
    before = await residents.resident_for(appid, openid)
    resident = await residents.register(
        appid, openid, name=name, phone=phone, community=community, place=place, now=clock.now()
    )
    same = before is not None and (
        before.name,
        before.phone,
        before.community_id,
        before.place,
    ) == (resident.name, resident.phone, resident.community_id, resident.place)
    head = "您已登记，信息没有变化" if same else "已更新您的登记信息" if before else "登记成功"
    return (
        f"{head}：{resident.name}，{community.name} {resident.place}，"
        f"手机 {own_phone(resident.phone)}。\n"
        "有需要帮助的事，请发送：点单 内容，例如：点单 楼道灯坏了，3栋2单元5楼。"
    )


@router.message(ONE)
async def show_need(number: str, appid: str, openid: str, clock: Clock) -> str:
    resident = await _resident(appid, openid)
    need = await residents.own_need(resident, int(number))
    order = await ServiceOrder.get_or_none(need_id=need.id)
    lines = await _need_lines(need, order, clock)
    lines.append("进展：")
    for event in await timeline.timeline(need.id, order.id if order else None):
        # The resident reads what happened and who served: never a member's phone.
        lines.append(f"· {when_text(event.at, clock.zone)} {event.actor} {event.action}")
    return fit("\n".join(lines), MAX_TEXT_BYTES)


@router.message(POST)
async def post(
    args: str,
    raw_text: str,
    appid: str,
    openid: str,
    clock: Clock,
    conversation: Conversation,
    settings: Settings,
    wake_outbox: WakeOutbox,
) -> str:
    resident = await _resident(appid, openid)
    if not args:
        return "请在 点单 后写上需要帮助的事，例如：点单 楼道灯坏了，3栋2单元5楼。"
    text = _typed(raw_text, ("点单", "居民点单", "我要点单"), args)
    tidings = notify.Tidings.of(settings, clock.zone, wake_outbox)
    need = await residents.post_need(resident, text, clock.now(), tidings=tidings)
    conversation.set(PHOTO, need=need.id)
    community = await Community.get(id=resident.community_id)
    heard = "将通知社区" if tidings.names("need_posted") else "社区会在需求列表中看到"
    return (
        f"已收到您的需求，编号 {need.id}（{community.name}），{heard}，受理后会告诉您。\n"
        "需要的话，现在可以发一张照片附在这条需求上。回复 我的点单 查看进展。"
    )


@router.handler(MsgType("image"), InState(PHOTO))
async def photo(
    message: InboundMessage, appid: str, openid: str, conversation: Conversation
) -> str:
    resident = await _resident(appid, openid)
    need_id = int(conversation.data.get("need", 0))
    conversation.clear()
    media_id = message.raw.get("MediaId")
    if not isinstance(media_id, str) or not media_id:
        return "没有收到图片，请再发一次。"
    need = await residents.attach_photo(resident, need_id, media_id)
    return f"照片已附在需求 {need.id} 上，社区会一并看到。"


@router.message(MINE)
async def my_needs(appid: str, openid: str, clock: Clock) -> str:
    resident = await _resident(appid, openid)
    needs = await residents.own_needs(resident, limit=SHOWN)
    if not needs:
        return "您还没有点单。有需要帮助的事，请发送：点单 内容。"
    dispatched = await ServiceOrder.filter(need_id__in=[n.id for n in needs])
    by_need = {o.need_id: o for o in dispatched}
    lines = ["您的点单（最近的在前）："]
    for need in needs:
        lines += await _need_lines(need, by_need.get(need.id), clock)
    lines.append("回复 我的点单 编号 查看进展。")
    return fit("\n".join(lines), MAX_TEXT_BYTES)


async def _need_lines(need: Need, order: ServiceOrder | None, clock: Clock) -> list[str]:
    local = need.created_at.astimezone(clock.zone)
    # Once served, that is its state (not 已下单 for ever after).
    served = order is not None and order.status == OrderStatus.COMPLETED
    state = "已完成服务" if served else NEED_STATUS_LABELS[need.status]
    lines = [f"【需求 {need.id}】{local.month}月{local.day}日 {short(need.text, 30)}（{state}）"]
    if need.status in (NeedStatus.REFUSED, NeedStatus.CANCELLED):
        lines.append(f"  原因：{need.reason}")
    if order is None:
        return lines
    names = "、".join(v.name for v in await orders.claimers(order))
    lines.append(
        f"  服务单 {order.id}：{when_text(order.starts_at, clock.zone)}，"
        f"{ORDER_STATUS_LABELS[order.status]}；接单党员：{names or '暂无'}"
    )
    if order.rating is not None:
        lines.append(f"  您的评价：{order.rating}分")
    elif orders.rating_open(order, clock.now()):
        lines.append(f"  请评价：评价 {order.id} 5 很满意（1到5分）")
    elif order.status == OrderStatus.COMPLETED:
        lines.append("  评价已截止")
    return lines


async def _order_number(resident: Resident, number: int) -> int:
    """The 服务单 a resident means: one of theirs by its own number, or the one made from
    their 需求 of that number (the number they were given when they posted).  When the number
    is both, and they are two services, it is asked rather than guessed."""
    mine = await ServiceOrder.get_or_none(id=number, need__resident_id=resident.id)
    need = await Need.get_or_none(id=number, resident_id=resident.id).prefetch_related("order")
    made = getattr(need, "order", None) if need is not None else None
    from_need = made if isinstance(made, ServiceOrder) else None
    if mine is not None and from_need is not None and mine.id != from_need.id:
        raise ValidationFailed(
            f"编号 {number} 既是服务单 {mine.id}（需求 {mine.need_id}），又是需求 {number}"
            f"（服务单 {from_need.id}）。请用服务单编号评价，例如：评价 {from_need.id} 5",
            field="order",
        )
    chosen = mine or from_need
    return chosen.id if chosen is not None else number


@router.message(RATE)
async def rate(
    number: str, stars: str, note: str, raw_text: str, appid: str, openid: str, clock: Clock
) -> str:
    resident = await _resident(appid, openid)
    typed = RATE.pattern.fullmatch((raw_text or "").strip())
    said = typed.group("note") if typed else note
    order_id = await _order_number(resident, int(number))
    order = await orders.rate(resident, order_id, int(stars), said, clock.now())
    return f"谢谢您的评价！服务单 {order.id}：{order.rating}分。您的意见会转达给社区。"


@router.message(RATE_IN_WORDS)
async def rate_in_words(
    number: str, word: str, note: str, appid: str, openid: str, clock: Clock
) -> str:
    resident = await _resident(appid, openid)
    stars = WORDS_FOR_STARS[word]
    order_id = await _order_number(resident, int(number))
    order = await orders.rate(resident, order_id, stars, f"{word} {note}".strip(), clock.now())
    return f"谢谢您的评价！服务单 {order.id}：{order.rating}分（{word}）。您的意见会转达给社区。"


async def _a_resident(ctx: ChatContext) -> bool:
    """评价 without a number is a resident's only: from anyone else it is words for 问."""
    return await residents.resident_for(ctx.appid, ctx.message.from_user) is not None


@router.message(RATE_BARE, _a_resident)
async def rate_bare(appid: str, openid: str, clock: Clock) -> str:
    resident = await _resident(appid, openid)
    open_ = [
        o
        for o in await ServiceOrder.filter(
            need__resident_id=resident.id, status=OrderStatus.COMPLETED, rating=None
        ).order_by("-completed_at")
        if orders.rating_open(o, clock.now())
    ]
    if not open_:
        return "目前没有待评价的服务。服务完成后，回复 我的点单 可以查看并评价。"
    lines = ["请发送：评价 服务单编号 1到5分 意见，5分最满意，也可以写“很满意”。您可以评价："]
    lines += [f"· 服务单 {o.id}（需求 {o.need_id}）{o.kind}·{o.title}" for o in open_[:5]]
    lines.append(f"例如：评价 {open_[0].id} 5 很及时")
    return "\n".join(lines)


@router.message(RATE_MALFORMED)
async def rate_malformed() -> str:
    return (
        "评价请发送：评价 服务单编号 分数（1到5分）意见，例如：评价 761 5 很满意，"
        "也可以写：评价 761 很满意。回复 我的点单 查看编号。"
    )
