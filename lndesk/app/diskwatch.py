"""Free disk space as a state of the running node.

The store refuses to publish or store synced entries while the disk holding the data
directory is below its margin (:mod:`lndesk.store.space`), so a sync that runs then
stops at its first batch, cleanly, and nothing is half-written. This watch tells the
user when that state begins ("the disk is full: N MB free, lndesk needs M") and ends,
and when room returns asks the connected peers again at once instead of waiting for the
next periodic sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from lndesk.errors import DiskFullError
from lndesk.store.space import DiskSpace

logger = logging.getLogger(__name__)

PAUSED = "Syncing is paused and resumes by itself once there is room."
RESUMED = "There is room on the disk again: syncing resumes."


class DiskWatch:
    """Checks the disk every ``INTERVAL`` seconds; says when it fills and empties."""

    INTERVAL = 30.0

    def __init__(
        self, space: DiskSpace, warn: Callable[[str], None], resume: Callable[[], None]
    ) -> None:
        self.space = space
        self._warn = warn
        self._resume = resume
        self.full: DiskFullError | None = None
        """The last check's verdict (None: there is room)."""

    def check(self) -> DiskFullError | None:
        try:
            self.space.check()
            error = None
        except DiskFullError as exc:
            error = exc
        if error is not None and self.full is None:
            self._warn(f"{str(error).capitalize()}. {PAUSED}")
        elif error is None and self.full is not None:
            self._warn(RESUMED)
            self._resume()
        self.full = error
        return error

    async def run(self) -> None:
        while True:
            self.check()
            await trio.sleep(self.INTERVAL)
