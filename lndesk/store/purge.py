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
from lndesk.entry import decode_entry
from lndesk.errors import EntryError, StoreCorruptError
from lndesk.store.logfile import KIND_ENTRY, LogFile, purged_record

log = logging.getLogger(__name__)

JOURNAL_NAME = "purge.journal"
JOURNAL_MAGIC = b"LNDPURG\x01"
_COUNT = struct.Struct(">I")
_ITEM = struct.Struct(">QII")  # offset, size of the record, length of the prefix
_CRC = struct.Struct(">I")

Overwrite = tuple[int, bytes, int]
"""(offset, bytes to write there, size of the record: zeros follow the bytes)."""


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
    if not overwrites:
        return 0
    journal = log_file.path.parent / JOURNAL_NAME
    _write_journal(journal, log_file.log_id, overwrites)
    _apply(log_file, overwrites)
    _remove(journal)
    return len(overwrites)


def replay_journal(log_file: LogFile) -> int:
    """Finish a purge a crash interrupted. Returns the number of records rewritten."""
    journal = log_file.path.parent / JOURNAL_NAME
    try:
        data = journal.read_bytes()
    except FileNotFoundError:
        return 0
    overwrites = _parse_journal(data, log_file.log_id)
    if overwrites is None:
        # Torn while it was being written: no record had been touched yet.
        log.warning("dropping a purge journal that was not completely written")
        _remove(journal)
        return 0
    for offset, _, size in overwrites:
        if offset + size > log_file.end:
            raise StoreCorruptError(
                f"the purge journal names a record at offset {offset} past the end of the log"
            )
    _apply(log_file, overwrites)
    _remove(journal)
    log.warning("finished purging %d deleted payloads after an interruption", len(overwrites))
    return len(overwrites)


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
