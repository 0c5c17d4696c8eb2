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
later. Only a file with many free pages is copied (:func:`worth_copying`): at least
RECLAIM_FRACTION of it and RECLAIM_BYTES; and only when the disk has room for the copy
above its margin (``lndesk.store.space``), which it would otherwise fill under the node's
own writes.

The swap is safe wherever the machine stops. The copy is synced to disk once made. The
index's write-ahead log is folded into its file and emptied (:func:`fold_wal`, which
syncs the file) before the index is closed; if a reader keeps it from that, the copy is
dropped: a log still holding writes must never be removed from beside the old file, nor
be left beside the new one (SQLite would apply the old file's pages to the new file).
Then the empty log is removed and the directory synced, and only then is the copy moved
over the index and the directory synced again (:func:`lndesk.store.swap.swap_index`,
which puts a rebuilt index in place too). Stopped before the move, the old index
stays whole by itself; after it, the copy is whole and no log lies beside it. Should the
index be damaged anyway, opening the store says so (``IndexDamagedError``), and
``lndesk reindex`` rebuilds it from the log, which holds everything.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from lndesk.store.dirlock import remove_index_files
from lndesk.store.store import COMPACT_NAME, INDEX_NAME, Store
from lndesk.store.swap import swap_index, sync_file

log = logging.getLogger(__name__)

RECLAIM_FRACTION = 0.25
RECLAIM_BYTES = 4 << 20


def free_bytes(conn: sqlite3.Connection) -> tuple[int, int]:
    """(bytes in free pages, bytes of the whole file) of the index on ``conn``."""
    page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    return free * page, pages * page


def worth_copying(free: int, size: int) -> bool:
    """Whether ``free`` bytes of free pages in an index of ``size`` are worth a copy."""
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
            sync_file(self.target)  # SQLite syncs it, but does not promise to
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
        """Move the finished copy over the index, closed by the caller after
        :func:`fold_wal` emptied its write-ahead log: that log is gone for good before
        the copy takes the index's name (:func:`lndesk.store.swap.swap_index`)."""
        swap_index(self.target, self.source)
        log.info("the index file's free pages were given back")


def start(store: Store) -> Compaction | None:
    """A compact copy of ``store``'s index to make, if its file holds many free pages,
    nothing is left to index or rebuild and the disk has room for it (None: nothing to
    do). Make it with
    :meth:`Compaction.copy` on another thread, then call :func:`finish`."""
    conn = store.index.conn
    if store.rebuilding or conn.in_transaction or store.index_backlog():
        return None
    free, size = free_bytes(conn)
    # The copy takes what the index holds beside its free pages: without that room above
    # the disk's margin it would fill the disk under the node's own writes, at every try.
    if not worth_copying(free, size) or store.space.low(size - free):
        return None
    path = store.directory / INDEX_NAME
    return Compaction(path, path.with_name(COMPACT_NAME), conn.total_changes, conn)


def finish(store: Store, job: Compaction) -> bool:
    """Put the copy ``job`` made in place of ``store``'s index if nothing was written
    to the index since it began and its write-ahead log could be emptied (else drop
    it); whether it was. An index rebuilt meanwhile has another connection, whose count
    of changes starts again. A failure of the swap drops the copy and leaves the store
    an open index (:meth:`Store.reopen_index`), and is raised."""
    conn = store.index.conn
    if (
        conn is not job.index
        or store.rebuilding
        or conn.in_transaction
        or conn.total_changes != job.changes
        or not fold_wal(conn)
    ):
        job.discard()
        return False
    try:
        store.reopen_index(job.put_in_place)
    except BaseException:
        job.discard()
        raise
    return True


def fold_wal(conn: sqlite3.Connection) -> bool:
    """Fold the write-ahead log of the index on ``conn`` into its file, sync the file (the
    index's ``synchronous=NORMAL`` does after a checkpoint) and empty the log; whether
    all of that was done. A reader of an older snapshot (another
    process reading the index) keeps the log from being emptied: this does not wait for
    it, the node's thread has other work."""
    timeout = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    conn.execute("PRAGMA busy_timeout=0")
    try:
        row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as exc:
        log.info("the index's write-ahead log could not be folded into it: %s", exc)
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout={timeout}")
    busy, frames = int(row[0]), int(row[1])
    return busy == 0 and frames == 0
