"""The progress bar `import-members --progress` shows while validating and while writing."""

from __future__ import annotations

import sys
from typing import Never

from tqdm import tqdm


def progress_bar(total: int | None, desc: str, *, enabled: bool) -> tqdm[Never]:
    # stderr, so that the bar never mixes with the report (or JSON logs) on stdout.
    return tqdm(total=total, desc=desc, unit="行", file=sys.stderr, disable=not enabled)
