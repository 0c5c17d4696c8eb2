"""Free disk space as a state of the store, and telling a full disk from other failures.

Before publishing or storing synced entries the store checks that the disk holding the
data directory keeps a margin free (``LNDESK_MIN_FREE_MB``, default 20 MB), so that the
log append, the index transaction and SQLite's write-ahead log all fit: a store that
stops *before* the disk is full never has to recover from a half-done write. When a
write fails anyway (another program filled the disk meanwhile), :func:`disk_full_error`
recognises it, so the user reads "the disk is full" instead of a database error.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from lndesk.errors import DiskFullError, IndexDamagedError, StoreError

ENV_MIN_FREE = "LNDESK_MIN_FREE_MB"
DEFAULT_MIN_FREE = 20 * 1024 * 1024
MB = 1024 * 1024
NEARLY_FULL = 4 * MB
"""Below this much free space, SQLite's I/O errors are taken for a full disk."""

FreeSpace = Callable[[Path], int]
"""Bytes a program may still write on the file system that holds a path."""

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def min_free_default() -> int:
    """The margin, from ``LNDESK_MIN_FREE_MB`` if set (a whole number, 0 or more)."""
    raw = os.environ.get(ENV_MIN_FREE, "").strip()
    if raw.isdigit():
        return int(raw) * MB
    return DEFAULT_MIN_FREE


def _mb(size: int) -> str:
    value = size / MB
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def full_error(free: int, needed: int) -> DiskFullError:
    return DiskFullError(f"the disk is full: {_mb(free)} MB free, lndesk needs {_mb(needed)} MB")


class DiskSpace:
    """Checks one data directory's disk against a margin."""

    def __init__(
        self, directory: Path, min_free: int | None = None, free: FreeSpace = free_bytes
    ) -> None:
        self.directory = directory
        self.min_free = min_free_default() if min_free is None else min_free
        self._free = free

    def free(self) -> int:
        try:
            return self._free(self.directory)
        except OSError:
            return 2**62  # cannot tell: let the write itself say whether it fits

    def check(self, extra: int = 0) -> None:
        """Raise DiskFullError unless ``extra`` bytes fit and the margin stays free."""
        needed = self.min_free + extra
        free = self.free()
        if free < needed:
            raise full_error(free, needed)

    def low(self, extra: int = 0) -> bool:
        return self.free() < self.min_free + extra

    def explain(self, exc: BaseException) -> DiskFullError | None:
        """A DiskFullError if ``exc`` is a write that failed for lack of space, else None.

        SQLite reports a full disk as "database or disk is full", or, when its
        write-ahead log or shared memory file cannot grow or be made, as a disk I/O error
        or "unable to open": those count as a full disk only when the disk is in fact
        nearly full (below the margin, or below a few MB).
        """
        if isinstance(exc, DiskFullError):
            return exc
        full = False
        if isinstance(exc, OSError):
            full = exc.errno in _FULL_ERRNOS
        elif isinstance(exc, sqlite3.Error):
            code = getattr(exc, "sqlite_errorcode", None)
            text = str(exc).lower()
            primary = None if code is None else code & 0xFF
            if primary == sqlite3.SQLITE_FULL or "disk is full" in text:
                full = True
            elif primary in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN) or any(
                words in text for words in ("i/o", "unable to open")
            ):
                full = self.free() < max(self.min_free, NEARLY_FULL)
        if not full:
            return None
        free = self.free()
        # A write failed with this much free: it needs more, at least the margin.
        error = full_error(free, self.min_free if free < self.min_free else free + MB)
        error.__cause__ = exc
        return error

    def store_error(self, exc: BaseException, index_name: str) -> StoreError:
        """The StoreError to show for a failed write of the log or of the index file
        ``index_name``: a full disk, a damaged index, or a directory that cannot be
        written."""
        full = self.explain(exc)
        if full is not None:
            return full
        if isinstance(exc, StoreError):
            return exc
        if isinstance(exc, sqlite3.Error):
            return IndexDamagedError(f"the index {index_name} cannot be used: {exc}")
        return StoreError(
            f"the data directory {self.directory} cannot be written: {exc}",
            "Check that you may write to it and that its disk works.",
        )


def disk_full_error(directory: Path, exc: BaseException) -> DiskFullError | None:
    """:meth:`DiskSpace.explain` for ``directory`` with the default margin."""
    return DiskSpace(directory).explain(exc)
