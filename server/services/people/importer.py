"""`dangjian import-members FILE`: the member roll importer, which lives in `roster/`.

The old import path, kept so that the CLI, `seed-demo`, the bench and the tests need not change.
"""

from server.services.people import roster
from server.services.people.roster import *  # noqa: F403  (exactly the package's public API)

__all__ = roster.__all__
