"""Bringing the index level with the log: catching up on open, rebuilding, torn tails.

The index records ``log_end``, how far into the log it is complete, and ``log_id``,
which log it was built from. On open the store indexes what lies past ``log_end``; an
index of another log, or built by other rules, is rebuilt from the whole log. A bad
record at the end of the log is a torn write and is cut off with a warning; bad bytes
followed by valid records are damage, which is never cut away.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

from lndesk.atomicfile import atomic_write_chunks
from lndesk.entry import Entry, decode_entry
from lndesk.errors import EntryError, StoreCorruptError
from lndesk.keytext import short_key
from lndesk.store.index import Index, IndexItem
from lndesk.store.logfile import HEADER_SIZE, KIND_FORK_PROOF, LogFile, Record, ScanEnd
from lndesk.store.migrations import SCHEMA_VERSION
from lndesk.store.records import index_item
from lndesk.store.schema_version import schema_version

REINDEX_BATCH = 5000
REINDEX_BATCH_BYTES = 1 << 20
"""The most of the log's records (in bytes) indexed in one batch: 5,000 records of
large posts would be over 300 MiB held at once, and their texts again."""

WriteIndex = Callable[[list[IndexItem], list[tuple[int, Entry]], int], None]
"""Indexes entries and fork proofs in one transaction, with the new ``log_end``."""
Warn = Callable[[str], None]


def catch_up(
    index: Index,
    log_file: LogFile,
    rules: bytes,
    *,
    rebuild: Callable[[], Index],
    write: WriteIndex,
    warn: Warn,
) -> None:
    """Index what ``log_file`` holds past ``log_end``; cut a torn tail.

    ``rebuild`` drops the index and returns a fresh, empty one (which ``write`` then
    writes to). ``log_id`` is written only when a full rebuild has read the whole log:
    until then a later open rebuilds again instead of trusting a partial index (and
    mistaking damage in the middle of the log for a torn tail).
    """
    reason = rebuild_reason(index.get_meta, index.count_entries, log_file, rules)
    if reason is not None:
        warn(reason)
        index = rebuild()
    elif index.get_meta("log_id") == log_file.log_id:
        start = _log_end(index.get_meta("log_end"))
        index_log(log_file, start, trusted_tail=True, write=write, warn=warn)
        return
    index_log(log_file, HEADER_SIZE, trusted_tail=False, write=write, warn=warn)
    index.begin()
    index.set_meta("log_id", log_file.log_id)
    index.set_meta("rules", rules)
    index.commit()


RULES_CHANGED = "this version reads entries differently; rebuilding the index"
NOT_THIS_LOG = "the index did not match the log; rebuilding it from the log"


def _log_end(raw: bytes | None) -> int:
    return int(raw.decode()) if raw else HEADER_SIZE


def rebuild_reason(
    meta: Callable[[str], bytes | None],
    has_entries: Callable[[], int],
    log_file: LogFile,
    rules: bytes,
) -> str | None:
    """Why an index whose ``meta`` says this is rebuilt from ``log_file`` rather than
    caught up (the warning to give), or None."""
    known_log = meta("log_id")
    if known_log is not None and meta("rules") != rules:
        return RULES_CHANGED
    if known_log == log_file.log_id and _log_end(meta("log_end")) <= log_file.end:
        return None
    if known_log is not None or has_entries():
        return NOT_THIS_LOG
    return None  # empty: a new index, indexed from the log's first record


def stale_index(path: Path, log_file: LogFile, rules: bytes) -> str | None:
    """Why the index file at ``path`` will be rebuilt from ``log_file`` whatever it holds
    (:func:`catch_up`'s reason), read before the file is opened as an :class:`Index`: an
    index thrown away next is not worth migrating (migration 6 reads every post from the
    log, migration 8 stages every document again). None for an index that is kept, and
    for one this cannot tell (no file, unreadable, written by a newer lndesk): opening it
    says what is wrong with it."""
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            if not 0 < schema_version(conn) <= SCHEMA_VERSION:
                return None
            found = {
                key: bytes(value)
                for key, value in conn.execute(
                    "SELECT key, value FROM meta WHERE key IN ('log_id', 'rules', 'log_end')"
                )
            }
            return rebuild_reason(
                found.get,
                lambda: conn.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is not None,
                log_file,
                rules,
            )
    except (sqlite3.Error, ValueError):
        return None


def queued_purges(path: Path) -> list[tuple[int, bytes]]:
    """The purges the index file at ``path`` holds queued (a failed rewrite of the log
    left them), read before a :func:`stale_index` is removed: a forgotten entry's is
    named by no tombstone in the log, so a rebuild would bring the entry back unless
    its payload is purged first. Raises sqlite3.Error if the file cannot be read."""
    with contextlib.closing(sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'purges'").fetchone():
            return []  # an index older than the queue (schema 1)
        return [(int(o), bytes(i)) for o, i in conn.execute("SELECT offset, id FROM purges")]


def index_log(
    log_file: LogFile, start: int, *, trusted_tail: bool, write: WriteIndex, warn: Warn
) -> None:
    """Index the log's records from ``start`` on, in batches; cut a torn tail."""
    batch: list[Record] = []
    size = 0
    end: ScanEnd | None = None
    for item in log_file.scan(start):
        if isinstance(item, ScanEnd):
            end = item
            break
        batch.append(item)
        size += item.size
        if len(batch) >= REINDEX_BATCH or size >= REINDEX_BATCH_BYTES:
            index_records(batch, write)
            batch, size = [], 0
    index_records(batch, write)
    if end is not None and end.torn:
        # Past the index's log_end only unfinished appends can lie: a bad record there is
        # a torn write. Without that knowledge, bad bytes followed by a valid record are
        # damage in the middle of the log, which must never be cut away.
        if not trusted_tail:
            found = log_file.valid_record_after(end.valid_end)
            if found is not None:
                raise StoreCorruptError(
                    f"the log is damaged at offset {end.valid_end} ({end.problem}); "
                    f"valid records follow at offset {found}"
                )
        cut_tail(log_file, end, warn)


_UNFINISHED = ("incomplete record header", "incomplete record")
CUT_SUFFIX = ".cut-"
"""A cut damaged tail is saved as ``entries.log.cut-OFFSET`` before the cut."""
TAIL_CHUNK = 1 << 20
"""The most of a bad tail held in memory at once: a tail is anything from a few torn
bytes to whatever was appended to the file (a batch torn after its first record, zeros
a file system reserved, bytes written there by something else)."""
_NAMING = 70_000
"""Enough of a damaged record's bytes to name the entry it held (a record's header and
entry, and then some)."""


def cut_tail(log_file: LogFile, end: ScanEnd, warn: Warn) -> None:
    """Cut the bad bytes at the end of the log, saying truly what they were.

    Only a record the file ends inside of (or zeros, what a power cut leaves in blocks
    the file system had reserved) is an append that never completed: nothing acknowledged
    was lost. Anything else may be a completed record that was damaged since, so its
    bytes are first saved beside the log, and the warning says so.
    """
    size = end.file_size - end.valid_end
    problem = end.problem or "torn write"
    if problem in _UNFINISHED or all(
        not chunk.strip(b"\x00") for chunk in _chunks(log_file, end.valid_end, size)
    ):
        log_file.truncate(end.valid_end, problem)
        warn(
            f"the last write to the log was interrupted ({problem}); cut {size} bytes. "
            "That write never completed, so no post was lost."
        )
        return
    saved = _cut_path(log_file.path, end.valid_end)
    try:
        atomic_write_chunks(saved, _chunks(log_file, end.valid_end, size), mode=0o600)
        kept = f"its bytes are saved in {saved}"
    except OSError as exc:
        kept = f"its bytes could not be saved ({exc.strerror or exc})"
    named = describe_damaged(log_file.tail(end.valid_end, min(size, _NAMING)))
    log_file.truncate(end.valid_end, problem)
    warn(
        f"the last record of the log is damaged ({problem}): cut {size} bytes at offset "
        f"{end.valid_end}{named}; {kept}. If it was a completed entry, "
        "lndesk fetches it again from peers that hold it when it next syncs."
    )


SEEN = ".seen"
"""What :mod:`lndesk.app.cuts` adds to a saved tail's name once it has dealt with it
(publishing paused for the own entries it held)."""


def _cut_path(log_path: Path, offset: int) -> Path:
    """``entries.log.cut-OFFSET``, unless an earlier damaged tail cut at that offset (a
    bad sector damages what is written there again) was saved under it, dealt with or
    not: then the offset is written with one more leading zero, until the name is new.
    Still all digits, so a saved tail is found (and paused for) as any other."""
    digits = str(offset)
    while True:
        path = log_path.with_name(f"{log_path.name}{CUT_SUFFIX}{digits}")
        if not os.path.lexists(path) and not os.path.lexists(f"{path}{SEEN}"):
            return path
        digits = "0" + digits


def _chunks(log_file: LogFile, start: int, size: int) -> Iterator[bytes]:
    """The ``size`` bytes of the log from ``start`` on, ``TAIL_CHUNK`` at a time."""
    position, end = start, start + size
    while position < end:
        chunk = log_file.tail(position, min(TAIL_CHUNK, end - position))
        if not chunk:
            return
        yield chunk
        position += len(chunk)


def damaged_entry(data: bytes) -> Entry | None:
    """The entry that damaged record bytes still hold, if it can be read (its signature
    is not checked: this only names what was lost)."""
    body = data[8:]
    if len(body) < 12:
        return None
    entry_len = int.from_bytes(body[10:12], "big")
    try:
        return decode_entry(body[12 : 12 + entry_len])
    except (EntryError, ValueError):
        return None


def describe_damaged(data: bytes) -> str:
    """ ", which held entry N of feed K" when damaged record bytes still name their entry."""
    entry = damaged_entry(data)
    if entry is None:
        return ""
    return f", which held entry {entry.seq} of {short_key(entry.author)}"


def index_records(records: Sequence[Record], write: WriteIndex) -> None:
    """Index a run of records (entries and fork proofs) in one write."""
    if not records:
        return
    items = []
    forks = []
    for record in records:
        try:
            entry = decode_entry(record.entry)
        except EntryError as exc:
            raise StoreCorruptError(
                f"the log record at offset {record.offset} holds an unreadable entry: {exc}"
            ) from exc
        if record.kind == KIND_FORK_PROOF:
            forks.append((record.offset, entry))
        else:
            items.append(
                index_item(
                    record.offset, record.received_ms, entry, record.payload, purged=record.purged
                )
            )
    last = records[-1]
    write(items, forks, last.offset + last.size)
