"""What is kept only for a while, let go once DANGJIAN_RETENTION_DAYS have passed since its use
ended (the daily job in `scheduler/retention.py`).

- A resident's name, phone and address: once none of their needs waits for the community and
  none of their orders is open, and nothing has happened on any of them (posted, decided,
  done, rated) for the period — taken out of their row and out of the needs, orders, timelines
  and messages (`residents.forget_resident`).  The needs and orders stay, as counted.
- The text of a 四单制 message (and the WeChat user it went to) once its sending ended (sent,
  unreachable, uncertain) the period ago.  The row stays: its key is what stops the same
  message from ever being written and sent again.
- One-time bind codes and dashboard links expired the period ago (only their hashes were kept).
- A 流入 report the branch did not confirm, decided the period ago: the reporter's name, phone,
  WeChat user and how to reach them.  The record stays (refused, when, by whom).
- A 报到 of a unit's member the community sent back, decided the period ago, with no claim or
  post still held: the reporter's name, phone and WeChat user.  The row stays: the community's
  figures count a member sent back after being confirmed for the days before.

Each part selects only what still holds the data, so a second run the same day finds nothing,
and a run after days missed catches up.  Members' own records are the organisation's roster and
are kept: a member's data goes by `erase.erase_member`, on request, after 转出.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.models.community import (
    ClaimStatus,
    CommunityMessage,
    HolderStatus,
    Need,
    NeedStatus,
    OrderClaim,
    OrderStatus,
    PostHolder,
    Resident,
    ServiceEvent,
    ServiceOrder,
    Volunteer,
    VolunteerStatus,
)
from server.models.mobility import FlowStatus, MobileMember
from server.models.people import AdminLink, BindCode, Member
from server.services.privacy.mentions import PHONE_GONE, REACH_GONE, replaced
from server.services.privacy.residents import FINISHED, GONE_OPENID, forget_resident

log = logging.getLogger("dangjian.privacy")

REPORTER_GONE = "已删除"
VOLUNTEER_GONE = "已删除报到人"


@dataclass(frozen=True)
class Purged:
    residents: int = 0
    messages: int = 0
    codes: int = 0  # bind codes and dashboard links
    incoming: int = 0  # 流入 reports not confirmed
    volunteers: int = 0  # 报到 sent back

    @property
    def total(self) -> int:
        return sum(asdict(self).values())


async def purge_expired(now: datetime, days: int) -> Purged:
    """Let go of what has been kept `days` past the end of its use; what was let go."""
    cutoff = now - timedelta(days=days)
    purged = Purged(
        residents=await _residents(cutoff),
        messages=await _messages(cutoff),
        codes=await BindCode.filter(expires_at__lt=cutoff).delete()
        + await AdminLink.filter(expires_at__lt=cutoff).delete(),
        incoming=await _incoming(cutoff),
        volunteers=await _volunteers(cutoff),
    )
    if purged.total:
        log.info("retention: let go of what was past its period", extra=asdict(purged))
    return purged


def _last(*moments: datetime | None) -> datetime | None:
    found = [m for m in moments if m is not None]
    return max(found) if found else None


async def _residents(cutoff: datetime) -> int:
    done = 0
    waiting = Resident.filter(created_at__lt=cutoff).exclude(openid__startswith=GONE_OPENID)
    for resident in await waiting.order_by("id"):
        needs = await Need.filter(resident_id=resident.id)
        if any(n.status == NeedStatus.NEW for n in needs):
            continue  # the community has yet to answer
        orders = await ServiceOrder.filter(need_id__in=[n.id for n in needs])
        if any(o.status == OrderStatus.OPEN for o in orders):
            continue  # members may still come to the door
        last = _last(
            resident.created_at,
            *(n.created_at for n in needs),
            *(n.decided_at for n in needs),
            *(o.ends_at for o in orders),
            *(o.completed_at for o in orders),
            *(o.rated_at for o in orders),
        )
        if last is not None and last >= cutoff:
            continue
        async with in_transaction():
            # Read again inside: a need posted a moment ago keeps the resident.
            if await Need.filter(resident_id=resident.id, status=NeedStatus.NEW).exists():
                continue
            await forget_resident(resident)
        done += 1
    return done


async def _messages(cutoff: datetime) -> int:
    return (
        await CommunityMessage.filter(status__in=FINISHED, created_at__lt=cutoff)
        .exclude(text="", openid="")
        .update(text="", title=None, note=None, openid="")
    )


async def _incoming(cutoff: datetime) -> int:
    refused = MobileMember.filter(
        member_id__isnull=True, status=FlowStatus.REFUSED, decided_at__lt=cutoff
    ).exclude(name=REPORTER_GONE)
    done = 0
    for record in await refused:
        swaps = [(record.phone or "", PHONE_GONE), (record.name, REPORTER_GONE)]
        await MobileMember.filter(id=record.id).update(
            name=REPORTER_GONE,
            refuse_reason=replaced(record.refuse_reason, swaps) or "",
            **REACH_GONE,
        )
        done += 1
    return done


async def _volunteers(cutoff: datetime) -> int:
    # Not a street member's: their one 报到 row is theirs to apply with again (one per member).
    sent_back = Volunteer.filter(
        status=VolunteerStatus.REFUSED, decided_at__lt=cutoff, member_id__isnull=True
    ).exclude(name=VOLUNTEER_GONE)
    done = 0
    for v in await sent_back:
        if await OrderClaim.filter(volunteer_id=v.id, status=ClaimStatus.CLAIMED).exists():
            continue
        if await PostHolder.filter(volunteer_id=v.id, status=HolderStatus.HOLDING).exists():
            continue
        swaps = [(v.phone, PHONE_GONE), (v.name, VOLUNTEER_GONE)]
        if not await _someone_else_called(v):
            await _untold(v, swaps)
        await Volunteer.filter(id=v.id).update(
            name=VOLUNTEER_GONE,
            phone=f"已删除{v.id}",  # unique like the phone it replaces, never phone-shaped
            appid=None,
            openid=None,
            grid="",
            skills="",
            reason=replaced(v.reason, swaps) or "",
        )
        done += 1
    return done


async def _someone_else_called(v: Volunteer) -> bool:
    """Another person on record bears the reporter's name: the timeline cannot tell them apart."""
    if await Volunteer.filter(name=v.name).exclude(id=v.id).exists():
        return True
    return await Member.filter(name=v.name).exists() or await Resident.filter(name=v.name).exists()


async def _untold(v: Volunteer, swaps: list[tuple[str, str]]) -> None:
    """The reporter in the community's timeline (党员 韩立新 报到; 退回报到 韩立新：…)."""
    said = ServiceEvent.filter(Q(actor=f"党员 {v.name}") | Q(note__contains=v.name))
    for event in await said:
        await ServiceEvent.filter(id=event.id).update(
            actor=replaced(event.actor, swaps) or "", note=replaced(event.note, swaps) or ""
        )
