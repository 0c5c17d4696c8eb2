"""Giving the index file's free pages back: a compact copy made beside it, put in place.

SQLite keeps the pages a dropped or shrunk table freed, for the file's later growth.
Migration 8 dropped the full-text table that held a copy of every text: its pages stay
free after the background indexer has filled the new table (about two fifths of an
index at 100,000 posts, hundreds of megabytes at a million). ``VACUUM`` would give them
back, but it rewrites the whole file with the index locked, seconds at a million
entries, on the node's thread.

So the copy is made on another thread, with its own connection: ``VACUUM INTO`` a file
beside the index reads one snapshot of it while the node goes on reading and writing
(the index is in WAL mode). Back on the node's thread, if nothing was written to the
index since the copy began (it is open on the same connection, not rebuilt meanwhile,
and that connection's ``total_changes`` are as they were), the copy holds exactly what
the index holds and takes its place; otherwise it is dropped and the node tries again
later. Only a file with many free pages is copied
(:func:`reclaimable`): at least RECLAIM_FRACTION of it and RECLAIM_BYTES.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from lndesk.atomicfile import fsync_directory
from lndesk.store.dirlock import remove_index_files
from lndesk.store.store import INDEX_NAME, Store

log = logging.getLogger(__name__)

RECLAIM_FRACTION = 0.25
RECLAIM_BYTES = 4 << 20


def free_bytes(conn: sqlite3.Connection) -> tuple[int, int]:
    """(bytes in free pages, bytes of the whole file) of the index on ``conn``."""
    page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    return free * page, pages * page


def reclaimable(conn: sqlite3.Connection) -> bool:
    """Whether the index on ``conn`` has free pages worth a compact copy."""
    free, size = free_bytes(conn)
    return free >= RECLAIM_BYTES and free >= RECLAIM_FRACTION * size


@dataclass(slots=True)
class Compaction:
    """A compact copy of the index at ``source`` being made at ``target``; ``changes``
    is the ``total_changes`` of ``index``, the node's connection to it, when it began."""

    source: Path
    target: Path
    changes: int
    index: sqlite3.Connection = field(repr=False)
    _conn: sqlite3.Connection | None = field(default=None, repr=False)

    def copy(self) -> None:
        """Write the copy (on a thread of its own: it takes seconds at a million
        entries). Raises sqlite3.Error or OSError if it cannot be made (the partial copy
        is removed)."""
        remove_index_files(self.target)
        # Quoted: a '#', '?' or '%' in the path would end the file name early (and drop
        # mode=ro with it), so an empty database made elsewhere would be copied.
        source = f"file:{quote(str(self.source))}?mode=ro"
        conn = sqlite3.connect(source, uri=True, check_same_thread=False)
        self._conn = conn
        try:
            conn.execute("VACUUM INTO ?", (str(self.target),))
        except BaseException:
            remove_index_files(self.target)
            raise
        finally:
            self._conn = None
            conn.close()

    def interrupt(self) -> None:
        """Stop a copy under way (from the node's thread: the node is stopping)."""
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.interrupt()

    def discard(self) -> None:
        remove_index_files(self.target)

    def put_in_place(self) -> None:
        """Move the finished copy over the index (closed by the caller)."""
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                self.source.with_name(self.source.name + suffix).unlink()
        self.target.replace(self.source)
        fsync_directory(self.source.parent)
        log.info("the index file's free pages were given back")


def start(store: Store) -> Compaction | None:
    """A compact copy of ``store``'s index to make, if its file holds many free pages
    and nothing is left to index or rebuild (None: nothing to do). Make it with
    :meth:`Compaction.copy` on another thread, then call :func:`finish`."""
    conn = store.index.conn
    if store.rebuilding or conn.in_transaction or store.index_backlog():
        return None
    if not reclaimable(conn):
        return None
    path = store.directory / INDEX_NAME
    return Compaction(path, path.with_name(INDEX_NAME + ".compact"), conn.total_changes, conn)


def finish(store: Store, job: Compaction) -> bool:
    """Put the copy ``job`` made in place of ``store``'s index if nothing was written
    to the index since it began (else drop it); whether it was. An index rebuilt
    meanwhile has another connection, whose count of changes starts again."""
    conn = store.index.conn
    if (
        conn is not job.index
        or store.rebuilding
        or conn.in_transaction
        or conn.total_changes != job.changes
    ):
        job.discard()
        return False
    store.reopen_index(job.put_in_place)
    return True
