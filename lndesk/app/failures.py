"""What to tell the user when the storage underneath a command fails: a full disk, or a
damaged index. Front ends catch :data:`INDEX_ERRORS` and ``OSError`` and ask here, so they
need to know nothing of the database the index is kept in."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lndesk.errors import DiskFullError, IndexDamagedError, LndeskError
from lndesk.store.space import disk_full_error

INDEX_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,)
"""What the index raises when it fails underneath a command."""


def index_failure(data_dir: Path, exc: Exception) -> LndeskError:
    """An error of :data:`INDEX_ERRORS` as the user reads it: the disk is full (when it is),
    or else the index cannot be read."""
    return disk_full_error(data_dir, exc) or IndexDamagedError(f"the index cannot be read: {exc}")


def disk_full(data_dir: Path, exc: BaseException) -> DiskFullError | None:
    """``exc`` as "the disk is full" when that is what failed, else None."""
    return disk_full_error(data_dir, exc)
