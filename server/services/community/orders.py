"""Service orders: the community dispatches (下单), reported members claim (接单) first come
first served, report the work done, the community confirms, the resident rates.

Capacity holds under any concurrency: a claim is one conditional UPDATE that takes a place
only while `taken < capacity`, in the same transaction as the claim row, so fifty members
tapping the last place at once leave exactly one claim, on SQLite and PostgreSQL alike.

Given `tidings`, a step writes what it tells (`notify`) to the outbox in its own transaction
and wakes the sender once committed; without (the demo, the CLI) it tells nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.community import (
    ClaimStatus,
    Community,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    ReportUnit,
    Resident,
    ServiceOrder,
    UnitCommunity,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Member
from server.services.community import notify, timeline
from server.services.community.needs import need_for_manager
from server.services.community.roles import community_run_by
from server.services.people.access import Hidden

KINDS = ("维修", "助老", "助残", "助学", "环境", "法律", "医疗", "文化", "帮困", "治安", "其他")
MOST_PLACES = 50
RATING_DAYS = 7  # a resident who has not rated a week after completion counts as unrated
LEAST_HOURS, MOST_HOURS = Decimal("0.5"), Decimal("24")


@dataclass(frozen=True)
class OrderSpec:
    kind: str
    title: str
    place: str
    starts_at: datetime
    hours: Decimal
    capacity: int = 1
    unit: ReportUnit | None = None


def hours_from(value: object, field: str = "hours") -> Decimal:
    try:
        hours = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("时长应为小时数，例如 1.5。", field=field) from None
    if not LEAST_HOURS <= hours <= MOST_HOURS:
        raise ValidationFailed("时长应在0.5到24小时之间。", field=field)
    return hours


def _check(spec: OrderSpec, now: datetime) -> None:
    if spec.kind not in KINDS:
        raise ValidationFailed(f"服务类别应为：{'、'.join(KINDS)}。", field="kind")
    if not spec.title.strip() or len(spec.title) > 200:
        raise ValidationFailed("请写上服务内容（200字以内）。", field="title")
    if len(spec.place) > 100:
        raise ValidationFailed("地点请写在100字以内。", field="place")
    if spec.starts_at <= now:
        raise ValidationFailed("服务时间已经过去了，请写一个以后的时间。", field="starts_at")
    if not 1 <= spec.capacity <= MOST_PLACES:
        raise ValidationFailed(f"人数应在1到{MOST_PLACES}之间。", field="capacity")
    hours_from(spec.hours)


async def dispatch(
    manager: Member,
    spec: OrderSpec,
    now: datetime,
    *,
    need_id: int | None = None,
    community_id: int | None = None,
    tidings: notify.Tidings | None = None,
) -> ServiceOrder:
    """下单: from a resident's need (once: the need leaves 待受理), or the community's own."""
    # Who runs it first: another community's need is refused as unknown, whatever the form.
    need: Need | None = None
    if need_id is not None:
        need = await need_for_manager(manager, need_id)
        community = await Community.get(id=need.community_id)
    else:
        community = await community_run_by(manager, community_id)
    _check(spec, now)
    if need is None and (
        twin := await ServiceOrder.filter(
            community_id=community.id,
            need_id=None,
            status=OrderStatus.OPEN,
            kind=spec.kind,
            title=spec.title.strip(),
            place=spec.place.strip(),
            starts_at=spec.starts_at,
            capacity=spec.capacity,
            unit_id=spec.unit.id if spec.unit else None,
            created_at__gte=now - timedelta(minutes=30),
        ).first()
    ):
        # The same order sent twice (a double tap, a resend after no answer): once.
        raise Conflict(f"刚刚已经发布过同样的服务单 {twin.id}。", code="ORDER_EXISTS")
    if spec.unit is not None and not await UnitCommunity.exists(
        unit_id=spec.unit.id, community_id=community.id
    ):
        raise ValidationFailed("只能限定与本社区结对的报到单位。", field="unit_id")
    async with in_transaction() as conn:
        if need is not None:
            taken = (
                await Need.filter(id=need.id, status=NeedStatus.NEW)
                .using_db(conn)
                .update(status=NeedStatus.DISPATCHED, decided_at=now, decided_by_id=manager.id)
            )
            if not taken:
                raise Conflict("这条需求已经处理过了。", code="NEED_DECIDED")
        order = await ServiceOrder.create(
            community_id=community.id,
            need_id=need.id if need else None,
            kind=spec.kind,
            title=spec.title.strip(),
            place=spec.place.strip(),
            starts_at=spec.starts_at,
            ends_at=spec.starts_at + timedelta(hours=float(spec.hours)),
            expected_hours=hours_from(spec.hours),
            capacity=spec.capacity,
            unit_id=spec.unit.id if spec.unit else None,
            created_at=now,
            created_by_id=manager.id,
            using_db=conn,
        )
        await timeline.record(
            now,
            f"社区 {manager.name}",
            "下单",
            need_id=order.need_id,
            order_id=order.id,
            note=f"{spec.kind}，{spec.capacity}人，{order.expected_hours}小时",
            using_db=conn,
        )
        if tidings is not None:
            suited = await who_to_tell(order, conn)
            await notify.order_dispatched(tidings, order, suited, now, conn)
            if need is not None:
                await notify.need_dispatched(tidings, order, need.resident, now, conn)
    _wake(tidings)
    return order


def _wake(tidings: notify.Tidings | None) -> None:
    """After the commit: the sender looks now, not at its next tick."""
    if tidings is not None:
        tidings.wake()


async def order_for_manager(manager: Member, order_id: int) -> ServiceOrder:
    order = await ServiceOrder.get_or_none(id=order_id)
    if order is None:
        raise Hidden()  # as for another community's: an id tells a stranger nothing
    await community_run_by(manager, order.community_id)
    return order


def _require_confirmed(volunteer: Volunteer | None) -> Volunteer:
    if volunteer is None:
        raise PermissionDenied("请先报到：回复 报到 报到码 姓名 手机号。", code="NOT_REPORTED")
    if volunteer.status != VolunteerStatus.CONFIRMED:
        raise PermissionDenied("您的报到还在等社区确认，确认后就可以接单了。", code="NOT_CONFIRMED")
    return volunteer


def may_claim(order: ServiceOrder, volunteer: Volunteer) -> bool:
    return order.community_id == volunteer.community_id and (
        order.unit_id is None or order.unit_id == volunteer.unit_id
    )


async def open_orders(volunteer: Volunteer | None, now: datetime) -> list[ServiceOrder]:
    """Orders the member may still claim: their community's, not started, not full."""
    volunteer = _require_confirmed(volunteer)
    orders = await ServiceOrder.filter(
        community_id=volunteer.community_id,
        status=OrderStatus.OPEN,
        starts_at__gt=now,
        taken__lt=F("capacity"),
    ).order_by("starts_at", "id")
    return [o for o in orders if may_claim(o, volunteer)]


async def _visible_order(volunteer: Volunteer, order_id: int) -> ServiceOrder:
    order = await ServiceOrder.get_or_none(id=order_id)
    if order is None or not may_claim(order, volunteer):
        raise NotFound("没有这个服务单。回复 服务 查看可以认领的服务。", field="order")
    return order


async def claim(
    volunteer: Volunteer | None,
    order_id: int,
    now: datetime,
    *,
    tidings: notify.Tidings | None = None,
) -> OrderClaim:
    volunteer = _require_confirmed(volunteer)
    order = await _visible_order(volunteer, order_id)
    if order.status != OrderStatus.OPEN or order.starts_at <= now:
        raise Conflict("这个服务已经截止认领了。", code="ORDER_CLOSED")
    existing = await OrderClaim.get_or_none(order_id=order.id, volunteer_id=volunteer.id)
    if existing is not None and existing.status != ClaimStatus.WITHDRAWN:
        raise Conflict("您已经认领了这个服务。", code="ALREADY_CLAIMED")
    try:
        async with in_transaction() as conn:
            got = (
                await ServiceOrder.filter(
                    id=order.id, status=OrderStatus.OPEN, taken__lt=F("capacity")
                )
                .using_db(conn)
                .update(taken=F("taken") + 1)
            )
            if not got:
                raise Conflict("来晚了一步，这个服务的名额已满。", code="ORDER_FULL")
            if existing is None:
                row = await OrderClaim.create(
                    order_id=order.id, volunteer_id=volunteer.id, claimed_at=now, using_db=conn
                )
            else:
                again = (
                    await OrderClaim.filter(id=existing.id, status=ClaimStatus.WITHDRAWN)
                    .using_db(conn)
                    .update(status=ClaimStatus.CLAIMED, claimed_at=now, withdrawn_at=None)
                )
                if not again:
                    raise Conflict("您已经认领了这个服务。", code="ALREADY_CLAIMED")
                row = await OrderClaim.get(id=existing.id, using_db=conn)
            await timeline.record(
                now, f"党员 {volunteer.name}", "接单", order_id=order.id, using_db=conn
            )
            if tidings is not None and (resident := await resident_of(order, conn)) is not None:
                await notify.order_claimed(tidings, order, volunteer, resident, now, conn)
    except IntegrityError:
        # The same member's second tap, in flight with the first: the first one holds.
        raise Conflict("您已经认领了这个服务。", code="ALREADY_CLAIMED") from None
    _wake(tidings)
    return row


async def _own_claim(volunteer: Volunteer, order_id: int) -> tuple[ServiceOrder, OrderClaim]:
    order = await _visible_order(volunteer, order_id)
    row = await OrderClaim.get_or_none(order_id=order.id, volunteer_id=volunteer.id)
    if row is None or row.status == ClaimStatus.WITHDRAWN:
        raise NotFound("您没有认领这个服务。", field="order")
    return order, row


async def withdraw(
    volunteer: Volunteer | None,
    order_id: int,
    now: datetime,
    *,
    tidings: notify.Tidings | None = None,
) -> ServiceOrder:
    """放弃: only before the window starts, so nobody is left waiting at the door; with
    `tidings`, the community and the resident are told (in the same transaction)."""
    volunteer = _require_confirmed(volunteer)
    order, row = await _own_claim(volunteer, order_id)
    if row.status == ClaimStatus.DONE or order.status != OrderStatus.OPEN:
        raise Conflict("这个服务已经办结，不能放弃了。", code="ORDER_CLOSED")
    if order.starts_at <= now:
        raise Conflict("服务已经开始，不能放弃了；确有困难请直接联系社区。", code="ORDER_STARTED")
    async with in_transaction() as conn:
        left = (
            await OrderClaim.filter(id=row.id, status=ClaimStatus.CLAIMED)
            .using_db(conn)
            .update(status=ClaimStatus.WITHDRAWN, withdrawn_at=now)
        )
        if not left:
            raise Conflict("您已经放弃了这个服务。", code="NOT_CLAIMED")
        await ServiceOrder.filter(id=order.id).using_db(conn).update(taken=F("taken") - 1)
        await timeline.record(
            now, f"党员 {volunteer.name}", "放弃", order_id=order.id, using_db=conn
        )
        if tidings is not None:
            fresh = await ServiceOrder.get(id=order.id, using_db=conn)
            resident = await resident_of(fresh, conn)
            await notify.order_withdrawn(tidings, fresh, volunteer, resident, now, conn)
    _wake(tidings)
    return await ServiceOrder.get(id=order.id)


async def report_done(
    volunteer: Volunteer | None,
    order_id: int,
    note: str,
    now: datetime,
    hours: Decimal | None = None,
    *,
    tidings: notify.Tidings | None = None,
) -> OrderClaim:
    """完成: the member says what was done and how long it took (the expected hours if unsaid)."""
    volunteer = _require_confirmed(volunteer)
    order, row = await _own_claim(volunteer, order_id)
    note = note.strip()
    if not note:
        raise ValidationFailed(
            "请简单写一下做了什么，例如：完成 3 已换好楼道灯 1小时。", field="note"
        )
    if len(note) > 300:
        raise ValidationFailed("说明请写在300字以内。", field="note")
    if order.status == OrderStatus.CANCELLED:
        raise Conflict("这个服务已经撤销了。", code="ORDER_CLOSED")
    if now < order.starts_at:
        raise Conflict("服务还没开始，完成后再来报告吧。", code="ORDER_NOT_STARTED")
    if order.status != OrderStatus.OPEN:
        raise Conflict("这个服务单社区已经办结，不能再报告完成了。", code="ORDER_CLOSED")
    spent = hours_from(hours if hours is not None else order.expected_hours)
    async with in_transaction() as conn:
        # The order must still be open as this is written: a report after the community
        # confirmed (or cancelled) would add unconfirmed work to figures already reported.
        # The no-op UPDATE holds the order's row until commit, so a confirmation waits.
        still_open = (
            await ServiceOrder.filter(id=order.id, status=OrderStatus.OPEN)
            .using_db(conn)
            .update(status=OrderStatus.OPEN)
        )
        if not still_open:
            raise Conflict("这个服务单社区已经办结，不能再报告完成了。", code="ORDER_CLOSED")
        done = (
            await OrderClaim.filter(id=row.id, status=ClaimStatus.CLAIMED)
            .using_db(conn)
            .update(status=ClaimStatus.DONE, done_at=now, note=note, hours=spent)
        )
        if not done:
            raise Conflict("您已经报告过完成了。", code="ALREADY_DONE")
        await timeline.record(
            now,
            f"党员 {volunteer.name}",
            "完成",
            order_id=order.id,
            note=f"{note}（{spent}小时）",
            using_db=conn,
        )
        if tidings is not None:
            await notify.work_reported(tidings, order, volunteer, note, now, conn)
    _wake(tidings)
    return await OrderClaim.get(id=row.id)


async def confirm_done(
    manager: Member, order_id: int, now: datetime, *, tidings: notify.Tidings | None = None
) -> ServiceOrder:
    """确认完成: the community checks and closes the order; the resident may then rate it."""
    order = await order_for_manager(manager, order_id)
    # Nobody confirms their own work: a 社区工作人员 who served asks another to confirm.
    if (
        await OrderClaim.filter(order_id=order.id, volunteer__member_id=manager.id)
        .exclude(status=ClaimStatus.WITHDRAWN)
        .exists()
    ):
        raise Conflict("您也参加了这个服务，请由社区其他负责人确认完成。", code="OWN_WORK")
    if not await OrderClaim.exists(order_id=order.id, status=ClaimStatus.DONE):
        raise Conflict("还没有党员报告完成，不能确认。", code="NOTHING_DONE")
    async with in_transaction() as conn:
        closed = (
            await ServiceOrder.filter(id=order.id, status=OrderStatus.OPEN)
            .using_db(conn)
            .update(status=OrderStatus.COMPLETED, completed_at=now, completed_by_id=manager.id)
        )
        if not closed:
            raise Conflict("这个服务单已经办结或撤销了。", code="ORDER_CLOSED")
        await timeline.record(
            now, f"社区 {manager.name}", "确认完成", order_id=order.id, using_db=conn
        )
        if tidings is not None and (resident := await resident_of(order, conn)) is not None:
            names = [v.name for v in await claimers(order, conn, done_only=True)]
            await notify.order_completed(tidings, order, resident, names, RATING_DAYS, now, conn)
    _wake(tidings)
    return await ServiceOrder.get(id=order.id)


async def cancel(
    manager: Member,
    order_id: int,
    reason: str,
    now: datetime,
    *,
    tidings: notify.Tidings | None = None,
) -> ServiceOrder:
    order = await order_for_manager(manager, order_id)
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise ValidationFailed(
            "请写上撤销的原因（200字以内），会告知已接单的党员。", field="reason"
        )
    async with in_transaction() as conn:
        closed = (
            await ServiceOrder.filter(id=order.id, status=OrderStatus.OPEN)
            .using_db(conn)
            .update(status=OrderStatus.CANCELLED)
        )
        if not closed:
            raise Conflict("这个服务单已经办结或撤销了。", code="ORDER_CLOSED")
        await timeline.record(
            now, f"社区 {manager.name}", "撤销", order_id=order.id, note=reason, using_db=conn
        )
        # A resident's need is not left 已下单 behind a cancelled order: it is closed with the
        # reason, which the resident is told (they may post it again).
        need = None
        if order.need_id is not None:
            await (
                Need.filter(id=order.need_id)
                .using_db(conn)
                .update(
                    status=NeedStatus.CANCELLED,
                    reason=reason,
                    decided_at=now,
                    decided_by_id=manager.id,
                )
            )
            need = await Need.get(id=order.need_id, using_db=conn).prefetch_related("resident")
        if tidings is not None:
            told = await claimers(order, conn)
            await notify.order_cancelled(tidings, order, told, reason, now, conn)
            if need is not None:
                await notify.need_order_cancelled(tidings, need, need.resident, reason, now, conn)
    _wake(tidings)
    return await ServiceOrder.get(id=order.id)


def rating_open(order: ServiceOrder, now: datetime) -> bool:
    return (
        order.status == OrderStatus.COMPLETED
        and order.rating is None
        and order.completed_at is not None
        and now <= order.completed_at + timedelta(days=RATING_DAYS)
    )


async def rate(
    resident: Resident, order_id: int, stars: int, note: str, now: datetime
) -> ServiceOrder:
    """评价: the resident whose need it was, once, within a week of completion."""
    order = await ServiceOrder.get_or_none(id=order_id).prefetch_related("need")
    if order is None or order.need is None or order.need.resident_id != resident.id:
        raise NotFound("没有找到您的这个服务单。回复 我的点单 查看。", field="order")
    if not 1 <= stars <= 5:
        raise ValidationFailed("评分请写1到5之间的数字，5分最满意。", field="rating")
    note = note.strip()
    if len(note) > 300:
        raise ValidationFailed("意见请写在300字以内。", field="note")
    if order.status != OrderStatus.COMPLETED:
        raise Conflict("服务完成后才能评价。", code="ORDER_NOT_DONE")
    if order.rating is not None:
        raise Conflict("这个服务您已经评价过了，谢谢！", code="ALREADY_RATED")
    if not rating_open(order, now):
        raise Conflict(f"服务完成已超过{RATING_DAYS}天，评价已截止。", code="RATING_CLOSED")
    async with in_transaction() as conn:
        rated = (
            await ServiceOrder.filter(id=order.id, rating=None)
            .using_db(conn)
            .update(rating=stars, rating_note=note, rated_at=now)
        )
        if not rated:
            raise Conflict("这个服务您已经评价过了，谢谢！", code="ALREADY_RATED")
        await timeline.record(
            now,
            f"居民 {resident.name}",
            "评价",
            order_id=order.id,
            note=f"{stars}分 {note}".strip(),
            using_db=conn,
        )
    return await ServiceOrder.get(id=order.id)


async def claims_of(volunteer: Volunteer, limit: int = 10) -> list[OrderClaim]:
    return (
        await OrderClaim.filter(volunteer_id=volunteer.id)
        .exclude(status=ClaimStatus.WITHDRAWN)
        .prefetch_related("order")
        .order_by("-claimed_at", "-id")
        .limit(limit)
    )


async def resident_of(
    order: ServiceOrder, using_db: BaseDBAsyncClient | None = None
) -> Resident | None:
    if order.need_id is None:
        return None
    need = await Need.get(id=order.need_id, using_db=using_db)
    return await Resident.get(id=need.resident_id, using_db=using_db)


async def claimers(
    order: ServiceOrder, using_db: BaseDBAsyncClient | None = None, *, done_only: bool = False
) -> list[Volunteer]:
    """Who holds the order (`done_only`: who reported the work done — who served)."""
    query = OrderClaim.filter(order_id=order.id).exclude(status=ClaimStatus.WITHDRAWN)
    if done_only:
        query = query.filter(status=ClaimStatus.DONE)
    rows = await query.using_db(using_db)
    ids = [r.volunteer_id for r in rows]
    return await Volunteer.filter(id__in=ids).using_db(using_db).order_by("id")


async def who_to_tell(
    order: ServiceOrder, using_db: BaseDBAsyncClient | None = None
) -> list[Volunteer]:
    """Confirmed members the order suits: those whose skills name its kind or whose 网格 is
    in its place; when none fits, everyone who may claim it, so no order goes unseen."""
    eligible = [
        v
        for v in await Volunteer.filter(
            community_id=order.community_id, status=VolunteerStatus.CONFIRMED
        )
        .using_db(using_db)
        .order_by("id")
        if may_claim(order, v)
    ]
    fitting = [v for v in eligible if order.kind in v.skills or (v.grid and v.grid in order.place)]
    return fitting or eligible
