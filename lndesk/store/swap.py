"""Putting a new index file in place of the index (a compacted copy, a rebuilt index).

SQLite applies a write-ahead log to whatever database file bears the log's name, so the
old index's log must never lie beside the new file, even after the machine stops at any
point of the swap. The new file is synced first (by its maker, :func:`sync_file`); the
old index is closed; its log and shared memory are removed and the directory synced, so
that removal is on the disk (closing the last connection removes an empty log, but
SQLite does not sync the directory); only then is the new file moved over the index,
and the directory synced again. Stopped before the move, the old index file stays as
its log left it; after it, the new file is whole and no log lies beside it.

What the old log held is the caller's to secure: a compaction folds it into the old
file first (:func:`lndesk.store.compact.fold_wal`), since the copy holds what the old
file held; a rebuild may drop it, since the new index holds everything the store's log
holds and an index left behind catches up from that log.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from lndesk.atomicfile import fsync_directory

log = logging.getLogger(__name__)


def swap_index(new: Path, path: Path) -> None:
    """Move the closed, synced database ``new`` over the closed index at ``path``,
    removing the index's write-ahead log and shared memory for good first."""
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()
    fsync_directory(path.parent)
    new.replace(path)
    fsync_directory(path.parent)
    log.info("%s took the place of %s", new.name, path.name)


def sync_file(path: Path) -> None:
    """Write the file at ``path`` through to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
