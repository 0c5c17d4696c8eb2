"""The data directory's exclusive lock, and removing an index file with its SQLite
companions (``-wal``, ``-shm``)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from lndesk.errors import StoreLockedError

log = logging.getLogger(__name__)


def remove_index_files(path: Path) -> None:
    """Remove the SQLite database ``path`` and its write-ahead log and shared memory."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def remove_leftovers(directory: Path, names: Iterable[str]) -> None:
    """Remove the databases ``names`` in ``directory`` (with their companions), left by a
    process that stopped while it wrote them."""
    for name in names:
        if (directory / name).exists():
            log.info("removing %s, left by a process that stopped while writing it", name)
        remove_index_files(directory / name)


def lock_directory(path: Path) -> int:
    """Take the data directory's exclusive lock (``path`` is its lock file); returns its fd."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise StoreLockedError(
            f"the data directory {path.parent} is in use by another lndesk process"
            + (f" (pid {other})" if other else "")
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
