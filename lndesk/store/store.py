"""The store: an append-only log (the truth) and its SQLite index, kept in step.

Invariants:

* a record reaches the log, durably (``fdatasync``), before the index mentions it;
  an append is durable when :meth:`Store.publish` or :meth:`Store.ingest` returns;
* the index records ``log_end``, how far into the log it is complete; on open anything
  past that is re-indexed, and a torn last write is cut off with a warning;
* nothing that fails authentication is ever written;
* a deleted entry's payload leaves the log: the index commits the deletion (and queues
  the purge in ``purges``), then :mod:`lndesk.store.purge` overwrites the record through
  its journal; an open finishes whatever a crash interrupted. An entry whose tombstone
  is already stored is stored without its payload (a PURGED record);
* an entry held without its payload, not deleted, is a hole: a later copy with its
  payload appends a second record of it and the index points there
  (:mod:`lndesk.store.fill`).

One process at a time may open a data directory (an exclusive ``flock``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from pathlib import Path

from lndesk.batch import checked
from lndesk.content import Content, encode_content
from lndesk.entry import Entry, create_entry
from lndesk.errors import (
    ForkedFeedError,
    IndexDamagedError,
    StoreError,
)
from lndesk.identity import Identity
from lndesk.keytext import short_key
from lndesk.payloads import Parsed
from lndesk.store import idprefix
from lndesk.store.dirlock import lock_directory, remove_index_files, remove_leftovers
from lndesk.store.fill import holes_among, write_index
from lndesk.store.forget import forget_entries
from lndesk.store.fulltext import FullText
from lndesk.store.index import Index, IndexItem
from lndesk.store.ingest import FUTURE_HOLD_MS, decode_batch, plan_batch
from lndesk.store.listing import StoreLists
from lndesk.store.logfile import (
    HEADER_SIZE,
    KIND_FORK_PROOF,
    LogFile,
    encode_entry_records,
    encode_record,
)
from lndesk.store.loghead import PrevReader, log_head
from lndesk.store.purge import purge_payloads, replay_journal
from lndesk.store.reading import StoredEntry, now_ms
from lndesk.store.readonly import index_salvaged, open_index_read_only
from lndesk.store.rebuild import IndexRebuild, StoreRebuilds
from lndesk.store.records import index_item, new_items
from lndesk.store.recovery import catch_up, index_log, queued_purges, stale_index
from lndesk.store.refs import already_deleted, check_own_refs
from lndesk.store.space import DiskSpace, FreeSpace, free_bytes

log = logging.getLogger(__name__)
_FIRST, _CLAIMED = itemgetter(0), attrgetter("claimed_ms")

LOG_NAME = "entries.log"
INDEX_NAME = "index.sqlite3"
REBUILT_NAME = INDEX_NAME + ".new"  # a rebuild's new index (lndesk.store.rebuild)
COMPACT_NAME = INDEX_NAME + ".compact"  # a compact copy (lndesk.store.compact)
LOCK_NAME = "store.lock"
INDEX_RULES = b"5"
"""Version of the rules that derive the index from the log (content validity, tag
normal form, what follows and tombstones mean). Bump it when they change: every store
then rebuilds its index once, so old entries are read by the new rules too.
2: inboxes, edits, reading lists, full-text search; deleted payloads are purged.
3: a later record of an entry held without its payload fills it; deleted payloads are
told apart from missing ones.
4: counting reveals of pseudonyms are indexed; a deleted reveal keeps its payload.
5: an entry whose payload is purged is deleted, and the edits of a forgotten entry
(an expired inbox request) are forgotten with it, so a rebuild does not show them."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    stored: int
    duplicates: int
    held: int
    fork_at: int | None = None
    filled: int = 0
    """Entries held without their payloads whose payloads this batch supplied."""


class Store(StoreLists, StoreRebuilds):
    """A data directory's log and index. Use from one thread at a time."""

    def __init__(
        self,
        directory: Path,
        *,
        min_free: int | None = None,
        free_space: FreeSpace = free_bytes,
        reindex: bool = False,
    ) -> None:
        """Open the data directory (exclusively). ``reindex`` rebuilds the index from the
        log without reading the old one (which may be damaged): see :meth:`reindex`."""
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_fd = lock_directory(directory / LOCK_NAME)
        self.warnings: list[str] = []
        self._damage_noted: set[int] = set()
        self.space = DiskSpace(directory, min_free, free_space)
        self.read_only = False
        self._indexed_end = HEADER_SIZE
        """How far into the log the index is complete (its ``log_end``)."""
        self._rebuild: IndexRebuild | None = None
        """A rebuild of the index under way beside it (:mod:`lndesk.store.rebuild`)."""
        try:
            # A rebuilt index or compact copy a stopped process left (none is under way:
            # this open holds the lock): each is as large as the index.
            remove_leftovers(directory, (REBUILT_NAME, COMPACT_NAME))
            self.log = LogFile(directory / LOG_NAME)
            if replay_journal(self.log):
                self._warn("finished removing deleted posts after an interruption")
            if reindex:
                with contextlib.suppress(sqlite3.Error):  # a damaged index's queue is lost
                    self._purge_first(queued_purges(directory / INDEX_NAME))
                self.index = Index(Path(":memory:"), self._content_at)  # replaced below
                self.reindex()
            else:
                path = directory / INDEX_NAME
                stale = stale_index(path, self.log, INDEX_RULES)
                if stale is not None:  # rebuilt anyway: not migrated first
                    self._warn(stale)
                    self._purge_first(queued_purges(path))
                    remove_index_files(path)
                try:
                    read = lambda offset: self.log.read(offset).payload  # noqa: E731
                    self.index = Index(path, self._content_at, read_payload=read)
                except IndexDamagedError as exc:
                    raise self._store_error(exc.__cause__ or exc) from exc
                self._open_catch_up()
            self._purge(self.index.pending_purges())
        except BaseException:
            self.close()
            raise

    @classmethod
    def open_read_only(cls, directory: Path) -> Store:
        """Open for reading only: no lock, no write to any file (read-only media, another
        user's directory, a damaged index or log). The index file is used if it is
        complete and readable; otherwise an index of every valid log record is built in
        memory (damaged ranges of the log are left out, with a warning)."""
        store = cls.__new__(cls)
        store.directory = directory
        store._lock_fd = -1
        store.warnings = []
        store._damage_noted = set()
        store.space = DiskSpace(directory)
        store.read_only = True
        store._indexed_end = HEADER_SIZE
        store._rebuild = None
        try:
            path = directory / LOG_NAME
            if not path.is_file():
                raise StoreError(f"nothing is stored in {directory} yet")
            store.log = LogFile(path, read_only=True)
            found = open_index_read_only(
                directory / INDEX_NAME, store.log, INDEX_RULES, store._content_at
            )
            if found is None:
                store.index = Index(Path(":memory:"), store._content_at)
                index_salvaged(store.log, store._write_index, store._warn)
                return store
            index, end = found
            # An index behind the log, or text staged for search, needs writing: work on
            # a copy in memory then (the file stays as it is).
            if end < store.log.end or FullText(index.conn).pending():
                copy = Index(Path(":memory:"), store._content_at)
                index.conn.backup(copy.conn)
                index.close()
                index = copy
            store.index = index
            store._indexed_end = end
            store.level_index()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.abort_rebuild()
        with contextlib.suppress(Exception):
            # Fold the write-ahead log into the index file, so that a read-only open
            # (another user, read-only media) sees everything without writing.
            self.index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with contextlib.suppress(Exception):
            self.index.close()
        with contextlib.suppress(Exception):
            self.log.close()
        self._release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _release(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    # --- recovery and reindexing ---------------------------------------------

    def _catch_up(self) -> None:
        """Index what the log holds past ``log_end`` (:mod:`lndesk.store.recovery`)."""
        catch_up(
            self.index,
            self.log,
            INDEX_RULES,
            rebuild=self._reset_index,
            write=self._write_index,
            warn=self._warn,
        )
        self._indexed_end = self.log.end

    def _open_catch_up(self) -> None:
        """:meth:`_catch_up` at open; a full disk leaves the index behind (reads show
        what it holds, writes wait for :meth:`level_index`) instead of failing the open."""
        try:
            self._catch_up()
        except (sqlite3.Error, OSError) as exc:
            full = self.space.explain(exc)
            if full is None:
                raise self._store_error(exc) from exc
            with contextlib.suppress(sqlite3.Error):
                self.index.rollback()
            raw = self.index.get_meta("log_end")
            self._indexed_end = int(raw.decode()) if raw else HEADER_SIZE
            self._warn(f"{full}; the newest entries are not indexed yet")

    @property
    def index_behind(self) -> bool:
        """The log holds records the index does not yet know (an index write failed)."""
        return self._indexed_end < self.log.end

    def level_index(self) -> None:
        """Index what the log holds past the index's end, after an index write failed.

        The log is the truth: a record appended there stays, whatever happened to the
        index transaction after it. Raises DiskFullError (or another StoreError) while
        the index cannot be written; nothing is published or stored until it can.
        """
        if not self.index_behind:
            return
        try:
            index_log(
                self.log,
                self._indexed_end,
                trusted_tail=True,
                write=self._write_index,
                warn=self._warn,
            )
        except (sqlite3.Error, OSError) as exc:
            raise self._store_error(exc) from exc
        log.info("the index caught up with the log")

    def _store_error(self, exc: BaseException) -> StoreError:
        """The StoreError to show for a failed log or index write."""
        return self.space.store_error(exc, INDEX_NAME)

    def reindex(self) -> int:
        """Rebuild the index from the log, in one go. Returns the number of entries
        indexed. A rebuild that fails (a damaged log, a full disk) leaves the old index,
        and every command that worked before works still (:mod:`lndesk.store.rebuild`)."""
        rebuild = self.start_rebuild()
        return self.finish_rebuild(rebuild)

    def _open_index(self) -> Index:
        """The index file opened (again), in use from then on."""
        return Index(self.directory / INDEX_NAME, self._content_at)

    def _purge_first(self, queued: Sequence[tuple[int, bytes]]) -> int:
        """Run the purges an index about to be rebuilt holds queued: a forgotten entry's
        is named by no tombstone in the log, so the rebuild would bring the entry back
        (a failure is a StoreError, and the old index stays); how many records it
        rewrote."""
        if not queued or self.read_only:
            return 0
        try:
            return purge_payloads(self.log, queued)
        except (sqlite3.Error, OSError, StoreError) as exc:
            raise self._store_error(exc) from exc

    def start_rebuild(self) -> IndexRebuild:
        """Start rebuilding the index beside the one in use; go on with
        :meth:`rebuild_step` and end with :meth:`finish_rebuild`."""
        if self._rebuild is not None:
            raise StoreError(
                "the index is being rebuilt already",
                "Wait for that rebuild to finish; it says so when it has.",
            )
        with contextlib.suppress(sqlite3.Error):  # a damaged index's queue is lost
            self._purge_first(self.index.pending_purges())
        fresh = self.directory / REBUILT_NAME
        try:
            self._rebuild = IndexRebuild(
                self.log, fresh, self._content_at, self._write_to, self._warn
            )
        except (sqlite3.Error, OSError) as exc:
            remove_index_files(fresh)
            raise self._store_error(exc) from exc
        return self._rebuild

    def finish_rebuild(self, rebuild: IndexRebuild) -> int:
        """Index the rest of the log into the rebuilt index and put it in place of the
        old one; returns the number of entries it holds."""
        with self._rebuilding(rebuild):
            # Purges queued while it was built (a rewrite of the log failed): the new
            # index may hold those records as they were, and the queue goes with the old.
            queued = self.index.pending_purges()
            if self._purge_first(queued):
                rebuild.rewritten([offset for offset, _ in queued])
            count = rebuild.finish(INDEX_RULES)
        self._rebuild = None
        self._put_in_place(rebuild, self.directory / INDEX_NAME)
        self._indexed_end = self.log.end
        return count

    def _reset_index(self) -> Index:
        self.index.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / (INDEX_NAME + suffix)).unlink()
        self.index = self._open_index()
        self._indexed_end = HEADER_SIZE
        return self.index

    def _write_index(
        self,
        items: list[IndexItem],
        forks: list[tuple[int, Entry]],
        log_end: int,
        *,
        tombstoned: set[bytes] | None = None,
        unheld: bool = False,
    ) -> None:
        purges = write_index(
            self.index, items, forks, log_end, tombstoned=tombstoned, unheld=unheld
        )
        self._indexed_end = log_end
        self._purge(purges)

    def _write_to(
        self, index: Index, items: list[IndexItem], forks: list[tuple[int, Entry]], end: int
    ) -> None:
        """Write into ``index`` (a rebuilt one) as :meth:`_write_index` writes into the
        index in use."""
        self._purge(write_index(index, items, forks, end), index)

    def _purge(self, targets: Sequence[tuple[int, bytes]], index: Index | None = None) -> None:
        """Remove deleted payloads from the log; the index already says they are gone.

        What stored them is done and durable, so a failure here is not theirs: it is
        reported, the purges stay queued in the index and the next open tries again.
        """
        if not targets or self.read_only:
            return
        offsets = [offset for offset, _ in targets]
        try:
            count = purge_payloads(self.log, targets)
        except (OSError, StoreError) as exc:
            if index is None:
                self._rewritten(offsets)  # some may have been
            self._warn(
                f"could not yet remove deleted posts from the log ({exc}); "
                "lndesk tries again when it next opens this data directory"
            )
            return
        if index is None and count:
            self._rewritten(offsets)
        (self.index if index is None else index).purged(offsets)
        log.info("purged the payloads of %d deleted entries from the log", count)

    # --- full-text indexing (deferred: lndesk.store.fulltext) ------------------

    def index_text(self, limit: int = 2000) -> int:
        """Move up to ``limit`` staged documents into the full-text index, and about 5
        pending ids per document moved (per ``limit`` when none was) into the id index,
        in one transaction; returns how many documents remain staged."""
        text = FullText(self.index.conn, self._payload_content)
        if limit < 1:
            return text.pending()
        self.index.begin()
        try:
            used = text.index_staged(limit)
            idprefix.fold(self.index.conn, idprefix.PER_DOCUMENT * (used or limit))
            self.index.commit()
        except BaseException:
            self.index.rollback()
            raise
        return text.pending()

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    # --- writing -------------------------------------------------------------

    def publish(self, identity: Identity, content: Content, claimed_ms: int | None = None) -> Entry:
        """Sign ``content`` as the next entry of ``identity``'s log and store it durably.

        The new entry follows the last entry of this feed that the *log* holds: the index
        first catches up with the log (or publishing waits), and the record the index
        names as the head is read back from the log and checked, so a seq that was ever
        signed and stored is never signed again.
        """
        self.level_index()
        self.space.check()
        state = self.index.feed_state(identity.public_key)
        if self.index_behind:
            raise StoreError("the index has not caught up with the log")
        head_seq, head_id = log_head(self.index, self.log, identity.public_key, state)
        check_own_refs(self.index, self._content_at, identity.public_key, content, head_seq + 1)
        payload = encode_content(content)
        entry = create_entry(
            identity,
            seq=head_seq + 1,
            prev=head_id,
            claimed_ms=now_ms() if claimed_ms is None else claimed_ms,
            type=content.type,
            payload=payload,
        )
        self._append([(entry, payload)], now_ms(), state.max_seq)
        return entry

    def ingest(
        self,
        author: bytes,
        items: Sequence[tuple[bytes, bytes | None]],
        received_ms: int | None = None,
    ) -> IngestResult:
        """Authenticate and store a contiguous, ascending run of ``author``'s entries.

        ``items`` are (entry bytes, payload bytes or None). Raises an EntryError subclass,
        and stores nothing, unless the whole run is proven to be ``author``'s.
        """
        received = now_ms() if received_ms is None else received_ms
        batch = checked(author, items)  # decoded and parsed already if checked off-thread
        entries = decode_batch(author, batch)
        if not entries:
            return IngestResult(0, 0, 0)
        self.level_index()
        self.space.check(2 * batch.size)
        _height, max_seq, forked_at = self.index.feed_limits(author)
        if forked_at is not None:
            raise ForkedFeedError(
                f"{short_key(author)} signed two different entries at entry {forked_at}"
            )
        stored = self.index.stored_ids(author, entries[0].seq - 1, entries[-1].seq + 1)
        plan = plan_batch(entries, [p for _, p in items], stored, PrevReader(self.log, stored))
        if plan.fork_proof is not None:
            proof = plan.fork_proof
            record = encode_record(KIND_FORK_PROOF, received, proof.raw, None)
            (offset,) = self._log_append([record])
            try:
                self._write_index([], [(offset, proof)], self.log.end)
            except (sqlite3.Error, OSError) as exc:
                self._index_failed(exc)
            self._warn(
                f"{short_key(author)} signed two different entries at entry {proof.seq}; "
                "nothing newer of theirs is taken"
            )
            return IngestResult(0, plan.duplicates, 0, proof.seq)
        self._append(plan.new, received, max_seq, batch.parsed, unheld=True)
        filled = 0
        if plan.duplicates:  # only an entry held already can lack its payload
            filled = self._fill(entries, items, received, max_seq, batch.parsed)
        # Entries claimed after the limit, counted without a Python step per entry.
        held = sum(map((received + FUTURE_HOLD_MS).__lt__, map(_CLAIMED, map(_FIRST, plan.new))))
        return IngestResult(len(plan.new), plan.duplicates - filled, held, filled=filled)

    def keep_fork_proofs(self, entries: Sequence[Entry]) -> None:
        """Append ``entries`` as fork proof records and index them (the feed freezes at
        their seq). The caller has verified them: see :mod:`lndesk.store.forks`."""
        received = now_ms()
        records = [encode_record(KIND_FORK_PROOF, received, e.raw, None) for e in entries]
        offsets = self._log_append(records)
        try:
            self._write_index([], list(zip(offsets, entries, strict=True)), self.log.end)
        except (sqlite3.Error, OSError) as exc:
            self._index_failed(exc)

    def _fill(
        self,
        entries: Sequence[Entry],
        batch: Sequence[tuple[bytes, bytes | None]],
        received_ms: int,
        max_seq: int,
        parsed: dict[bytes, Parsed],
    ) -> int:
        """Store the payloads a verified batch of one author carries for entries held
        without them (:mod:`lndesk.store.fill`); returns how many holes were filled."""
        author = entries[0].author
        offered = {
            entry.seq: (entry, payload)
            for entry, (_, payload) in zip(entries, batch, strict=True)
            if payload is not None
        }
        holes = holes_among(self.index, author, sorted(offered))
        fills = [offered[seq] for seq, entry_id in holes.items() if offered[seq][0].id == entry_id]
        if not fills:
            return 0
        items = [
            index_item(0, received_ms, entry, payload, parsed=parsed.get(entry.id))
            for entry, payload in fills
        ]
        doomed, _ = already_deleted(self.index, items, max_seq)
        # Edits or list updates of deleted entries are deleted too: ``_append`` writes
        # their records PURGED, without the payload, which closes the hole for good.
        self._append(fills, received_ms, max_seq, parsed)
        return len(fills) - len(doomed)

    def _append(
        self,
        new: Sequence[tuple[Entry, bytes | None]],
        received_ms: int,
        max_seq: int,
        parsed: dict[bytes, Parsed] | None = None,
        *,
        unheld: bool = False,
    ) -> None:
        """Store one author's new entries; ``max_seq`` is the feed's before them.
        ``parsed``: their payloads parsed already, by entry id (see lndesk.batch).
        ``unheld``: none of them is held, without its payload or otherwise
        (:func:`lndesk.store.fill.write_index`)."""
        if not new:
            return
        items = new_items(received_ms, new, parsed or {})
        doomed, named = already_deleted(self.index, items, max_seq)
        for number in doomed:
            items[number] = index_item(0, received_ms, items[number].entry, None, purged=True)
        records = encode_entry_records(received_ms, new, set(doomed))
        for item, offset in zip(items, self._log_append(records), strict=True):
            item.offset = offset
        try:
            self._write_index(items, [], self.log.end, tombstoned=named, unheld=unheld)
        except (sqlite3.Error, OSError) as exc:
            self._index_failed(exc)

    def _log_append(self, records: list[bytes]) -> list[int]:
        try:
            return self.log.append(records)
        except OSError as exc:
            raise self._store_error(exc) from exc

    def _index_failed(self, exc: BaseException) -> None:
        """An index write failed after its records reached the log: they are stored
        (durably, in the log) and the index catches up with them later."""
        reason = self._store_error(exc)
        self._warn(
            f"stored in the log, but the index could not be updated yet ({reason}); "
            "lndesk indexes it as soon as it can"
        )

    def forget(self, key: bytes, seqs: Sequence[int]) -> None:
        """Forget these entries of ``key`` as if deleted: hidden, payloads purged from the
        log (expired inbox requests, :mod:`lndesk.store.forget`)."""
        self.index.begin()
        try:
            purges = forget_entries(self.index, key, seqs)
            self.index.commit()
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.index.rollback()
            raise
        self._purge(purges)


__all__ = ["IngestResult", "Store", "StoredEntry", "lock_directory", "now_ms"]
