"""Purging payloads from the log in place, made crash-safe by a journal.

When a tombstone takes effect, the payload of the entry it deletes is removed from the
log file (docs/protocol.md, section 14.4): the entry's record is rewritten in place
with the PURGED flag, its payload bytes zeroed and its CRC recomputed. The record keeps
its size, so no offset changes and the index stays valid.

Overwriting a record in the middle of the log is the one write that is not an append:
interrupted, it would leave a record whose CRC fails in the middle of the log, which a
reader must report as damage. So every purge is journalled first:

1. the new bytes of every record to purge are written to ``purge.journal`` (with the
   log's id and a CRC of the whole journal), which is fsync'd, and its directory too;
2. the records are overwritten and the log is fdatasync'd;
3. the journal is deleted.

On open, before the log is scanned, :func:`replay_journal` finishes what a crash
interrupted: a complete journal is applied again (rewriting the same bytes is harmless),
a torn one (a crash in step 1, before any record was touched) is dropped. A purge that
failed in step 2 (a disk error) leaves its journal too: the next purge replays it first.

A journal is a file on the disk like any other, so it is read as one that may have been
damaged or planted: at most ``MAX_JOURNAL_BYTES`` of it (a purge of more records writes
one journal for each ``MAX_JOURNAL_RECORDS``), and each overwrite it names is checked
against the log before any is written. What it may write is what a purge writes: a
record of the log, at its place and of its size, with its entry and its header as they
are, turned into a purged one (the payload zeroed, the PURGED flag, the CRC of that). A
record an interrupted overwrite tore still has all of that but its flag, its CRC and its
payload; anything else is refused, with the journal left in place and nothing written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

from lndesk.atomicfile import fsync_directory
from lndesk.entry import MAX_ENTRY_SIZE, decode_entry
from lndesk.errors import EntryError, StoreCorruptError
from lndesk.regularfile import NotRegularFileError, open_regular
from lndesk.store.logfile import (
    _BODY_HEAD,
    _RECORD_HEAD,
    FLAG_PAYLOAD,
    FLAG_PURGED,
    HEADER_SIZE,
    KIND_ENTRY,
    MAX_BODY,
    LogFile,
    ScanEnd,
    purged_record,
)

log = logging.getLogger(__name__)

JOURNAL_NAME = "purge.journal"
JOURNAL_MAGIC = b"LNDPURG\x01"
_COUNT = struct.Struct(">I")
_ITEM = struct.Struct(">QII")  # offset, size of the record, length of the prefix
_CRC = struct.Struct(">I")

_PREFIX_HEAD = _RECORD_HEAD.size + _BODY_HEAD.size
"""A purged record's bytes before its entry: its length and CRC, kind, flags, received
time and entry length (lndesk.store.logfile)."""
_CRC_AT = slice(4, 8)
_FLAGS_AT = _RECORD_HEAD.size + 1
MAX_JOURNAL_RECORDS = 4096
MAX_JOURNAL_BYTES = (
    len(JOURNAL_MAGIC)
    + 16
    + _COUNT.size
    + MAX_JOURNAL_RECORDS * (_ITEM.size + _PREFIX_HEAD + MAX_ENTRY_SIZE)
    + _CRC.size
)
"""The largest journal a purge writes (about 2.2 MiB); a larger one is refused unread."""

Overwrite = tuple[int, bytes, int]
"""(offset, bytes to write there, size of the record: zeros follow the bytes)."""


def _refused(path: Path, problem: str) -> StoreCorruptError:
    return StoreCorruptError(
        f"the purge journal {path} was not applied: {problem}",
        f"It is not what an interrupted purge leaves, and nothing was written to the log. "
        f"Move it aside (mv {path} {path}.refused) and open the data directory again: the "
        "log is checked as it opens, and the deleted posts still to be removed from it "
        "are removed then.",
    )


def purge_payloads(log_file: LogFile, targets: Sequence[tuple[int, bytes]]) -> int:
    """Purge the payloads of the ENTRY records at these offsets; returns how many.

    ``targets`` are (offset, entry id): a record whose entry is not that entry, or
    that is purged already, is left alone. A record held without its payload (a hole,
    forgotten: :mod:`lndesk.store.forget`) is marked PURGED, its size unchanged.
    """
    # A journal left here by a purge that failed half-way (a disk error, in this process:
    # an open replays it) is the only repair of the records it names: finish it first,
    # before a new journal takes its place.
    replay_journal(log_file)
    overwrites: list[Overwrite] = []
    for offset, entry_id in sorted(set(targets)):
        record = log_file.read(offset)
        if record.kind != KIND_ENTRY or record.purged:
            continue
        try:
            same = decode_entry(record.entry).id == entry_id
        except EntryError:
            same = False
        if not same:
            log.warning("not purging the record at offset %d: it holds another entry", offset)
            continue
        prefix, size = purged_record(record)
        overwrites.append((offset, prefix, size))
    journal = log_file.path.parent / JOURNAL_NAME
    for first in range(0, len(overwrites), MAX_JOURNAL_RECORDS):
        some = overwrites[first : first + MAX_JOURNAL_RECORDS]
        _write_journal(journal, log_file.log_id, some)
        _apply(log_file, some)
        _remove(journal)
    return len(overwrites)


def replay_journal(log_file: LogFile) -> int:
    """Finish a purge a crash interrupted. Returns the number of records rewritten."""
    journal = log_file.path.parent / JOURNAL_NAME
    try:
        with open_regular(journal) as file:
            data = file.read(MAX_JOURNAL_BYTES + 1)
    except FileNotFoundError:
        return 0
    except NotRegularFileError as exc:
        raise _refused(journal, str(exc)) from exc
    if len(data) > MAX_JOURNAL_BYTES:
        raise _refused(journal, f"it is larger than the {MAX_JOURNAL_BYTES} bytes a purge writes")
    overwrites = _parse_journal(data, log_file.log_id)
    if overwrites is None:
        # Torn while it was being written: no record had been touched yet.
        log.warning("dropping a purge journal that was not completely written")
        _remove(journal)
        return 0
    if len(overwrites) > MAX_JOURNAL_RECORDS:
        raise _refused(
            journal, f"it names more than the {MAX_JOURNAL_RECORDS} records a purge does"
        )
    for offset, prefix, size in overwrites:
        problem = _overwrite_problem(log_file, offset, prefix, size)
        if problem is not None:
            raise _refused(journal, problem)
    starts, stopped = _record_starts(log_file, {offset: size for offset, _, size in overwrites})
    for offset, _, _ in overwrites:
        if offset not in starts:
            problem = f"no record of the log begins at offset {offset}"
            if stopped is not None and stopped.valid_end < offset:
                problem += (
                    f" (its records could be read only up to offset {stopped.valid_end}: "
                    f"{stopped.problem or 'the log ends there'})"
                )
            raise _refused(journal, problem)
    _apply(log_file, overwrites)
    _remove(journal)
    log.warning("finished purging %d deleted payloads after an interruption", len(overwrites))
    return len(overwrites)


def _overwrite_problem(log_file: LogFile, offset: int, prefix: bytes, size: int) -> str | None:
    """What is wrong with writing ``prefix`` and zeros up to ``size`` at ``offset`` to
    finish a purge (None: nothing; see the module's docstring)."""
    where = f"the record it names at offset {offset}"
    if offset < HEADER_SIZE or offset + size > log_file.end:
        return f"{where} is outside the log, which ends at {log_file.end}"
    if not _PREFIX_HEAD <= len(prefix) <= size <= _RECORD_HEAD.size + MAX_BODY:
        return f"{where} has an impossible size"
    length, crc = _RECORD_HEAD.unpack_from(prefix)
    kind, flags, _, entry_length = _BODY_HEAD.unpack_from(prefix, _RECORD_HEAD.size)
    if (
        length != size - _RECORD_HEAD.size
        or (kind, flags) != (KIND_ENTRY, FLAG_PURGED)
        or entry_length != len(prefix) - _PREFIX_HEAD
        or crc != zlib.crc32(bytes(size - len(prefix)), zlib.crc32(prefix[_RECORD_HEAD.size :]))
    ):
        return f"{where} would not be a purged record"
    held = log_file.tail(offset, len(prefix))
    if (
        len(held) != len(prefix)
        or held[_FLAGS_AT] not in (0, FLAG_PAYLOAD, FLAG_PURGED)
        or _without_crc_and_flags(held) != _without_crc_and_flags(prefix)
    ):
        return f"{where} is not the log's record there"
    return None


def _record_starts(log_file: LogFile, sizes: dict[int, int]) -> tuple[set[int], ScanEnd | None]:
    """Which of the offsets in ``sizes`` begin a record of the log, found by walking its
    records from the first: bytes inside a record (a payload is a peer's bytes) can look
    like a record. A record a purge tore ends the walk's scan; one the journal names (its
    bytes were checked against it) is stepped over by its size, which a purge keeps. Also
    where the walk stopped short of the last offset (damage, or the log's end), if it did."""
    found: set[int] = set()
    last = max(sizes)
    position = HEADER_SIZE
    while True:
        end: ScanEnd | None = None
        for item in log_file.scan(position):
            if isinstance(item, ScanEnd):
                end = item
                break
            if item.offset in sizes:
                found.add(item.offset)
            if item.offset >= last:
                return found, None
        if end is None or not end.torn or end.valid_end not in sizes:
            return found, end
        found.add(end.valid_end)
        position = end.valid_end + sizes[end.valid_end]


def _without_crc_and_flags(record: bytes) -> bytes:
    """A record's bytes up to the end of its entry but its CRC and flags: what a purge
    leaves as it was, and so what a record it tore still holds."""
    return record[: _CRC_AT.start] + record[_CRC_AT.stop : _FLAGS_AT] + record[_FLAGS_AT + 1 :]


def _apply(log_file: LogFile, overwrites: Sequence[Overwrite]) -> None:
    for offset, prefix, size in overwrites:
        log_file.overwrite(offset, prefix, size)
    log_file.sync()


def _write_journal(path: Path, log_id: bytes, overwrites: Sequence[Overwrite]) -> None:
    parts = [JOURNAL_MAGIC, log_id, _COUNT.pack(len(overwrites))]
    for offset, prefix, size in overwrites:
        parts += [_ITEM.pack(offset, size, len(prefix)), prefix]
    body = b"".join(parts)
    data = body + _CRC.pack(zlib.crc32(body))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        written = 0
        while written < len(data):
            written += os.write(fd, view[written:])
        os.fsync(fd)
    finally:
        os.close(fd)
    # The journal must survive a power cut before any record is touched.
    fsync_directory(path.parent)


def _parse_journal(data: bytes, log_id: bytes) -> list[Overwrite] | None:
    """The journal's overwrites, or None if it is torn or not this log's."""
    head = len(JOURNAL_MAGIC) + len(log_id) + _COUNT.size
    if len(data) < head + _CRC.size or not data.startswith(JOURNAL_MAGIC):
        return None
    body, (crc,) = data[: -_CRC.size], _CRC.unpack(data[-_CRC.size :])
    if zlib.crc32(body) != crc:
        return None
    if body[len(JOURNAL_MAGIC) : len(JOURNAL_MAGIC) + len(log_id)] != log_id:
        log.warning("the purge journal belongs to another log; ignoring it")
        return None
    (count,) = _COUNT.unpack_from(body, head - _COUNT.size)
    overwrites = []
    position = head
    for _ in range(count):
        if position + _ITEM.size > len(body):
            return None
        offset, size, length = _ITEM.unpack_from(body, position)
        position += _ITEM.size
        prefix = body[position : position + length]
        position += length
        if len(prefix) != length or length > size:
            return None
        overwrites.append((offset, prefix, size))
    return overwrites if position == len(body) else None


def _remove(path: Path) -> None:
    # A journal that reappears after a power cut is applied again, which is harmless.
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
