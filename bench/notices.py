"""Notice benchmark: one notice to the district's 18,465 members through the outbox and fake API.

    python bench/notices.py [--members 18465] [--concurrency 50] [--flaky 100]

`python -m server fake-wechat` runs as its own process with every `--flaky`-th customer-service
call failing with -1 (1% by default).  A fresh PostgreSQL database is seeded with one branch of
`--members` members bound on the official account (each has written to the account, so the
48-hour window is open), one meeting expecting all of them and its outbox rows.  The outbox
(`server.services.delivery.outbox.Outbox`, the same code the scheduler runs) then delivers them with
`--concurrency` calls in flight and no rate limit.  Checked afterwards from the fake's own call
log: every member received exactly one message.  Baseline in the same run: the same number of
bare customer-service POSTs to the fake at the same concurrency (no database, no outbox).
Target: at least 1,000 notices/s.  `--members` defaults to the district's members (the 15
streets of `bench/district.py`), all of them in one branch here: a notice to everyone.

Memory: the delivering process is this one (the outbox, the ORM and the WeChat client, as in
the scheduler's process); its VmRSS is sampled from /proc/self/status during the delivery and
its peak printed beside VmHWM (the peak since it started), and so is the fake's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import district  # bench/ is not a package: sibling scripts
import fleet
import webhook as wh

TARGET = 1000.0
MEMBERS = 18_465  # the district of bench/district.py: 15 copies of the demo street's 1,231
CUSTOM = "/cgi-bin/message/custom/send"
APPID = "wxbenchnotices"


async def seed(db_url: str, openids: Sequence[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + db_url.split("://", 1)[1])
    now = datetime.now(UTC)
    starts = now + timedelta(days=1)
    try:
        async with conn.transaction():
            branch, ids = await district.one_branch(conn, APPID, openids, now)
            meeting = await conn.fetchval(
                "INSERT INTO meeting (organisation_id, kind, topic, starts_at, ends_at, status,"
                " study, created_at, updated_at) VALUES ($1, '支部党员大会', '学习二十大精神', $2,"
                " $3, 'planned', true, $4, $4) RETURNING id",
                branch,
                starts,
                starts + timedelta(hours=1),
                now,
            )
            await conn.copy_records_to_table(
                "meeting_attendee",
                records=[(meeting, m, branch, "expected", "unknown") for m in ids],
                columns=["meeting_id", "member_id", "organisation_id", "role", "attendance"],
            )
            await conn.copy_records_to_table(
                "notice",
                records=[(meeting, m, "scheduled", now, "pending", 0, now) for m in ids],
                columns=[
                    "meeting_id", "member_id", "kind", "due_at", "status", "attempts",
                    "created_at",
                ],
            )  # fmt: skip
    finally:
        await conn.close()


async def post_all(
    session: aiohttp.ClientSession, url: str, bodies: Sequence[Mapping[str, object]], n: int
) -> None:
    queue = iter(bodies)

    async def worker() -> None:
        for body in queue:
            async with session.post(url, json=body) as resp:
                await resp.read()

    await asyncio.gather(*(worker() for _ in range(n)))


async def run(args: argparse.Namespace) -> int:
    from server.cache import MemoryCache
    from server.channels import Channel
    from server.clock import Clock
    from server.db import close_database, open_database
    from server.metrics import Metrics
    from server.models.notices import Notice
    from server.services.delivery.outbox import Outbox, Templates
    from server.wechat.client import WeChatClient

    openids = [wh.openid_for(i) for i in range(args.members)]
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency))
        )
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dangjian-bench-")))
        port = wh.free_port()
        argv = [sys.executable, "-m", "server", "fake-wechat", "--host", wh.HOST]
        fake = wh.start_process(
            "fake-wechat", [*argv, "--port", str(port)], wh.clean_env({}), workdir, port
        )
        stack.callback(fake.stop)
        await wh.wait_ready(session, fake, "/_fake/calls")
        base = f"http://{wh.HOST}:{port}"
        await post_all(
            session,
            f"{base}/_fake/interact",
            [{"openid": o, "kind": "message"} for o in openids],
            args.concurrency,
        )
        db_url, db_name = await wh.create_pg_database()
        stack.push_async_callback(wh.drop_pg_database, db_name)
        await open_database(db_url, pool_size=args.concurrency)
        stack.push_async_callback(close_database)
        await seed(db_url, openids)

        # Baseline: the same number of bare sends, straight at the fake, no outbox.
        token = await (
            await session.post(
                f"{base}/cgi-bin/stable_token",
                json={"grant_type": "client_credential", "appid": APPID, "secret": "s"},
            )
        ).json()
        url = f"{base}{CUSTOM}?access_token={token['access_token']}"
        bodies = [{"touser": o, "msgtype": "text", "text": {"content": "基线"}} for o in openids]
        started = time.perf_counter()
        await post_all(session, url, bodies, args.concurrency)
        baseline = len(bodies) / (time.perf_counter() - started)

        await session.post(f"{base}/_fake/reset", json={})
        await post_all(
            session,
            f"{base}/_fake/interact",
            [{"openid": o, "kind": "message"} for o in openids],
            args.concurrency,
        )
        if args.flaky:
            await session.post(
                f"{base}/_fake/flaky", json={"path": CUSTOM, "errcode": -1, "every": args.flaky}
            )
        clock = Clock("Asia/Shanghai")
        client = WeChatClient(
            session=session,
            base_url=base,
            appid=APPID,
            secret="s",
            cache=MemoryCache(clock),
            clock=clock,
            metrics=Metrics(),
        )
        outbox = Outbox(
            {Channel.OFFICIAL_ACCOUNT: client, Channel.MINIPROGRAM: client},
            Templates(),
            clock.zone,
            concurrency=args.concurrency,
            batch=args.members,
        )
        before = fleet.memory_mb(os.getpid())
        watched = {"delivering": lambda: [os.getpid()], "fake": lambda: [fake.proc.pid]}
        async with fleet.Watch(watched) as watch:
            started = time.perf_counter()
            report = await outbox.deliver_due(clock.now())
            while report.retried:  # a failure beyond the client's own retries: the next pass
                report = await outbox.deliver_due(clock.now() + timedelta(hours=1))
            elapsed = time.perf_counter() - started
        after = fleet.memory_mb(os.getpid())
        rate = args.members / elapsed

        calls = await (await session.get(f"{base}/_fake/calls?path={CUSTOM}")).json()
        delivered = Counter(
            c["body"]["touser"] for c in calls["calls"] if c.get("errcode") == 0 and c["body"]
        )
        failures = sum(1 for c in calls["calls"] if c.get("errcode") == -1)
        sent_rows = await Notice.filter(status="sent").count()
    once = len(delivered) == args.members and set(delivered.values()) == {1}
    print(
        f"\nnotice benchmark: {args.members} members, {args.concurrency} in flight, every "
        f"{args.flaky or '-'}th send failing with -1, Python {sys.version.split()[0]}"
    )
    print(f"baseline: bare sends to the fake      {baseline:8.0f} /s")
    print(
        f"outbox:   notices delivered           {rate:8.0f} /s  ({elapsed:.1f} s, ratio "
        f"{rate / baseline:.2f}; {failures} injected failures retried)"
    )
    print(
        f"delivered to {len(delivered)} members, each {'exactly once' if once else 'NOT once'}; "
        f"{sent_rows} rows sent"
    )
    mine, fakes = watch.usage["delivering"], watch.usage["fake"]
    print(
        f"delivering process (this one): VmRSS {before.get('VmRSS', 0):.0f} MB before, peak "
        f"{mine.peak_mb:.0f} MB during the delivery (sampled every {fleet.SAMPLE_EVERY:g} s), "
        f"VmHWM {after.get('VmHWM', 0):.0f} MB"
    )
    print(f"fake WeChat API: peak VmRSS {fakes.peak_mb:.0f} MB during the delivery")
    for who, usage in (("delivering process", mine), ("fake WeChat API", fakes)):
        if usage.cpu is not None:  # how much of a core it got, and what a notice cost it
            print(
                f"CPU of the {who}: {100 * usage.cpu / elapsed:.0f}% of a core, "
                f"{1000 * usage.cpu / args.members:.2f} ms a notice"
            )
    verdict = "PASS" if rate >= TARGET and once else "FAIL"
    print(f"{verdict} (target: at least {TARGET:.0f} notices/s, each member exactly once)")
    return 0 if once else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/notices.py", description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=MEMBERS, help="the district's, by default")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--flaky", type=int, default=100, help="every Nth send fails (0: none)")
    from server.cli import use_fast_event_loop

    # The injected failures are retried by the client, each with a warning: counted from the
    # fake's call log instead of printed one by one.
    logging.getLogger("dangjian.wechat").setLevel(logging.ERROR)
    use_fast_event_loop()  # the loop `dangjian serve` runs the scheduler on
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
