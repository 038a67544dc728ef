"""`run_chat`: the interactive loop on a terminal (or a pipe), and the scripted one for `-c`."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from typing import TextIO

import aiohttp

from server.chat_cli.conversation import COMMANDS, WECHAT_DEADLINE, Chat, Outcome
from server.chat_cli.options import ChatOptions
from server.chat_cli.screen import PROMPT, Screen

HINT = "try: 帮助 or 绑定 姓名 手机号后四位"


async def run_chat(
    options: ChatOptions, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Run the chat; 0 on a normal end, 1 when a scripted line failed, 2 on bad options."""
    out = stdout or sys.stdout
    if options.encrypt and not options.aes_key:
        out.write("error: --aes needs an EncodingAESKey: set WECHAT_AES_KEY to the server's\n")
        return 2
    interactive = options.script is None
    timeout = aiohttp.ClientTimeout(total=WECHAT_DEADLINE)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        chat = Chat(options, session, Screen(out))
        if interactive:
            _banner(chat)
        await chat.late.probe()
        poller = asyncio.create_task(chat.late.poll_forever())
        try:
            if interactive:
                return await _interactive(chat, stdin or sys.stdin)
            return await _scripted(chat, options.script or [])
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller


def _banner(chat: Chat) -> None:
    mode = "AES safe mode" if chat.options.encrypt else "plaintext"
    chat.say(f"dangjian chat — playing WeChat's servers against {chat.server}/wechat")
    chat.say(f"user {chat.players.user} ({chat.shown_openid()}), {mode}")
    chat.say(f"{HINT}   ({COMMANDS})")


async def _scripted(chat: Chat, lines: list[str]) -> int:
    for line in lines:
        chat.say(PROMPT + line)
        outcome = await chat.handle(line)
        if outcome is Outcome.QUIT:
            break
        if outcome is Outcome.FAILED:
            return 1
        await chat.late.poll()  # keep late replies next to the line that caused them
    await chat.late.wait()
    return 0


async def _interactive(chat: Chat, stdin: TextIO) -> int:
    screen = chat.screen
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    # A terminal echoes what is typed; piped input is echoed here so the transcript reads alike.
    echo = not stdin.isatty()
    _start_stdin_reader(stdin, queue)
    while True:
        screen.prompt()
        raw = await queue.get()
        screen.prompting = False
        if raw is None:  # EOF (Ctrl-D)
            screen.out.write("\n")
            return 0
        if echo:
            screen.out.write(raw if raw.endswith("\n") else raw + "\n")
        line = raw.strip()
        if line and await chat.handle(line) is Outcome.QUIT:
            return 0
        await chat.late.poll()


def _start_stdin_reader(stdin: TextIO, queue: asyncio.Queue[str | None]) -> None:
    """Feed lines into the loop from a daemon thread.

    Not `run_in_executor`: a read blocked in the default executor keeps asyncio.run from
    finishing after Ctrl-C until Enter is pressed; a daemon thread does not hold the exit.
    """
    loop = asyncio.get_running_loop()

    def put(item: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def pump() -> None:
        try:
            for line in iter(stdin.readline, ""):
                put(line)
        except (OSError, ValueError):
            pass
        put(None)

    threading.Thread(target=pump, name="dangjian-chat-stdin", daemon=True).start()
