"""Standing posts (先锋岗, 楼栋长): a role a reported member takes on for months, not a one-off
order.  The community publishes a post with a number of places; its confirmed members take one
(认岗) and may leave it (退岗); the community closes it, which lets its holders go.

Places hold under any concurrency as an order's do (`orders.claim`): taking one is a single
conditional UPDATE that adds to `taken` only while `taken < places`, in the same transaction as
the holder's row, so fifty members taking the last place at once leave exactly one holder.

Each step leaves a `ServiceEvent` (no need, no order: the note names the post).  Posts are not
服务事项: nothing here enters the figures reported upward (`counts`).  Given `tidings`, the
community's secretaries are told who took or left a post, and the holders that it closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from server.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from server.models.community import (
    Community,
    HolderStatus,
    PostHolder,
    PostStatus,
    StandingPost,
    Volunteer,
    VolunteerStatus,
)
from server.models.people import Member
from server.services.community import notify, timeline
from server.services.community.roles import community_run_by
from server.services.people.access import Hidden

KINDS = ("先锋岗", "楼栋长")  # the usual ones; another short word will do (网格员, 调解员)
LONGEST_KIND = 10
MOST_PLACES = 50
MOST_YEARS = 5  # how long a post may be set for


@dataclass(frozen=True)
class PostSpec:
    kind: str
    title: str
    starts_on: date
    places: int = 1
    duty: str = ""
    ends_on: date | None = None  # None: until the community closes it


def _check(spec: PostSpec) -> None:
    kind = spec.kind.strip()
    if not kind or len(kind) > LONGEST_KIND or any(c.isspace() for c in kind):
        raise ValidationFailed(
            f"岗位类别请写一个词（{LONGEST_KIND}字以内），如：{'、'.join(KINDS)}。", field="kind"
        )
    if not spec.title.strip() or len(spec.title.strip()) > 100:
        raise ValidationFailed("请写上岗位名称（100字以内），如：3栋楼栋长。", field="title")
    if len(spec.duty.strip()) > 300:
        raise ValidationFailed("岗位职责请写在300字以内。", field="duty")
    if not 1 <= spec.places <= MOST_PLACES:
        raise ValidationFailed(f"人数应在1到{MOST_PLACES}之间。", field="places")
    if spec.ends_on is not None:
        if spec.ends_on < spec.starts_on:
            raise ValidationFailed("截止日期已经过去了，请写一个以后的日期。", field="ends_on")
        if spec.ends_on.year - spec.starts_on.year > MOST_YEARS:
            raise ValidationFailed(f"岗位期限请写在{MOST_YEARS}年以内。", field="ends_on")


def post_line(post: StandingPost) -> str:
    """岗位 3：楼栋长·3栋楼栋长（至2027年6月30日）"""
    until = f"（至{until_text(post.ends_on)}）" if post.ends_on else ""
    return f"岗位 {post.id}：{post.kind}·{post.title}{until}"


def until_text(day: date | None) -> str:
    return "长期" if day is None else f"{day.year}年{day.month}月{day.day}日"


def _wake(tidings: notify.Tidings | None) -> None:
    if tidings is not None:
        tidings.wake()


# --- the community's side ----------------------------------------------------------------------


async def publish(
    manager: Member,
    spec: PostSpec,
    now: datetime,
    *,
    community_id: int | None = None,
) -> StandingPost:
    """发布岗位: by one who runs the community (another's is refused as unknown)."""
    community = await community_run_by(manager, community_id)
    _check(spec)
    async with in_transaction() as conn:
        post = await StandingPost.create(
            community_id=community.id,
            kind=spec.kind.strip(),
            title=spec.title.strip(),
            duty=spec.duty.strip(),
            places=spec.places,
            starts_on=spec.starts_on,
            ends_on=spec.ends_on,
            created_at=now,
            created_by_id=manager.id,
            using_db=conn,
        )
        await timeline.record(
            now,
            f"社区 {manager.name}",
            "发布岗位",
            note=f"{post_line(post)}，{post.places}人",
            using_db=conn,
        )
    return post


async def post_for_manager(manager: Member, post_id: int) -> StandingPost:
    post = await StandingPost.get_or_none(id=post_id)
    if post is None:
        raise Hidden()  # as for another community's: an id tells a stranger nothing
    await community_run_by(manager, post.community_id)
    return post


async def close(
    manager: Member, post_id: int, now: datetime, *, tidings: notify.Tidings | None = None
) -> StandingPost:
    """关闭岗位: nobody takes it any more; its holders are let go (and told)."""
    post = await post_for_manager(manager, post_id)
    async with in_transaction() as conn:
        closed = (
            await StandingPost.filter(id=post.id, status=PostStatus.OPEN)
            .using_db(conn)
            .update(status=PostStatus.CLOSED, closed_at=now, taken=0)
        )
        if not closed:
            raise Conflict("这个岗位已经关闭了。", code="POST_CLOSED")
        held = await holders(post, conn)
        await (
            PostHolder.filter(post_id=post.id, status=HolderStatus.HOLDING)
            .using_db(conn)
            .update(status=HolderStatus.LEFT, left_at=now)
        )
        await timeline.record(
            now, f"社区 {manager.name}", "关闭岗位", note=post_line(post), using_db=conn
        )
        if tidings is not None:
            await notify.post_closed(tidings, post, held, now, conn)
    _wake(tidings)
    return await StandingPost.get(id=post.id)


async def posts_of(community: Community) -> list[StandingPost]:
    """The community's posts: open ones first, then the closed, newest first."""
    found = await StandingPost.filter(community_id=community.id).order_by("-created_at", "-id")
    return sorted(found, key=lambda p: p.status != PostStatus.OPEN)


async def holders(post: StandingPost, using_db: BaseDBAsyncClient | None = None) -> list[Volunteer]:
    """Who holds the post now, first taken first."""
    rows = (
        await PostHolder.filter(post_id=post.id, status=HolderStatus.HOLDING)
        .using_db(using_db)
        .order_by("since", "id")
    )
    ids = [r.volunteer_id for r in rows]
    by_id = {v.id: v for v in await Volunteer.filter(id__in=ids).using_db(using_db)}
    return [by_id[r.volunteer_id] for r in rows]


async def holder_rows(post_ids: list[int]) -> dict[int, list[PostHolder]]:
    """Each post's holders now (with their volunteer and unit), first taken first."""
    rows = (
        await PostHolder.filter(post_id__in=post_ids, status=HolderStatus.HOLDING)
        .prefetch_related("volunteer__unit")
        .order_by("since", "id")
    )
    found: dict[int, list[PostHolder]] = {i: [] for i in post_ids}
    for r in rows:
        found[r.post_id].append(r)
    return found


# --- the members' side -------------------------------------------------------------------------


def _confirmed(volunteer: Volunteer | None) -> Volunteer:
    if volunteer is None:
        raise PermissionDenied("请先报到：回复 报到 报到码 姓名 手机号。", code="NOT_REPORTED")
    if volunteer.status != VolunteerStatus.CONFIRMED:
        raise PermissionDenied("您的报到还在等社区确认，确认后就可以认岗了。", code="NOT_CONFIRMED")
    return volunteer


def _ended(post: StandingPost, today: date) -> bool:
    return post.ends_on is not None and post.ends_on < today


async def open_posts(volunteer: Volunteer | None, today: date) -> list[StandingPost]:
    """The member's community's open posts: those with places left, and those they hold."""
    volunteer = _confirmed(volunteer)
    held = set(await held_ids(volunteer))
    found = await StandingPost.filter(
        community_id=volunteer.community_id, status=PostStatus.OPEN
    ).order_by("created_at", "id")
    return [p for p in found if not _ended(p, today) and (p.taken < p.places or p.id in held)]


async def held_ids(volunteer: Volunteer) -> list[int]:
    rows = await PostHolder.filter(volunteer_id=volunteer.id, status=HolderStatus.HOLDING).order_by(
        "since", "id"
    )
    return [r.post_id for r in rows]


async def held_by(volunteer: Volunteer) -> list[StandingPost]:
    ids = await held_ids(volunteer)
    found = {p.id: p for p in await StandingPost.filter(id__in=ids)}
    return [found[i] for i in ids if i in found]


async def take(
    volunteer: Volunteer | None,
    post_id: int,
    now: datetime,
    today: date,
    *,
    tidings: notify.Tidings | None = None,
) -> StandingPost:
    """认岗: a confirmed member of the post's community, once, while a place is left."""
    volunteer = _confirmed(volunteer)
    post = await StandingPost.get_or_none(id=post_id)
    if post is None or post.community_id != volunteer.community_id:
        raise NotFound("没有这个岗位。回复 岗位 查看可以认的岗位。", field="post")
    if post.status != PostStatus.OPEN or _ended(post, today):
        raise Conflict("这个岗位已经关闭了。", code="POST_CLOSED")
    existing = await PostHolder.get_or_none(post_id=post.id, volunteer_id=volunteer.id)
    if existing is not None and existing.status == HolderStatus.HOLDING:
        raise Conflict("您已经在这个岗位上了。", code="ALREADY_HOLDING")
    try:
        async with in_transaction() as conn:
            got = (
                await StandingPost.filter(id=post.id, status=PostStatus.OPEN, taken__lt=F("places"))
                .using_db(conn)
                .update(taken=F("taken") + 1)
            )
            if not got:
                raise Conflict("来晚了一步，这个岗位的名额已满。", code="POST_FULL")
            if existing is None:
                await PostHolder.create(
                    post_id=post.id, volunteer_id=volunteer.id, since=now, using_db=conn
                )
            else:
                again = (
                    await PostHolder.filter(id=existing.id, status=HolderStatus.LEFT)
                    .using_db(conn)
                    .update(status=HolderStatus.HOLDING, since=now, left_at=None)
                )
                if not again:
                    raise Conflict("您已经在这个岗位上了。", code="ALREADY_HOLDING")
            await timeline.record(
                now, f"党员 {volunteer.name}", "认岗", note=post_line(post), using_db=conn
            )
            if tidings is not None:
                await notify.post_taken(tidings, post, volunteer, now, conn)
    except IntegrityError:
        # The same member's second tap, in flight with the first: the first one holds.
        raise Conflict("您已经在这个岗位上了。", code="ALREADY_HOLDING") from None
    _wake(tidings)
    return await StandingPost.get(id=post.id)


async def leave(
    volunteer: Volunteer | None,
    post_id: int,
    now: datetime,
    *,
    tidings: notify.Tidings | None = None,
) -> StandingPost:
    """退岗: the place goes back to the others.  A member who has moved may still leave the
    post they hold in the old community."""
    if volunteer is None:
        raise PermissionDenied("请先报到：回复 报到 报到码 姓名 手机号。", code="NOT_REPORTED")
    row = await PostHolder.get_or_none(post_id=post_id, volunteer_id=volunteer.id)
    if row is None or row.status != HolderStatus.HOLDING:
        raise NotFound("您没有认这个岗位。回复 岗位 查看。", field="post")
    post = await StandingPost.get(id=post_id)
    async with in_transaction() as conn:
        left = (
            await PostHolder.filter(id=row.id, status=HolderStatus.HOLDING)
            .using_db(conn)
            .update(status=HolderStatus.LEFT, left_at=now)
        )
        if not left:
            raise Conflict("您已经退岗了。", code="NOT_HOLDING")
        await (
            StandingPost.filter(id=post.id, status=PostStatus.OPEN, taken__gt=0)
            .using_db(conn)
            .update(taken=F("taken") - 1)
        )
        await timeline.record(
            now, f"党员 {volunteer.name}", "退岗", note=post_line(post), using_db=conn
        )
        if tidings is not None:
            await notify.post_left(tidings, post, volunteer, now, conn)
    _wake(tidings)
    return await StandingPost.get(id=post.id)
