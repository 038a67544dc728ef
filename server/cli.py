"""`dangjian` (and `python -m server`): one entry point, a subcommand per job.

Every command that opens the database brings its schema up to date first (server/db.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from server.cli_running import write_file
from server.errors import ConfigError, DangjianError
from server.logs import setup_logging
from server.settings import Settings, load_settings

if TYPE_CHECKING:
    from server.models.people import Organisation

log = logging.getLogger("dangjian")


def _announce_mode(settings: Settings) -> None:
    if settings.development:
        log.warning(
            "DEVELOPMENT MODE: no WECHAT_TOKEN set; signing with the public development token "
            "and AES key. Never expose this server to WeChat; set DANGJIAN_ENV=production."
        )
    if settings.development and settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.error(
            "DEVELOPMENT MODE on %s: anyone who can reach this address can sign messages with "
            "the public development token. Set WECHAT_TOKEN (and DANGJIAN_ENV=production).",
            settings.host,
        )
    if settings.embedded_fake_wechat:
        log.warning("outbound WeChat calls go to the embedded fake at %s", settings.api_base)
    elif settings.development:
        log.warning("outbound WeChat calls go to %s", settings.api_base)


def use_fast_event_loop() -> None:
    """uvloop where it is installed (Linux, macOS): the same asyncio, less CPU per request."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from server.serving import serve
    from server.workers import check_workers

    if args.host or args.port:
        pairs = (("DANGJIAN_HOST", args.host), ("DANGJIAN_PORT", args.port))
        # Validated like the environment, and errors name the same variables.
        settings = load_settings(**{name: value for name, value in pairs if value})
    _announce_mode(settings)
    check_workers(settings, args.workers)
    if args.demo:
        from server.db import database

        async def seed() -> str:
            async with database(settings.database_url):
                return await _seed_demo(settings, 2023, activity=True)

        print(asyncio.run(seed()))
        print(
            f"\n聊天试用 / chat with the bot, in another terminal:\n"
            f"  dangjian chat --server http://{settings.host}:{settings.port}\n"
        )
    if args.workers > 1:
        from server.workers import Supervisor

        cmd_migrate(settings, args)  # once, before the workers start
        return Supervisor(settings, args.workers).run()
    use_fast_event_loop()
    asyncio.run(serve(settings))
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from server.db import database

    async def run() -> None:
        async with database(settings.database_url):
            pass

    asyncio.run(run())
    print("database schema is up to date")
    return 0


def cmd_import_members(settings: Settings, args: argparse.Namespace) -> int:
    from server.db import database
    from server.services.people.importer import import_members

    async def run() -> int:
        async with database(settings.database_url):
            report = await import_members(args.file, dry_run=args.dry_run, progress=True)
        print(report.summary())
        if report.ok and not args.dry_run and report.updated:
            await _tell_servers_roster_changed(settings)
        return 1 if report.errors else 0

    return asyncio.run(run())


async def _tell_servers_roster_changed(settings: Settings) -> None:
    """Running servers drop what they remember of members (roles, transfers) at once.

    Only servers sharing Redis can hear it; an embedded single server catches up within
    DANGJIAN_IDENTITY_TTL seconds.
    """
    if not settings.redis_url:
        return
    from server.cache import RedisCache
    from server.clock import Clock
    from server.services.people.identities import IdentityDirectory

    cache = RedisCache(settings.redis_url, settings.redis_prefix)
    try:
        await IdentityDirectory(cache, Clock(), 0).forget_everyone()
    finally:
        await cache.close()


async def _seed_demo(settings: Settings, seed: int, *, activity: bool) -> str:
    """The demo street (and its eight weeks, its year of 双报到 and of 流动党员, once), then what
    a newcomer needs to try it: the figures as the dashboard counts them, the 绑定 lines and the
    dashboard's sign-in commands."""
    from server.services.demo.activity import demo_figures, seed_activity
    from server.services.demo.community import seed_community
    from server.services.demo.duty_lists import seed_duty_lists
    from server.services.demo.mobility import seed_mobility
    from server.services.demo.street import seed_demo
    from server.services.study.points import PointsRules

    now = datetime.now(settings.zone)
    report = await seed_demo(seed, today=now.date())
    parts = [report.street_summary()]
    trials: list[str] = []  # how to try 双报到 and 流动党员, after the 绑定 lines they refer to
    if activity:
        done = await seed_activity(
            now.date(),
            settings.zone,
            seed=seed,
            rules=PointsRules.from_settings(settings),
            now=now,
            copy_threshold=settings.copy_threshold,
        )
        parts.append(done.summary())
        if figures := await demo_figures(now.date(), settings.zone, now):
            parts.append(figures.summary())
        served = await seed_community(now.date(), settings.zone, seed=seed, now=now)
        parts.append(served.summary())
        moved = await seed_mobility(
            now.date(),
            settings.zone,
            seed=seed,
            now=now,
            cadence_days=settings.mobile_contact_days,
            samples=report.sample_members,
        )
        parts.append(moved.summary())
        parts.append((await seed_duty_lists(now.date(), settings.zone)).summary())
        trials = [served.try_it(), moved.try_it()]
    parts.append(report.try_it())
    parts += [trial for trial in trials if trial]
    return "\n".join(parts)


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from server.db import database

    async def run() -> str:
        async with database(settings.database_url):
            return await _seed_demo(settings, args.seed, activity=args.activity)

    print(asyncio.run(run()))
    return 0


def cmd_ledger(settings: Settings, args: argparse.Namespace) -> int:
    from server.db import database
    from server.errors import ValidationFailed
    from server.services.meetings.ledger import Ledger, ledger_at

    year = datetime.now(settings.zone).year if args.year is None else args.year

    async def run() -> Ledger | str:
        async with database(settings.database_url):
            try:
                return await ledger_at(args.branch, year, settings.zone, datetime.now(UTC))
            except ValidationFailed as exc:
                return f"--{exc.field or 'branch'}: {exc.user_message}"

    ledger = asyncio.run(run())
    if isinstance(ledger, str):
        print(ledger, file=sys.stderr)
        return 2
    out = Path(args.out or ledger.readable)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(ledger.data)
    except OSError as exc:
        print(f"--out: cannot write {out} ({exc.strerror})", file=sys.stderr)
        return 2
    listed = "，".join(
        f"{kind} {n} 次"
        + (f"（取消 {ledger.cancelled[kind]} 次）" if ledger.cancelled.get(kind) else "")
        for kind, n in ledger.counts.items()
    )
    print(f"wrote {out}: 召开 {listed}")
    return 0


def cmd_plan(settings: Settings, args: argparse.Namespace) -> int:
    from server.db import database
    from server.services.meetings.plan import plan_year

    async def run() -> int:
        async with database(settings.database_url):
            return await plan_year(args.year, settings.lecture_every)

    print(f"planned {asyncio.run(run())} meetings for {args.year}")
    return 0


def cmd_snapshot(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import date

    from server.db import database
    from server.services.tallies.snapshot import snapshot_day

    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        print(f"--day: expected a date such as 2026-11-24, got {args.day!r}", file=sys.stderr)
        return 2

    async def run() -> int:
        async with database(settings.database_url):
            return await snapshot_day(day, settings.zone)

    print(f"tally snapshot for {day.isoformat()}: {asyncio.run(run())} organisations")
    return 0


TALLY_ARGUMENTS = {"from": "--from", "to": "--to", "by": "--by"}


def cmd_tally(settings: Settings, args: argparse.Namespace) -> int:
    """The staff participation report for an organisation and a period, as XLSX or CSV."""
    from datetime import date

    from server.db import database
    from server.errors import ValidationFailed
    from server.services.tallies.report import tally_report
    from server.services.tallies.report_file import filename, filing_for, to_csv, to_xlsx

    today = datetime.now(settings.zone).date()
    span = {}
    for name, given, default in (
        ("from", args.start, today.replace(month=1, day=1)),
        ("to", args.end, today),
    ):
        try:
            span[name] = date.fromisoformat(given) if given else default
        except ValueError:
            print(f"--{name}: expected a date such as 2026-11-25, got {given!r}", file=sys.stderr)
            return 2

    async def run() -> tuple[str, bytes, str] | str:
        async with database(settings.database_url):
            org = await _tally_org(args.org)
            if isinstance(org, str):
                return org
            try:
                report = await tally_report(
                    org,
                    span["from"],
                    span["to"],
                    by=args.by,
                    today=today,
                    zone=settings.zone,
                    now=datetime.now(UTC),
                )
            except ValidationFailed as exc:
                return f"{TALLY_ARGUMENTS.get(exc.field or '', '--from')}: {exc.user_message}"
            filing = await filing_for(report, today)
        data = to_xlsx(report, filing) if args.format == "xlsx" else to_csv(report, filing)
        return report.sentence, data, filename(report, args.format)

    return write_file(asyncio.run(run()), args.out)


async def _tally_org(given: str | None) -> Organisation | str:
    """The organisation named by --org (an id, a full path or a unique name), or the committee;
    else the error."""
    from server.errors import ValidationFailed
    from server.models.people import Organisation
    from server.services.people.org_lookup import organisation_named

    if given is None:
        top = await Organisation.filter(parent_id=None).order_by("id").first()
        return top or "--org: there is no organisation yet (import members or seed the demo first)"
    try:
        return await organisation_named(given, "org")
    except ValidationFailed as exc:
        return f"--org: {exc.user_message}"


def cmd_admin_link(settings: Settings, args: argparse.Namespace) -> int:
    """A one-time dashboard link for a member whose role opens the dashboard (never changes it:
    `dangjian make-admin` makes the first administrator)."""
    from server.db import database
    from server.errors import ValidationFailed
    from server.services.people.admin_links import admin_link_for_phone

    async def run() -> str:
        async with database(settings.database_url):
            return await admin_link_for_phone(args.phone, settings, datetime.now(UTC))

    try:
        link = asyncio.run(run())
    except ValidationFailed as exc:
        print(f"phone: {exc.user_message}", file=sys.stderr)
        return 2
    minutes = max(1, settings.admin_link_ttl // 60)
    print(f"open within {minutes} minutes, once (DANGJIAN_PUBLIC_URL sets the address):")
    print(link)
    return 0


def cmd_bind_code(settings: Settings, args: argparse.Namespace) -> int:
    """A one-time bind code for the member with this phone; the code alone on the last line
    (scripts read it from there)."""
    from server.db import database
    from server.errors import ValidationFailed
    from server.models.people import Member
    from server.services.people.bind_codes import issue_code

    async def run() -> tuple[str, str]:
        async with database(settings.database_url):
            member = await Member.get_or_none(phone=args.phone.strip())
            if member is None:
                raise ValidationFailed("没有这个手机号的在册党员。", field="phone")
            code = await issue_code(member, datetime.now(UTC), settings.bind_code_ttl, None)
            return member.name, code

    try:
        name, code = asyncio.run(run())
    except ValidationFailed as exc:
        print(f"phone: {exc.user_message}", file=sys.stderr)
        return 2
    hours = max(1, settings.bind_code_ttl // 3600)
    print(f"bind code for {name}: valid {hours} h, once; they send 绑定 <code> in chat:")
    print(code)
    return 0


def fake_accounts(pairs: Sequence[str]) -> dict[str, str] | None:
    """`--app APPID:SECRET`s.  Without any, the fake takes every appid and secret; with them it
    refuses others as WeChat does (40013, 40125), so `dangjian doctor` can be tried on it."""
    secrets: dict[str, str] = {}
    for pair in pairs:
        appid, sep, secret = pair.partition(":")
        if not sep or not appid or not secret:
            raise ConfigError(f"--app: APPID:SECRET, not {pair!r}")
        secrets[appid] = secret
    return secrets or None


def cmd_fake_wechat(settings: Settings, args: argparse.Namespace) -> int:
    from aiohttp import web

    from server.wechat.fake import FakeWeChat, create_fake_app

    fake = FakeWeChat(appid_secrets=fake_accounts(args.app or ()))
    print(
        f"fake WeChat API on http://{args.host}:{args.port} "
        f"(point WECHAT_API_BASE at it; calls are listed at /_fake/calls)"
    )
    web.run_app(create_fake_app(fake), host=args.host, port=args.port, print=None)
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from server.chat_cli import options_from_args, run_chat

    return asyncio.run(run_chat(options_from_args(args, settings)))


def cmd_content_check(settings: Settings, args: argparse.Namespace) -> int:
    from study_content.corpus import CorpusInvalid, load_corpus

    folders = settings.content_folders
    try:
        units = load_corpus(*folders)
    except CorpusInvalid as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{len(units)} study units OK in {', '.join(str(f) for f in folders)}")
    return 0


def _print_counts(counts: dict[str, int]) -> None:
    width = max((len(table) for table in counts), default=0)
    for table, rows in counts.items():
        print(f"  {table:<{width}}  {rows}")


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """A backup of the database, safe while the servers run (server/backup.py)."""
    from server.backup import backup, backup_counts

    out = backup(settings, Path(args.out) if args.out else settings.data_dir / "backups")
    counts = backup_counts(settings, out)
    print(f"wrote {out}: {len(counts)} tables, {sum(counts.values())} rows")
    _print_counts(counts)
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Put a backup in place of the database: never over data without --force."""
    from server.backup import restore

    done = restore(settings, args.file, force=args.force)
    if done.kept:
        print(f"what was there is kept in {done.kept}")
    print(
        f"restored {args.file} into {done.into}: {len(done.counts)} tables, "
        f"{sum(done.counts.values())} rows"
    )
    _print_counts(done.counts)
    return 0


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"a number of processes from 1 to 64, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    from server.chat_cli import add_arguments as add_chat_arguments
    from server.cli_community import add_commands as add_community_commands
    from server.cli_doctor import add_commands as add_doctor_commands
    from server.cli_duty_lists import add_commands as add_duty_commands
    from server.cli_members import add_commands as add_member_commands
    from server.cli_mobility import add_commands as add_mobility_commands
    from server.cli_privacy import add_commands as add_privacy_commands
    from server.cli_roster import add_commands as add_roster_commands

    parser = argparse.ArgumentParser(prog="dangjian", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the server (WeChat gateway, API, scheduler)")
    serve.add_argument("--demo", action="store_true", help="load the demo street first")
    serve.add_argument("--host", help="override DANGJIAN_HOST")
    serve.add_argument("--port", type=int, help="override DANGJIAN_PORT")
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="N processes on one port (PostgreSQL and Redis required; the first schedules)",
    )
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    imp = sub.add_parser("import-members", help="import members from CSV or XLSX")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
    imp.set_defaults(func=cmd_import_members)

    seed = sub.add_parser("seed-demo", help="create the synthetic demo street")
    seed.add_argument("--seed", type=int, default=2023, help="random seed (default 2023)")
    seed.add_argument(
        "--activity",
        action="store_true",
        help="also eight weeks of study and meetings, a year of 双报到 and of 流动党员 (once)",
    )
    seed.set_defaults(func=cmd_seed_demo)

    ledger = sub.add_parser("ledger", help="write a branch's 三会一课 ledger for a year as XLSX")
    ledger.add_argument(
        "--branch", required=True, help="the branch's id, full path or name (if no other has it)"
    )
    ledger.add_argument("--year", type=int, help="the year (default: this year in DANGJIAN_TZ)")
    ledger.add_argument("--out", help="the XLSX file (default: 台账-<branch>-<year>.xlsx)")
    ledger.set_defaults(func=cmd_ledger)
    plan = sub.add_parser("plan", help="plan every branch's 三会一课 for a year, from the rules")
    plan.add_argument("--year", type=int, required=True)
    plan.set_defaults(func=cmd_plan)
    snap = sub.add_parser("snapshot", help="write (or rewrite) the tally snapshot of one day")
    snap.add_argument("--day", required=True, help="the day, e.g. 2026-11-24")
    snap.set_defaults(func=cmd_snapshot)
    tally = sub.add_parser("tally", help="the participation report of an organisation, XLSX or CSV")
    tally.add_argument(
        "--org", help="the organisation's id, full path or unique name (default: the committee)"
    )
    tally.add_argument("--from", dest="start", help="first day (default: 1 January this year)")
    tally.add_argument("--to", dest="end", help="last day (default: today in DANGJIAN_TZ)")
    tally.add_argument("--by", choices=("child", "branch", "day", "week", "month"))
    tally.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    tally.add_argument("--out", help="the file to write (default: tally-<org>-<from>-<to>.<fmt>)")
    tally.set_defaults(func=cmd_tally)
    admin = sub.add_parser(
        "admin-link", help="print a one-time dashboard link for a member who may use it"
    )
    admin.add_argument("phone", help="the member's phone number, as in the roster")
    admin.set_defaults(func=cmd_admin_link)
    bind_code = sub.add_parser(
        "bind-code", help="print a one-time bind code for the member with this phone (1 day)"
    )
    bind_code.add_argument("phone")
    bind_code.set_defaults(func=cmd_bind_code)
    backup = sub.add_parser("backup", help="back the database up (safe while the servers run)")
    backup.add_argument(
        "--out", help="a folder (a dated file in it) or a file (default: DANGJIAN_DATA_DIR/backups)"
    )
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="restore the database from a backup")
    restore.add_argument("file", type=Path, help="a file `dangjian backup` wrote")
    restore.add_argument(
        "--force", action="store_true", help="replace a database that exists (backed up first)"
    )
    restore.set_defaults(func=cmd_restore)
    add_member_commands(sub)
    add_community_commands(sub)
    add_mobility_commands(sub)
    add_duty_commands(sub)
    add_roster_commands(sub)
    add_privacy_commands(sub)
    add_doctor_commands(sub)
    fake = sub.add_parser("fake-wechat", help="run the local fake of the WeChat API")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=8081)
    fake.add_argument(
        "--app",
        action="append",
        metavar="APPID:SECRET",
        help="an account it knows (repeat for each); without any, every appid and secret works",
    )
    fake.set_defaults(func=cmd_fake_wechat)

    content = sub.add_parser("content", help="the study corpus")
    content_sub = content.add_subparsers(dest="content_command", required=True, metavar="ACTION")
    check = content_sub.add_parser("check", help="validate every study unit, file by file")
    check.set_defaults(func=cmd_content_check)

    chat = sub.add_parser("chat", help="chat with a running server as a WeChat user")
    add_chat_arguments(chat)
    chat.set_defaults(func=cmd_chat)
    return parser


# What may make a database where there is none: these are how one is set up.  Everything else
# reads one, and run from another folder would silently make an empty one and report nothing.
# By the function a subcommand runs (`chat -c` takes the name `command` for its texts).
MAKES_DATABASE = frozenset(
    {"cmd_migrate", "cmd_seed_demo", "cmd_import_members", "cmd_serve", "cmd_restore"}
)
PRODUCTION_MAKES = frozenset({"cmd_migrate", "cmd_restore"})
# The doctor reports a missing or unmigrated database itself, as one of its findings.
NEEDS_NO_DATABASE = frozenset({"cmd_fake_wechat", "cmd_chat", "cmd_content_check", "cmd_doctor"})


def missing_database(settings: Settings, command: str, demo: bool = False) -> str | None:
    """Why this command must not run here (no database where one is looked for), or None."""
    found = settings.sqlite_file
    if found is None or found.exists() or command in NEEDS_NO_DATABASE:
        return None
    where = f"{found}（当前目录 {Path.cwd()}；DANGJIAN_DATA_DIR={settings.data_dir}）"
    # In production only these make one: a mistyped folder must not start an empty street.
    makes_in_production = command in PRODUCTION_MAKES or (command == "cmd_serve" and demo)
    if settings.env == "production" and not makes_in_production:
        return (
            f"没有找到数据库 {where}。生产环境不会自动新建数据库：请先确认 DANGJIAN_DATA_DIR，"
            "再运行 dangjian migrate 新建。"
        )
    if command in MAKES_DATABASE:
        return None
    return (
        f"没有找到数据库 {where}。请在部署目录运行，或设置 DANGJIAN_DATA_DIR"
        "（新建数据库请用 dangjian migrate）。"
    )


def unmigrated_database(settings: Settings, command: str, demo: bool = False) -> str | None:
    """In production, why this command must not run on a PostgreSQL database that was never
    migrated (a mistyped database name, or a fresh server before `dangjian migrate`), or None.

    Its tables would be made silently and the street would start empty.  Only `migrate` and
    `restore` set a database up; an unreachable server is left to the command's own error."""
    if settings.env != "production" or not settings.is_postgres:
        return None
    if command in PRODUCTION_MAKES or command in NEEDS_NO_DATABASE or demo:
        return None
    import asyncpg

    async def migrated() -> bool | None:
        dsn = "postgresql://" + settings.database_url.split("://", 1)[1].split("?", 1)[0]
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return None
        try:
            found = await conn.fetchval("SELECT to_regclass('public.tortoise_migrations')")
            return found is not None
        finally:
            await conn.close()

    if asyncio.run(migrated()) is not False:
        return None
    name = settings.database_url.rsplit("/", 1)[-1].split("?", 1)[0]
    return (
        f"数据库 {name} 还没有建表（从未迁移）：生产环境不会在空库上启动。请确认 DANGJIAN_DB_URL，"
        "新库请先运行 dangjian migrate（或 dangjian restore 备份文件）。"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        if getattr(args.func, "__name__", "") == "cmd_doctor":
            return int(args.func(None, args))  # settings that do not load are its first finding
        print(f"dangjian: {exc}", file=sys.stderr)
        return 2
    command = getattr(args.func, "__name__", "")
    demo = bool(getattr(args, "demo", False))
    if refusal := missing_database(settings, command, demo) or unmigrated_database(
        settings, command, demo
    ):
        print(f"dangjian: {refusal}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    try:
        return int(args.func(settings, args))
    except ConfigError as exc:
        print(f"dangjian: {exc}", file=sys.stderr)
        return 2
    except DangjianError as exc:
        # A bad file, a refused seed: say what is wrong, no traceback.
        print(f"dangjian: {exc.user_message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
