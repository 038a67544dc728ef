"""What the `dangjian` subcommands share: running work on the database, writing a file.

One way for every command group to open the database, report a refusal on stderr naming the
argument it is about (exit 2), and print what was done; and one way to write a file a command
made, to `--out` or its default name.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from server.errors import DangjianError
from server.settings import Settings

# A command's work says what it did (exit 0), or its own exit status with what to print on
# stderr (a refusal it found itself).
Said = str | tuple[int, str]


def in_database(
    settings: Settings,
    work: Callable[[], Awaitable[Said]],
    *,
    arguments: Mapping[str, str] | None = None,
    fallback: str = "dangjian",
) -> int:
    """Open the database, do the work, print what it says; a refusal (a DangjianError) goes to
    stderr named by its argument (`arguments` maps a field to the flag the user typed)."""
    from server.db import database

    async def run() -> Said:
        async with database(settings.database_url):
            return await work()

    try:
        said = asyncio.run(run())
    except DangjianError as exc:
        field = exc.field or ""
        where = (arguments or {}).get(field, field or fallback)
        print(f"{where}: {exc.user_message}", file=sys.stderr)
        return 2
    status, text = (0, said) if isinstance(said, str) else said
    print(text, file=sys.stderr if status else sys.stdout)
    return status


def write_file(made: tuple[str, bytes, str] | str, out: str | None, note: str = "") -> int:
    """`made` is a refusal (exit 2) or (the line to print, the file, its default name)."""
    if isinstance(made, str):
        print(made, file=sys.stderr)
        return 2
    line, data, default_name = made
    path = Path(out or default_name)
    try:
        path.write_bytes(data)
    except OSError as exc:
        print(f"--out: cannot write {path} ({exc.strerror})", file=sys.stderr)
        return 2
    print(line)
    print(f"wrote {path}{note}")
    return 0
