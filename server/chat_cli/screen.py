"""The chat's output: whole lines, kept off the prompt a late reply may interrupt."""

from __future__ import annotations

from typing import TextIO

PROMPT = "你 > "


class Screen:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.prompting = False

    def say(self, line: str) -> None:
        # A late reply arriving at the prompt goes on its own line, then the prompt comes back.
        self.out.write(f"\n{line}\n{PROMPT}" if self.prompting else f"{line}\n")
        self.out.flush()

    def prompt(self) -> None:
        self.out.write(PROMPT)
        self.out.flush()
        self.prompting = True
