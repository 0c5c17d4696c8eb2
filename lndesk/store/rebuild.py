"""Rebuilding the index from the log beside the one in use (``lndesk reindex``).

The new index is built in a file of its own (``index.sqlite3.new``), from the log's
records in log order, as catching up on open builds it. The index in use is not touched
until the new one is whole: it keeps answering reads and keeps taking what is published
or stored meanwhile, which is appended to the log first, so the rebuild reaches it in
its turn. A rebuild can therefore run in steps (:meth:`IndexRebuild.step`), between
which a running node does its other work; the last step (:meth:`IndexRebuild.finish`)
indexes whatever the log holds by then and the store puts the new index in place before
anything else can append: the result is the index a rebuild in one go would build from
that log. A purge rewrites a record in place instead of appending (a deleted or
forgotten entry's payload leaves the log): if the new index already holds that record,
the rebuild begins again. A rebuild that fails leaves the old index, and every command
that worked before works still.

The new index replaces the old one as a compacted copy does
(:func:`lndesk.store.swap.swap_index`): synced, and moved in only once the old index's
write-ahead log is gone for good, so no stale log is ever applied to it. What that log
held is dropped: the new index holds all the store's log holds. A machine stopping
before the move leaves the old index as its file holds it, which the next open catches
up from the store's log.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from lndesk.entry import Entry
from lndesk.errors import IndexDamagedError, StoreError
from lndesk.store import idprefix
from lndesk.store.dirlock import remove_index_files
from lndesk.store.index import Index, IndexItem
from lndesk.store.logfile import HEADER_SIZE, LogFile, Record, ScanEnd
from lndesk.store.recovery import Warn, index_log, index_records
from lndesk.store.rules import ContentLoader
from lndesk.store.swap import swap_index, sync_file

log = logging.getLogger(__name__)

WriteTo = Callable[[Index, list[IndexItem], list[tuple[int, Entry]], int], None]
"""Indexes entries and fork proofs into the given index in one transaction, with its new
``log_end`` (and purges the payloads that index says are deleted)."""


class IndexRebuild:
    """One rebuild of the index, from the log's first record to its end (see the module
    docstring). Made by :meth:`lndesk.store.store.Store.start_rebuild`."""

    def __init__(
        self,
        log_file: LogFile,
        path: Path,
        content_at: ContentLoader,
        write_to: WriteTo,
        warn: Warn,
    ) -> None:
        self._log = log_file
        self.path = path
        """Where the new index is built (it replaces the old one once whole)."""
        self._content_at = content_at
        self._write_to = write_to
        self._warn = warn
        self.restarts = 0
        """Times the rebuild began again (:meth:`rewritten`)."""
        remove_index_files(path)
        self.index = Index(path, content_at)
        self.position = HEADER_SIZE
        """How far into the log the new index is complete."""

    def rewritten(self, offsets: Iterable[int]) -> None:
        """Records at ``offsets`` lost their payloads in place (a purge the index in use
        asked for): one the new index holds already is held as it was, so the rebuild
        begins again (a rebuild in one go reads the record as it is now)."""
        if any(offset < self.position for offset in offsets):
            self.index.close()
            remove_index_files(self.path)
            self.index = Index(self.path, self._content_at)
            self.position = HEADER_SIZE
            self.restarts += 1
            log.info("an entry the rebuilt index held was purged: rebuilding from the start")

    def _write(self, items: list[IndexItem], forks: list[tuple[int, Entry]], end: int) -> None:
        self._write_to(self.index, items, forks, end)
        self.position = end

    def step(self, records: int) -> bool:
        """Index up to ``records`` more records of the log (one transaction); whether the
        new index has then reached what the log holds (what stops a scan, a torn tail
        say, is left to :meth:`finish`, which treats it as a rebuild in one go does)."""
        batch: list[Record] = []
        for item in self._log.scan(self.position):
            if isinstance(item, ScanEnd):
                break
            batch.append(item)
            if len(batch) >= records:
                break
        index_records(batch, self._write)
        return len(batch) < records or self.position >= self._log.end

    def finish(self, rules: bytes) -> int:
        """Index the rest of the log, mark the new index whole (built from this log by
        ``rules``) and close it; returns the number of entries it holds. Nothing may
        append to the log between this and putting the new index in place."""
        index_log(self._log, self.position, trusted_tail=False, write=self._write, warn=self._warn)
        self.index.begin()
        self.index.set_meta("log_id", self._log.log_id)
        self.index.set_meta("rules", rules)
        idprefix.fold(self.index.conn, limit=None)  # a rebuilt index is whole
        self.index.commit()
        # The new index's own log, folded into its file: only the file is moved.
        busy, frames, _ = self.index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy or frames:
            raise sqlite3.OperationalError("the rebuilt index's write-ahead log stayed unfolded")
        count = self.index.count_entries()
        self.index.close()
        return count

    def put_in_place(self, path: Path) -> None:
        """Move the finished index over the index at ``path``, closed by the caller: the
        new file is synced first, and the old index's write-ahead log is removed for good
        before the move (:func:`lndesk.store.swap.swap_index`). What that log held does not
        matter: the new index holds all the store's log holds."""
        sync_file(self.path)
        swap_index(self.path, path)

    def abort(self) -> None:
        """Drop the new index (the old one stays in use)."""
        with contextlib.suppress(Exception):
            self.index.close()
        remove_index_files(self.path)
        log.info("the index rebuild was abandoned at log offset %d", self.position)


class StoreRebuilds:
    """A store's rebuild under way (:class:`lndesk.store.store.Store` builds on this, and
    starts and finishes its rebuilds): its steps, dropping it, what purges tell it, and
    the index closed and opened again around a change of its files (a rebuilt index or
    a compact copy put in place)."""

    _rebuild: IndexRebuild | None
    _warn: Warn
    _store_error: Callable[[BaseException], StoreError]
    index: Index
    _indexed_end: int
    _open_index: Callable[[], Index]

    @property
    def rebuilding(self) -> bool:
        """A rebuild of the index is under way beside it."""
        return self._rebuild is not None

    def reopen_index(
        self, change: Callable[[], None], again: Callable[[], None] | None = None
    ) -> None:
        """Close the index, ``change`` its files, open it again (:mod:`.compact`,
        :mod:`.rebuild`). A failure is raised and leaves an open index: the old one,
        unchanged, if it failed to close (opened again if the failed close closed it), else
        the files as ``change`` left them. If those cannot be opened after ``change``
        failed, ``again`` (if given) changes them once more first: a connection of this
        process still reading the old file shares SQLite's view of its write-ahead log,
        and a log the swap dropped keeps that file from being opened while it reads."""
        old = self.index
        try:
            old.close()
        except BaseException:
            try:
                old.conn.execute("SELECT 1")
            except sqlite3.ProgrammingError:  # closed after all
                self.index = self._open_index()
            raise
        try:
            change()
        except BaseException:
            try:
                self.index = self._open_index()
            except IndexDamagedError as exc:
                if again is None:
                    raise
                log.warning("the index left in place cannot be opened (%s): changing it again", exc)
                again()
                self.index = self._open_index()
            raise
        self.index = self._open_index()

    def rebuild_step(self, rebuild: IndexRebuild, records: int) -> bool:
        """Index up to ``records`` more records into the rebuilt index; whether it has
        reached the log's end. A failure drops the rebuild (the old index stays)."""
        with self._rebuilding(rebuild):
            return rebuild.step(records)

    def _put_in_place(self, rebuild: IndexRebuild, path: Path) -> None:
        """Put the finished ``rebuild`` in place of the index at ``path``. A failure drops
        it and leaves an open index, raised (as a StoreError if it was the disk's or the
        index's): the old one if the new one was not moved yet (if the old one's
        write-ahead log was removed, it is behind and catches up from the store's log
        before the next write: :meth:`lndesk.store.store.Store.level_index`), else the
        new one. An old index that cannot be opened again (a connection of this process
        read it as its log was dropped) gives way to the new one, which is whole."""
        put = lambda: rebuild.put_in_place(path)  # noqa: E731
        try:
            self.reopen_index(put, put)
        except BaseException as exc:
            rebuild.abort()
            with contextlib.suppress(sqlite3.Error):
                raw = self.index.get_meta("log_end")
                self._indexed_end = int(raw.decode()) if raw else HEADER_SIZE
            if isinstance(exc, sqlite3.Error | OSError):
                raise self._store_error(exc) from exc
            raise

    def abort_rebuild(self) -> None:
        """Drop a rebuild under way, if any (the old index stays in use)."""
        rebuild, self._rebuild = self._rebuild, None
        if rebuild is not None:
            rebuild.abort()

    def _rewritten(self, offsets: list[int]) -> None:
        """Records purged in place while a rebuild is under way (it may begin again)."""
        if self._rebuild is None:
            return
        try:
            self._rebuild.rewritten(offsets)
        except (sqlite3.Error, OSError) as exc:
            self.abort_rebuild()
            self._warn(f"the index rebuild under way stopped ({exc}); run lndesk reindex again")

    @contextlib.contextmanager
    def _rebuilding(self, rebuild: IndexRebuild) -> Iterator[None]:
        """Run a step of ``rebuild``; any failure drops it, as a StoreError if it was the
        disk's or the index's."""
        if rebuild is not self._rebuild:
            raise StoreError("that index rebuild is over", "Start another: lndesk reindex.")
        try:
            yield
        except BaseException as exc:
            self.abort_rebuild()
            if isinstance(exc, sqlite3.Error | OSError):
                raise self._store_error(exc) from exc
            raise
