"""``lndesk repair``: salvage a log damaged in the middle.

A purge a crash interrupted is finished first (its journal, as an open of the store
would), so the record it tore is not taken for damage.
Every valid record is kept, in order, in a new log file that replaces the old one only
once it is complete and durable. The damaged byte ranges are moved aside into a file
the user can keep or send (``damaged-<time>.bin`` in the data directory), the index is
rebuilt, and the report says which entries the log held before (as the old index knew
them) and no longer holds, by feed and seq. Entries of followed feeds come back with the
next sync; the caller decides what the own feed's losses mean for publishing.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from lndesk.atomicfile import atomic_write_chunks, first_unused, fsync_directory
from lndesk.entry import decode_entry
from lndesk.errors import EntryError
from lndesk.store.logfile import HEADER_SIZE, KIND_ENTRY, MAGIC, LogFile, Record
from lndesk.store.purge import JOURNAL_NAME, replay_journal
from lndesk.store.recovery import damaged_entry
from lndesk.store.salvage import Damaged, salvage_scan
from lndesk.store.store import INDEX_NAME, LOCK_NAME, LOG_NAME, Store, lock_directory

_COPY_CHUNK = 1 << 20


@dataclass(slots=True)
class RepairReport:
    damaged: list[Damaged] = field(default_factory=list)
    saved: Path | None = None
    """Where the damaged bytes were moved (None: nothing was damaged)."""
    kept: int = 0
    """Valid records kept."""
    lost: dict[bytes, list[int]] = field(default_factory=dict)
    """Entries the old index knew and the repaired log lacks, by feed."""
    known_before: bool = True
    """Whether the old index could be read (if not, ``lost`` cannot be complete)."""
    entries: int = 0
    """Entries in the rebuilt index."""


def repair_store(
    directory: Path,
    *,
    clock: Callable[[], float] = time.time,
    before_replace: Callable[[RepairReport], None] | None = None,
) -> RepairReport:
    """Keep every valid record, move damaged ranges aside, rebuild the index.

    The log is read twice, a record or a chunk at a time (the directory stays locked
    between): once to find the damaged ranges and what the valid records hold, once to
    copy the valid records, so neither the log nor its damage is ever held whole.

    ``before_replace`` is called with the report (``lost`` and ``known_before`` filled
    in) once the new log is durable and before it replaces the old one: what a caller
    must record about the losses (publishing paused for the own feed) is then on disk
    before a crash during the replacement or the index rebuild can leave the losses
    unnamed."""
    report = RepairReport()
    lock = lock_directory(directory / LOCK_NAME)
    try:
        _finish_purge(directory)
        before = _indexed(directory / INDEX_NAME)
        report.known_before = before is not None
        log_file = LogFile(directory / LOG_NAME, read_only=True)
        try:
            after: dict[bytes, set[int]] = {}
            for item in salvage_scan(log_file):
                if isinstance(item, Damaged):
                    report.damaged.append(item)
                else:
                    report.kept += 1
                    _note_held(after, item)
            if not report.damaged:
                return report
            damaged_names = []
            for damaged in report.damaged:
                entry = damaged_entry(log_file.tail(damaged.start, min(damaged.size, 70_000)))
                if entry is not None:
                    damaged_names.append((entry.author, entry.seq))
            report.saved = _damaged_path(directory, clock())
            atomic_write_chunks(report.saved, _damaged_chunks(log_file, report.damaged))
            records = (item for item in salvage_scan(log_file) if isinstance(item, Record))
            _write_log(directory / (LOG_NAME + ".repaired"), log_file, records)
        finally:
            log_file.close()
        report.lost = _lost(before, damaged_names, after)
        if before_replace is not None:
            before_replace(report)
        (directory / (LOG_NAME + ".repaired")).replace(directory / LOG_NAME)
        fsync_directory(directory)
    finally:
        os.close(lock)
    with Store(directory, reindex=True) as store:
        report.entries = store.index.count_entries()
    return report


def _lost(
    before: dict[bytes, set[int]] | None,
    damaged_names: list[tuple[bytes, int]],
    after: dict[bytes, set[int]],
) -> dict[bytes, list[int]]:
    """The entries the old index knew or the damaged bytes still name, and the valid
    records no longer hold, by feed."""
    known = {key: set(seqs) for key, seqs in (before or {}).items()}
    for author, seq in damaged_names:  # what damaged bytes still name, indexed or not
        known.setdefault(author, set()).add(seq)
    lost = {}
    for key, seqs in known.items():
        gone = sorted(seqs - after.get(key, set()))
        if gone:
            lost[key] = gone
    return lost


def _finish_purge(directory: Path) -> None:
    """Finish a purge a crash interrupted, as opening the store does first: a record it
    tore fails its CRC, and is repaired only by the purge's journal; salvaged first, it
    would be moved aside as damage with the entry it still holds."""
    if not os.path.lexists(directory / JOURNAL_NAME):
        return
    log_file = LogFile(directory / LOG_NAME)
    try:
        replay_journal(log_file)
    finally:
        log_file.close()


def _damaged_path(directory: Path, now: float) -> Path:
    """A new ``damaged-<time>.bin`` in ``directory``, never one an earlier repair wrote
    (two repairs in one second, or a clock set back)."""
    stem = time.strftime("damaged-%Y%m%d-%H%M%S", time.gmtime(now))
    names = (f"{stem}-{number}.bin" for number in itertools.count(2))
    path = first_unused(
        itertools.chain([directory / f"{stem}.bin"], map(directory.joinpath, names))
    )
    assert path is not None  # the names never end
    return path


def _damaged_chunks(log_file: LogFile, damaged: Iterable[Damaged]) -> Iterator[bytes]:
    """The bytes of the ``damaged`` ranges, one after another, ``_COPY_CHUNK`` at a time."""
    for item in damaged:
        position = item.start
        while position < item.end:
            chunk = log_file.tail(position, min(_COPY_CHUNK, item.end - position))
            if not chunk:
                raise OSError(f"the log ended at offset {position}, inside a damaged range")
            yield chunk
            position += len(chunk)


def _write_log(path: Path, source: LogFile, records: Iterable[Record]) -> None:
    """A new log (a new log id: the index is rebuilt for it) of ``records``' bytes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        buffer = bytearray(MAGIC + os.urandom(HEADER_SIZE - len(MAGIC)))
        for record in records:
            buffer += source.tail(record.offset, record.size)
            if len(buffer) >= _COPY_CHUNK:
                _write_all(fd, buffer)
                buffer.clear()
        _write_all(fd, buffer)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    os.close(fd)


def _write_all(fd: int, data: bytearray) -> None:
    """Write all of ``data`` (not a copy of it: the views end with the call)."""
    with memoryview(data) as whole:
        written = 0
        while written < len(whole):
            written += os.write(fd, whole[written:])


def _note_held(held: dict[bytes, set[int]], record: Record) -> None:
    """Add the entry ``record`` holds to ``held`` (by feed), if it holds a readable one."""
    if record.kind != KIND_ENTRY:
        return
    try:
        entry = decode_entry(record.entry)
    except EntryError:
        return
    held.setdefault(entry.author, set()).add(entry.seq)


def _indexed(path: Path) -> dict[bytes, set[int]] | None:
    """What the old index says is stored, by feed; None if it cannot be read."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT f.key, e.seq FROM entries e JOIN feeds f ON f.feed = e.feed"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    known: dict[bytes, set[int]] = {}
    for key, seq in rows:
        known.setdefault(bytes(key), set()).add(int(seq))
    return known
