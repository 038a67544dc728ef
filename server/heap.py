"""The garbage collector's settings for a long-running server process.

CPython's cycle collector runs a young-generation pass every 700 allocations and, now and then,
a full pass over every object the process holds.  A server holds a lot that never becomes
garbage (the modules, the study corpus, the tallies kept in `report_cache`), and a district's
report allocates thousands of rows: measured on `bench/tallies.py`'s district, the collector
took 30–45 ms of a 140 ms view, and a full pass in the middle of one made its slowest views.
So, once the server has started: what exists then is moved out of the collector's sight
(`gc.freeze`, as long-lived Python servers do), and the young generation is collected every
10,000 allocations instead of 700.  Reference counting still frees nearly everything at once;
only cyclic garbage waits a little longer.
"""

from __future__ import annotations

import gc

YOUNG = 10_000  # allocations between young-generation passes (CPython's default: 700)
OLDER = 10  # passes of one generation before the next is collected (default 10)


def settle() -> None:
    """Once, after start-up: collect what start-up left, then freeze the rest."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, OLDER, OLDER)
