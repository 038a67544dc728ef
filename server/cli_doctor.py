"""`dangjian doctor [--json] [--timeout S]`: is this deployment's configuration sound?

One line per check — OK, WARN (works, but look at it) or FAIL (must be fixed) — with what was
found and what to do; exit status 1 when anything must be fixed, else 0.  It needs no database
to start: a missing one is one of the things it reports.  Nothing is changed (server/doctor.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging

from server.doctor import DEFAULT_TIMEOUT, Finding, examine, failed
from server.settings import Settings

LABELS = {"ok": "OK", "warn": "WARN", "fail": "FAIL"}


def render(findings: list[Finding]) -> str:
    """The lines as an operator reads them, aligned, then the count of each."""
    width = max(len(f.name) for f in findings)
    lines = []
    for f in findings:
        line = f"{f.name:<{width}}  {LABELS[f.status]:<4}  {f.detail}"
        lines.append(f"{line} → {f.fix}" if f.fix else line)
    lines.append("")
    lines.append(summary(findings))
    return "\n".join(lines)


def summary(findings: list[Finding]) -> str:
    parts = []
    for status in ("ok", "warn", "fail"):
        names = [f.name for f in findings if f.status == status]
        if names and status != "ok":
            parts.append(f"{len(names)} {LABELS[status]} ({', '.join(dict.fromkeys(names))})")
        elif names:
            parts.append(f"{len(names)} OK")
    verdict = "must be fixed: exit 1" if failed(findings) else "nothing to fix"
    return f"doctor: {', '.join(parts)} — {verdict}"


def cmd_doctor(settings: Settings | None, args: argparse.Namespace) -> int:
    """`settings` None: they did not load, and the doctor reports why itself."""
    # The doctor says what went wrong in its own lines; the client's retry warnings would
    # only repeat them on stderr.
    logging.getLogger("dangjian.wechat").setLevel(logging.ERROR)
    findings = asyncio.run(examine(settings, seconds=args.timeout))
    if args.json:
        body = {"ok": not failed(findings), "checks": [f.to_json() for f in findings]}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(render(findings))
    return 1 if failed(findings) else 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds such as 5, got {text!r}") from None
    if not 0 < value <= 120:
        raise argparse.ArgumentTypeError("expected more than 0 and at most 120 seconds")
    return value


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser(
        "doctor", help="check this deployment's configuration end to end (changes nothing)"
    )
    doctor.add_argument("--json", action="store_true", help="the findings as JSON, for machines")
    doctor.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        help=f"seconds each check may take (default {DEFAULT_TIMEOUT:g})",
    )
    doctor.set_defaults(func=cmd_doctor)
