"""Study benchmark: `打卡` from 1,000 distinct members, and questions on a ten-times corpus.

    python bench/study.py [--members 1000] [--concurrency 50] [--rounds 3] [--skip-qa]

Check-ins: `python -m server serve` on a fresh PostgreSQL database and Redis (private key
prefix), seeded with `--members` bound members, receives one signed `打卡` push from each member
per round at `--concurrency` connections.  The baseline is the bare echo server of
`bench/webhook.py` (signature check, wechatpy parse, echo), driven with the same pushes in the
same run; rounds are interleaved and medians reported.  Every round is a real first check-in
for every member: the round checks that exactly `--members` check-in rows were written, then
clears them (and their points) for the next.  Target: at least 0.25 of the baseline's rate.

Questions: `bench/qa.py` — retrieval over the shipped corpus copied ten times; p95 < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import xmltodict

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook as wh  # bench/ is not a package: a sibling script

MIN_RATIO = 0.25
MAX_QA_P95_MS = 20.0
CONTENT = "打卡"
BASELINE_REPEAT = 4


async def bound_branch(
    conn: Any, appid: str, openids: Sequence[str], now: datetime
) -> tuple[int, list[int]]:
    """Inside `conn`'s transaction: one branch of members, each bound to one openid.

    Returns the branch's id and the members' ids, in the order of `openids`.
    """
    committee = await conn.fetchval(
        "INSERT INTO organisation (name, kind, path, created_at)"
        " VALUES ($1, 'committee', $1, $2) RETURNING id",
        "压测街道党工委",
        now,
    )
    branch = await conn.fetchval(
        "INSERT INTO organisation (name, kind, parent_id, path, created_at)"
        " VALUES ('压测支部', 'branch', $1, '压测街道党工委/压测支部', $2) RETURNING id",
        committee,
        now,
    )
    members = await conn.fetch(
        "INSERT INTO member (name, phone, organisation_id, role, status, is_mobile,"
        " created_at, updated_at)"
        " SELECT '党员' || n, (13000000000 + n)::text, $1, '党员', 'active', false, $2, $2"
        " FROM generate_series(1, $3) AS n RETURNING id",
        branch,
        now,
        len(openids),
    )
    ids = [m["id"] for m in members]
    await conn.copy_records_to_table(
        "wechat_identity",
        records=[(appid, o, "oa", m, now) for o, m in zip(openids, ids, strict=True)],
        columns=["appid", "openid", "channel", "member_id", "bound_at"],
    )
    return branch, ids


async def seed(db_url: str, appid: str, openids: Sequence[str]) -> None:
    """One branch of `len(openids)` members, each bound to one openid."""
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + db_url.split("://", 1)[1])
    try:
        async with conn.transaction():
            await bound_branch(conn, appid, openids, datetime.now(UTC))
    finally:
        await conn.close()


async def take_check_ins(db_url: str) -> int:
    """How many check-ins the round wrote; then clear them so the next round is a first again."""
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + db_url.split("://", 1)[1])
    try:
        written = await conn.fetchval("SELECT count(*) FROM check_in")
        await conn.execute("DELETE FROM points_entry; DELETE FROM check_in")
        return int(written)
    finally:
        await conn.close()


def reply_text(side: wh.WeChatSide, body: bytes) -> str:
    """The reply's Content, decrypted first in compat and safe mode."""
    fields = xmltodict.parse(body.decode("utf-8"))["xml"]
    if "Encrypt" in fields:
        plain = side.crypto.decrypt_message(
            body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
        )
        fields = xmltodict.parse(plain)["xml"]
    return str(fields.get("Content") or "")


def _cpu(servers: Sequence[wh.Server]) -> float | None:
    used = [wh.cpu_seconds(s.proc.pid) for s in servers]
    return None if any(u is None for u in used) else sum(u for u in used if u is not None)


async def one_round(
    session: aiohttp.ClientSession,
    target: wh.Target,
    servers: Sequence[wh.Server],
    side: wh.WeChatSide,
    openids: Sequence[str],
    concurrency: int,
    expect: str | None,
) -> None:
    # Spread over the processes as a proxy in front of them would.  The echo baseline gets each
    # member's push several times: a 1,000-push round is over too quickly to time it steadily.
    senders = list(openids) * (1 if target.db_url else BASELINE_REPEAT)
    pushes = [side.push(servers[n % len(servers)].port, o, CONTENT) for n, o in enumerate(senders)]
    cpu_before = _cpu(servers)
    responses, latencies, elapsed = await wh.drive(session, pushes, concurrency, wh.PHASE_TIMEOUT)
    cpu_after = _cpu(servers)
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    for push, response in zip(pushes, responses, strict=True):
        if response is None:
            target.result.error(f"not sent within {wh.PHASE_TIMEOUT:.0f} s")
            continue
        problem = side.problem(*response, push.openid)
        if not problem and expect and expect not in reply_text(side, response[1]):
            problem = f"not a check-in reply: {reply_text(side, response[1])[:80]!r}"
        if problem:
            target.result.error(problem)
    target.result.rounds.append(wh.Round(len(pushes), elapsed, server_cpu, 0.0))
    target.result.latencies.extend(latencies)
    if target.db_url:
        written = await take_check_ins(target.db_url)
        if written != len(openids):
            target.result.error(f"{written} check-in rows for {len(openids)} members")


async def check_ins(args: argparse.Namespace) -> list[wh.Result]:
    side = wh.WeChatSide(
        token="benchtoken" + secrets.token_hex(6),
        aes_key=wh.new_aes_key(),
        appid="wxbench" + secrets.token_hex(5),
        mode=args.mode,
    )
    openids = [wh.openid_for(i) for i in range(args.members)]
    webhook_args = argparse.Namespace(mode=args.mode, profile=args.profile)
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=args.concurrency),
                timeout=aiohttp.ClientTimeout(total=wh.REQUEST_TIMEOUT),
            )
        )
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dangjian-bench-")))
        env = {"WECHAT_TOKEN": side.token, "WECHAT_AES_KEY": side.aes_key}
        env["WECHAT_APPID"] = side.appid
        port = wh.free_port()
        argv = [sys.executable, str(Path(wh.__file__)), "--baseline-server", str(port)]
        baseline = wh.start_process("baseline", argv, wh.clean_env(env), workdir, port)
        stack.callback(baseline.stop)
        await wh.wait_ready(session, baseline, "/healthz")
        fake_port = wh.free_port()
        argv = [sys.executable, "-m", "server", "fake-wechat", "--host", wh.HOST]
        fake = wh.start_process(
            "fake-wechat", [*argv, "--port", str(fake_port)], wh.clean_env({}), workdir, fake_port
        )
        stack.callback(fake.stop)
        await wh.wait_ready(session, fake, "/_fake/calls")
        pipeline = await wh.start_pipeline(
            "postgres", stack, session, side, webhook_args, workdir, f"http://{wh.HOST}:{fake_port}"
        )
        assert pipeline.db_url is not None and pipeline.env is not None
        servers = {pipeline.key: [pipeline.server]}
        for n in range(1, args.processes):  # more processes on the same PostgreSQL and Redis
            port = wh.free_port()
            argv = [sys.executable, "-m", "server", "serve", "--host", wh.HOST, "--port", str(port)]
            extra = wh.start_process(f"pipeline-{n}", argv, pipeline.env, workdir, port)
            stack.callback(extra.stop)
            await wh.wait_ready(session, extra, "/healthz")
            servers[pipeline.key].append(extra)
        if args.processes > 1:
            pipeline.result = wh.Result(f"pg+redis x{args.processes}")
        await seed(pipeline.db_url, side.appid, openids)
        base = wh.Target("baseline", baseline, wh.Result("baseline (echo)"))
        servers[base.key] = [baseline]
        # Warm-up: connections, caches, the ORM's first queries; then measured rounds.
        for target in (base, pipeline):
            await one_round(
                session, target, servers[target.key], side, openids, args.concurrency, None
            )
            target.result = wh.Result(target.result.backend)
        for n in range(args.rounds):
            for target in (base, pipeline) if n % 2 == 0 else (pipeline, base):
                expect = "打卡成功" if target is pipeline else None
                await one_round(
                    session, target, servers[target.key], side, openids, args.concurrency, expect
                )
        return [base.result, pipeline.result]


def report(args: argparse.Namespace, results: list[wh.Result]) -> bool:
    base, pipe = results
    print(
        f"\n打卡 benchmark: {args.members} distinct members, mode={args.mode}, "
        f"{args.concurrency} connections, "
        f"{args.rounds} interleaved rounds (+1 warm-up), Python {sys.version.split()[0]}"
    )
    print(
        f"{'server':<18}{'msgs/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'srv cpu':>8}"
        f"{'ratio':>7}"
    )
    for r in results:
        ratio = f"{r.rate / base.rate:.2f}" if r is pipe and base.rate else ""
        cpu = r.cpu_share("server")
        print(
            f"{r.backend:<18}{r.rate:>8.0f}{r.percentile(50):>8.1f}{r.percentile(99):>8.1f}"
            f"{r.errors:>7}{'-' if cpu is None else f'{100 * cpu:.0f}%':>8}{ratio:>7}"
        )
        for sample in r.error_samples:
            print(f"    error: {sample}")
    ok = base.rate > 0 and pipe.rate / base.rate >= MIN_RATIO and not pipe.errors
    procs = f"{args.processes} server processes" if args.processes > 1 else "one server process"
    print(
        f"check-ins on PostgreSQL + Redis, {procs} vs one baseline process: "
        f"{'PASS' if ok else 'FAIL'} (target ratio >= {MIN_RATIO})"
    )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/study.py", description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="server processes sharing PostgreSQL and Redis (the baseline stays one)",
    )
    parser.add_argument(
        "--mode",
        choices=["plain", "compat", "safe"],
        default="plain",
        help="the WeChat message mode; safe is what a production account uses (default plain)",
    )
    parser.add_argument("--skip-qa", action="store_true", help="only the check-ins")
    parser.add_argument("--profile", metavar="DIR", help="run the server under cProfile")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = asyncio.run(check_ins(args))
    report(args, results)
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
    return 0 if not any(r.errors for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
