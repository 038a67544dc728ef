"""Study benchmark: `打卡` from the district's members across 1, 2 and 4 processes behind nginx,
and questions on a ten-times corpus.

    python bench/study.py [--processes 1,2,4] [--members 2000] [--rounds 3] [--mode safe]
                          [--streets 15] [--skip-qa]

Check-ins: a fresh PostgreSQL database holds the district of `bench/district.py` (15 streets,
18,465 members, 1 January to today of activity and points, every past day snapshotted), each
active member bound to an openid; a private redis-server; for each number of processes that
many `python -m server serve` (the first runs the scheduler) behind a private nginx.  Each
round, `--members` members drawn at random from the whole district each send one signed `打卡`
at `--concurrency` connections; every reply must say 打卡成功, and the round must have written
exactly one check-in row for each of them and no other, which are then deleted (with their
points) so that the next round's are first check-ins again.  The baseline is the bare echo
server of `bench/webhook.py` (signature check, wechatpy parse, echo) behind the same nginx with
the same number of processes, sent the same number of pushes twice over; all targets' rounds are
interleaved and medians reported.  Target: at least 0.25 of the baseline's rate.

Questions: `bench/qa.py` — retrieval over the shipped corpus copied ten times; p95 < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import xmltodict

sys.path.insert(0, str(Path(__file__).resolve().parent))

import district  # bench/ is not a package: sibling scripts
import fleet
import webhook as wh

MIN_RATIO = 0.25
MAX_QA_P95_MS = 20.0
CONTENT = "打卡"
EXPECT = "打卡成功"
BASELINE_REPEAT = 2  # the echo is fast: a round as long as the pipeline's is timed steadier


def reply_text(side: wh.WeChatSide, body: bytes) -> str:
    """The reply's Content, decrypted first in compat and safe mode."""
    fields = xmltodict.parse(body.decode("utf-8"))["xml"]
    if "Encrypt" in fields:
        plain = side.crypto.decrypt_message(
            body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
        )
        fields = xmltodict.parse(plain)["xml"]
    return str(fields.get("Content") or "")


class Ledger:
    """The check-in rows a round wrote, read and removed on the bench's own connection."""

    def __init__(self, conn: Any) -> None:  # an asyncpg connection
        self.conn = conn
        self.last_check_in = 0
        self.last_points = 0

    async def mark(self) -> None:
        """Remember where the tables end before a round."""
        conn = self.conn
        self.last_check_in = await conn.fetchval("SELECT coalesce(max(id), 0) FROM check_in")
        self.last_points = await conn.fetchval("SELECT coalesce(max(id), 0) FROM points_entry")

    async def take(self, members: Sequence[int]) -> str | None:
        """What is wrong with the round's rows (None: one each for `members`, nothing else);
        then the rows and their points are deleted."""
        conn = self.conn
        rows = await conn.fetch(
            "SELECT member_id, count(*) AS n FROM check_in WHERE id > $1 GROUP BY member_id",
            self.last_check_in,
        )
        written = {r["member_id"]: r["n"] for r in rows}
        problem = None
        if written != dict.fromkeys(members, 1):
            twice = sum(1 for n in written.values() if n > 1)
            strangers = len(set(written) - set(members))
            missing = len(set(members) - set(written))
            problem = (
                f"{sum(written.values())} check-in rows for {len(members)} members "
                f"({missing} missing, {twice} twice, {strangers} of others)"
            )
        await conn.execute(
            "DELETE FROM points_entry WHERE id > $1 AND reason = 'check_in'", self.last_points
        )
        await conn.execute("DELETE FROM check_in WHERE id > $1", self.last_check_in)
        return problem


async def clear_today(conn: Any, today: date) -> int:
    """Today's generated check-ins (and their points) out of the way: the rounds' check-ins are
    each member's first of the day.  Returns how many were removed."""
    await conn.execute("DELETE FROM points_entry WHERE day = $1 AND reason = 'check_in'", today)
    done = await conn.execute("DELETE FROM check_in WHERE day = $1", today)
    await conn.execute("DELETE FROM points_day WHERE day = $1", today)
    await conn.execute(
        "INSERT INTO points_day (member_id, day, points) SELECT member_id, day, sum(points)"
        " FROM points_entry WHERE day = $1 GROUP BY member_id, day",
        today,
    )
    return int(str(done).split()[-1])


async def one_round(
    session: aiohttp.ClientSession,
    target: wh.Target,
    side: wh.WeChatSide,
    args: argparse.Namespace,
    sample: Sequence[tuple[int, str]],
    ledger: Ledger,
) -> None:
    """One measured round: the sample's 打卡 at the pipeline (each checked, and the rows), or
    the same number of pushes, twice over, at the echo baseline."""
    ports = target.ports
    if target.key == "baseline":
        senders = [openid for _, openid in sample] * BASELINE_REPEAT
    else:
        senders = [openid for _, openid in sample]
        await ledger.mark()
    pushes = [side.push(ports[n % len(ports)], o, CONTENT) for n, o in enumerate(senders)]
    responses = await wh.timed_round(session, target, pushes, args.concurrency, wh.PHASE_TIMEOUT)
    for push, response in zip(pushes, responses, strict=True):
        if response is None:
            target.result.error(f"not sent within {wh.PHASE_TIMEOUT:.0f} s")
            continue
        problem = side.problem(*response, push.openid)
        if not problem and target.key != "baseline":
            text = reply_text(side, response[1])
            if EXPECT not in text:
                problem = f"not a check-in reply: {text[:80]!r}"
        if problem:
            target.result.error(problem)
    if target.key != "baseline":
        problem = await ledger.take([member for member, _ in sample])
        if problem:
            target.result.error(problem)


Checked = tuple[wh.Stage | None, list[str], tuple[dict[str, tuple[int, int]], int] | None]


async def check_ins(args: argparse.Namespace) -> Checked:
    import asyncpg

    from server.clock import Clock

    side = wh.WeChatSide(
        token="benchtoken" + secrets.token_hex(6),
        aes_key=wh.new_aes_key(),
        appid="wxbench" + secrets.token_hex(5),
        mode=args.mode,
    )
    failures: list[str] = []
    stage = None
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=args.concurrency),
                timeout=aiohttp.ClientTimeout(total=wh.REQUEST_TIMEOUT),
            )
        )
        try:
            stage = await wh.set_up(session, stack, side, args, failures)
        except wh.ServerFailed as exc:
            failures.append(str(exc))
            return stage, failures, None
        if stage.roll is None or stage.db_url is None:
            failures += [f"{r.backend}: {r.skipped}" for r in stage.skipped]
            return stage, failures, None
        conn = await asyncpg.connect(district.pg_dsn(stage.db_url))
        stack.push_async_callback(conn.close)
        today = Clock(district.ZONE).today()
        cleared = await clear_today(conn, today)
        print(f"today's {cleared:,} generated check-ins removed: each round's are first ones")
        ledger = Ledger(conn)
        rng = random.Random(args.seed)
        bound = stage.roll.bound
        # Warm-up (connections, caches, the ORM's first queries), then measured rounds over
        # every target, the order rotating.
        for target in stage.targets:
            sample = rng.sample(bound, min(len(bound), args.warmup * target.processes))
            await one_round(session, target, side, args, sample, ledger)
            errors = target.result.errors
            target.result = wh.Result(target.result.backend, processes=target.processes)
            if errors:
                failures.append(f"{target.result.backend} x{target.processes}: warm-up failed")
        targets = stage.targets
        for n in range(args.rounds):
            sample = rng.sample(bound, min(len(bound), args.members))
            shift = n % len(targets)
            for target in targets[shift:] + targets[:shift]:
                await one_round(session, target, side, args, sample, ledger)
        stage.keep_lifetime_memory()
        assert stage.redis is not None  # the district is set up with it
        redis = await fleet.redis_keys(stage.redis.url, stage.redis_prefix)
    return stage, failures, redis


def report(args: argparse.Namespace, checked: Checked) -> None:
    stage, failures, redis = checked
    results = [t.result for t in stage.targets] if stage else []
    members = f"{len(stage.roll.bound):,}" if stage and stage.roll else "?"
    print(
        f"\n打卡 benchmark: {args.members} members a round drawn from the district's {members} "
        f"({args.streets} street(s)), mode={args.mode}, {args.concurrency} connections via "
        f"{'nginx (plain HTTP)' if args.proxy == 'nginx' else 'no proxy'}, {args.rounds} "
        f"interleaved rounds (+1 warm-up), Python {sys.version.split()[0]}, load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    wh.print_throughput(results, MIN_RATIO, None)
    for processes, pipe in sorted(wh.by_processes(results, wh.BACKEND_NAMES["postgres"]).items()):
        base = wh.by_processes(results, "baseline").get(processes)
        passed = base is not None and base.rate > 0 and pipe.rate / base.rate >= MIN_RATIO
        passed = passed and not pipe.errors
        print(
            f"check-ins on PostgreSQL + Redis, {processes} server process(es) vs as many baseline "
            f"processes: {'PASS' if passed else 'FAIL'} (target ratio >= {MIN_RATIO})"
        )
    wh.print_cpu(results)
    if stage is not None:
        wh.print_memory(stage, results)
    if redis is not None:
        wh.print_redis(redis, results)
    wh.print_estimate(results, wh.BACKEND_NAMES["postgres"])
    for failure in failures:
        print(f"\nFAILED: {failure}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/study.py", description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=2000, help="members checking in a round")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--processes",
        type=wh.parse_processes,
        default=[1, 2, 4],
        help="server processes behind nginx, a list (default 1,2,4); the baseline runs as many",
    )
    parser.add_argument("--proxy", choices=["nginx", "none"], default="nginx")
    parser.add_argument("--streets", type=int, default=district.STREETS, help="of the district")
    parser.add_argument("--seed", type=int, default=2023, help="of the district and the samples")
    parser.add_argument("--warmup", type=int, default=100, help="uncounted 打卡 per process")
    parser.add_argument(
        "--db-pool", type=int, default=wh.DB_POOL, help="DANGJIAN_DB_POOL_SIZE of each process"
    )
    parser.add_argument(
        "--mode",
        choices=["plain", "compat", "safe"],
        default="plain",
        help="the WeChat message mode; safe is what a production account uses (default plain)",
    )
    parser.add_argument("--skip-qa", action="store_true", help="only the check-ins")
    parser.add_argument("--profile", metavar="DIR", help="run the servers under cProfile")
    args = parser.parse_args(argv)
    if not 1 <= args.streets <= 40:
        parser.error("--streets: between 1 and 40")
    # What webhook.set_up reads: the PostgreSQL pipeline on the district, no unbound senders.
    args.backends, args.dataset, args.openids = ["postgres"], "district", 1
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    checked = asyncio.run(check_ins(args))
    report(args, checked)
    stage, failures, _ = checked
    if not args.skip_qa:
        import qa

        latencies = qa.run(multiplier=10, queries=1000)
        p95 = latencies["p95_ms"]
        verdict = "PASS" if p95 < MAX_QA_P95_MS else "FAIL"
        print(
            f"\nquestions on the corpus x10 ({latencies['units']:.0f} units): "
            f"p50 {latencies['p50_ms']:.2f} ms, p95 {p95:.2f} ms, "
            f"p99 {latencies['p99_ms']:.2f} ms: {verdict} (target p95 < {MAX_QA_P95_MS:.0f} ms)"
        )
    print(f"({time.perf_counter() - started:.0f} s; errors make the exit status 1)")
    # The verdicts are printed; the exit status is about errors, not the targets.
    results = [t.result for t in stage.targets] if stage else []
    return 0 if not failures and not any(r.errors for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
