"""The append-only log file: the source of truth for everything stored.

Layout (docs/protocol.md, section "Local log file"): a 24-byte header (8-byte magic,
16-byte random log id), then records. A record is ``u32 body length, u32 CRC-32 of
the body`` (big-endian) followed by the body::

    u8 kind, u8 flags, u64 received_ms, u16 entry length, entry bytes, payload bytes

``kind`` is ENTRY (an entry of some author's log) or FORK_PROOF (a second, conflicting
entry kept as proof of a fork). ``flags`` bit 0 says whether the payload is present;
bit 1 (PURGED) that the payload was removed after a tombstone: its bytes were
overwritten with zeros in place, so that no record moves (see :mod:`lndesk.store.purge`).

Appends are written in one ``write`` and made durable with ``fdatasync`` before they
return. A power cut can leave a torn last record; :meth:`LogFile.scan` reports where
the valid records end, and :meth:`LogFile.truncate` cuts a torn tail off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lndesk.atomicfile import fsync_directory
from lndesk.entry import MAX_ENTRY_SIZE, MAX_PAYLOAD_SIZE, Entry
from lndesk.errors import StoreCorruptError

log = logging.getLogger(__name__)

MAGIC = b"LNDLOG\x00\x01"
HEADER_SIZE = len(MAGIC) + 16
KIND_ENTRY = 1
KIND_FORK_PROOF = 2
FLAG_PAYLOAD = 1
FLAG_PURGED = 2
_RECORD_HEAD = struct.Struct(">II")
_BODY_HEAD = struct.Struct(">BBQH")
MAX_BODY = _BODY_HEAD.size + MAX_ENTRY_SIZE + MAX_PAYLOAD_SIZE
_SCAN_CHUNK = 1 << 20
_SPAN = 1 << 18
"""The most bytes :meth:`LogFile.read_run` reads in one ``pread``."""
_GAP = 1 << 13
"""How far apart two records :meth:`LogFile.read_run` reads in one ``pread`` may start:
records further apart (large payloads, other feeds' records between) are read alone, so
no read takes much more than the records it is for."""


@dataclass(slots=True)
class Record:
    offset: int
    kind: int
    received_ms: int
    entry: bytes
    payload: bytes | None
    purged: bool = False
    """The payload was removed after a tombstone (``payload`` is None)."""
    padding: int = 0
    """Zero bytes left where a purged payload was."""

    @property
    def size(self) -> int:
        return _record_size(len(self.entry), self.payload) + self.padding


def _record_size(entry_len: int, payload: bytes | None) -> int:
    return _RECORD_HEAD.size + _BODY_HEAD.size + entry_len + (len(payload) if payload else 0)


def encode_record(
    kind: int, received_ms: int, entry: bytes, payload: bytes | None, *, purged: bool = False
) -> bytes:
    """``purged``: the payload is absent because a tombstone deleted it (no zeros follow)."""
    flags = FLAG_PAYLOAD if payload is not None else FLAG_PURGED if purged else 0
    body = _BODY_HEAD.pack(kind, flags, received_ms, len(entry)) + entry + (payload or b"")
    return _RECORD_HEAD.pack(len(body), zlib.crc32(body)) + body


def encode_entry_records(
    received_ms: int,
    entries: Sequence[tuple[Entry, bytes | None]],
    purged: Collection[int] = (),
) -> list[bytes]:
    """:func:`encode_record` of ENTRY records of (entry, payload), all received at
    ``received_ms``, those at the positions ``purged`` without their payloads and
    purged: the same bytes, in one pass over a batch. The body's head is packed once
    per entry length (a batch's entries have a few lengths at most)."""
    pack_body = _BODY_HEAD.pack
    pack_head = _RECORD_HEAD.pack
    crc32 = zlib.crc32
    heads: dict[int, bytes] = {}
    records: list[bytes] = []
    append = records.append
    for number, (entry, payload) in enumerate(entries):
        raw = entry.raw
        if payload is not None and number not in purged:
            head = heads.get(len(raw))
            if head is None:
                head = heads[len(raw)] = pack_body(KIND_ENTRY, FLAG_PAYLOAD, received_ms, len(raw))
            body = head + raw + payload
        else:
            flags = FLAG_PURGED if number in purged else 0
            body = pack_body(KIND_ENTRY, flags, received_ms, len(raw)) + raw
        append(pack_head(len(body), crc32(body)) + body)
    return records


def purged_record(record: Record) -> tuple[bytes, int]:
    """``record`` with its payload purged: (the record's bytes up to the end of its
    entry, the record's whole size). The rest of the record, where the payload was, is
    zeros; the record keeps its size, so no offset in the log changes."""
    padding = len(record.payload or b"") + record.padding
    head = _BODY_HEAD.pack(record.kind, FLAG_PURGED, record.received_ms, len(record.entry))
    crc = zlib.crc32(bytes(padding), zlib.crc32(head + record.entry))
    length = len(head) + len(record.entry) + padding
    prefix = _RECORD_HEAD.pack(length, crc) + head + record.entry
    return prefix, _RECORD_HEAD.size + length


def _decode_body(offset: int, body: bytes) -> Record:
    kind, flags, received_ms, entry_len = _BODY_HEAD.unpack_from(body)
    start = _BODY_HEAD.size
    entry = body[start : start + entry_len]
    if kind not in (KIND_ENTRY, KIND_FORK_PROOF) or len(entry) != entry_len:
        raise ValueError("bad record body")
    if flags & FLAG_PURGED:
        if flags & FLAG_PAYLOAD:
            raise ValueError("a record both with its content and purged")
        padding = len(body) - start - entry_len
        if body.count(0, start + entry_len) != padding:
            raise ValueError("a purged record whose content was not zeroed")
        return Record(offset, kind, received_ms, entry, None, True, padding)
    payload = body[start + entry_len :] if flags & FLAG_PAYLOAD else None
    if payload is None and len(body) != start + entry_len:
        raise ValueError("bytes after an entry whose record has no content")
    return Record(offset, kind, received_ms, entry, payload)


@dataclass(frozen=True, slots=True)
class ScanEnd:
    """Where a scan stopped: ``valid_end`` is the end of the last good record."""

    valid_end: int
    file_size: int
    problem: str | None = None

    @property
    def torn(self) -> bool:
        return self.valid_end < self.file_size


class LogFile:
    """One open log file. Not thread-safe: the store serialises access."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        """Opened for reading only: appends fail, and a bad tail is ignored, not cut."""
        created = not path.exists()
        if read_only:
            self._fd = os.open(path, os.O_RDONLY)
        else:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not read_only and (created or os.fstat(self._fd).st_size == 0):
                self.log_id = os.urandom(16)
                os.write(self._fd, MAGIC + self.log_id)
                os.fsync(self._fd)
                fsync_directory(path.parent)
            else:
                header = os.pread(self._fd, HEADER_SIZE, 0)
                if len(header) != HEADER_SIZE or header[: len(MAGIC)] != MAGIC:
                    raise StoreCorruptError(f"{path} is not an lndesk log file")
                self.log_id = header[len(MAGIC) :]
            self._end = os.fstat(self._fd).st_size
        except BaseException:
            os.close(self._fd)
            raise

    @property
    def end(self) -> int:
        """Offset just past the last byte written."""
        return self._end

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def append(self, records: list[bytes]) -> list[int]:
        """Append encoded records durably; return their offsets."""
        offsets = []
        position = self._end
        for record in records:
            offsets.append(position)
            position += len(record)
        data = b"".join(records)
        view = memoryview(data)
        written_total = 0
        try:
            while written_total < len(data):
                written_total += os.pwrite(
                    self._fd, view[written_total:], self._end + written_total
                )
            os.fdatasync(self._fd)
        except BaseException:
            # Not appended: take back whatever part of it reached the file, so that no
            # unacknowledged record can surface later (the next append writes here).
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._end)
            raise
        self._end = position
        return offsets

    def read(self, offset: int) -> Record:
        head = os.pread(self._fd, _RECORD_HEAD.size, offset)
        if len(head) != _RECORD_HEAD.size:
            raise StoreCorruptError(f"no log record at offset {offset}")
        length, crc = _RECORD_HEAD.unpack(head)
        body = os.pread(self._fd, length, offset + _RECORD_HEAD.size) if length <= MAX_BODY else b""
        if len(body) != length or zlib.crc32(body) != crc:
            raise StoreCorruptError(f"the log record at offset {offset} is damaged")
        try:
            return _decode_body(offset, body)
        except (ValueError, struct.error) as exc:
            raise StoreCorruptError(f"the log record at offset {offset} is damaged") from exc

    def read_run(
        self, offsets: Sequence[int], first: int, max_bytes: int
    ) -> list[tuple[int, bytes, bytes | None]]:
        """(number, entry, payload) of the records at ``offsets``, numbered from ``first``
        in order: what :meth:`read` gives of each, up to the record that would take the
        entries and payloads past ``max_bytes`` (the first is always read).

        A feed's records are mostly near one another in the log (a batch is appended in
        one write), so the records of ``offsets`` within ``_GAP`` of one another are read
        with one ``pread`` of up to ``_SPAN`` bytes and taken from it: two ``pread`` calls
        and a Record a record were a third of what serving an entry cost. A record that
        is not whole in what was read, fails its checksum or is not a plain record with
        its payload is read again by :meth:`read`, which raises what it raises."""
        run: list[tuple[int, bytes, bytes | None]] = []
        append = run.append
        unpack_head, unpack_body = _RECORD_HEAD.unpack_from, _BODY_HEAD.unpack_from
        head_size, body_head = _RECORD_HEAD.size, _BODY_HEAD.size
        crc32 = zlib.crc32
        count, size, at = len(offsets), 0, 0
        while at < count and (not run or size <= max_bytes):
            start = offsets[at]
            stop = at + 1
            while (
                stop < count
                and 0 < offsets[stop] - offsets[stop - 1] <= _GAP
                and offsets[stop] - start < _SPAN
            ):
                stop += 1
            if stop - at == 1:
                record = self.read(start)
                size += len(record.entry) + len(record.payload or b"")
                if run and size > max_bytes:
                    break
                append((first + at, record.entry, record.payload))
                at = stop
                continue
            # The last record's length is unknown: read as far past its start as the
            # one before it took. No record taken from the read is longer than _GAP
            # (so none is over MAX_BODY, which read() refuses).
            last = offsets[stop - 1]
            buffer = os.pread(self._fd, last - start + last - offsets[stop - 2], start)
            view = memoryview(buffer)
            held = len(buffer)
            for number in range(at, stop):
                rel = offsets[number] - start
                body = rel + head_size
                if body + body_head <= held:
                    length, crc = unpack_head(buffer, rel)
                    end = body + length
                    kind, flags, _, entry_len = unpack_body(buffer, body)
                    split = body + body_head + entry_len
                    if (
                        flags == FLAG_PAYLOAD
                        and split <= end <= held
                        and kind in (KIND_ENTRY, KIND_FORK_PROOF)
                        and crc32(view[body:end]) == crc
                    ):
                        size += length - body_head
                        if run and size > max_bytes:
                            break
                        append(
                            (first + number, buffer[body + body_head : split], buffer[split:end])
                        )
                        continue
                record = self.read(offsets[number])
                size += len(record.entry) + len(record.payload or b"")
                if run and size > max_bytes:
                    break
                append((first + number, record.entry, record.payload))
            view.release()
            at = stop
        return run

    def scan(self, start: int | None = None) -> Iterator[Record | ScanEnd]:
        """Yield every valid record from ``start``, then one ScanEnd saying where they end."""
        offset = HEADER_SIZE if start is None else start
        file_size = os.fstat(self._fd).st_size
        buffer = b""
        buffer_at = offset
        while True:
            if offset >= file_size:
                yield ScanEnd(offset, file_size)
                return
            rel = offset - buffer_at
            if len(buffer) - rel < _RECORD_HEAD.size + MAX_BODY:
                buffer = buffer[rel:] + os.pread(
                    self._fd, _SCAN_CHUNK + MAX_BODY, buffer_at + len(buffer)
                )
                buffer_at = offset
                rel = 0
            if len(buffer) - rel < _RECORD_HEAD.size:
                yield ScanEnd(offset, file_size, "incomplete record header")
                return
            length, crc = _RECORD_HEAD.unpack_from(buffer, rel)
            body_start = rel + _RECORD_HEAD.size
            body = buffer[body_start : body_start + length]
            if length > MAX_BODY or length < _BODY_HEAD.size:
                yield ScanEnd(offset, file_size, "impossible record length")
                return
            if len(body) != length:
                yield ScanEnd(offset, file_size, "incomplete record")
                return
            if zlib.crc32(body) != crc:
                yield ScanEnd(offset, file_size, "record checksum mismatch")
                return
            try:
                record = _decode_body(offset, body)
            except (ValueError, struct.error):
                yield ScanEnd(offset, file_size, "malformed record")
                return
            yield record
            offset += _RECORD_HEAD.size + length

    def valid_record_after(self, offset: int) -> int | None:
        """The offset of a valid record starting anywhere after ``offset``, if there is one.

        Tells damage in the middle of the log (a valid record follows the bad bytes) from
        a torn last write (nothing valid follows). Random bytes pass for a record with a
        chance of about one in 2^47 per position (length range and CRC-32).
        """
        file_size = os.fstat(self._fd).st_size
        position = offset + 1
        while position + _RECORD_HEAD.size <= file_size:
            chunk = os.pread(self._fd, _SCAN_CHUNK + _RECORD_HEAD.size + MAX_BODY, position)
            limit = min(_SCAN_CHUNK, len(chunk) - _RECORD_HEAD.size + 1)
            for at in range(max(limit, 0)):
                length, crc = _RECORD_HEAD.unpack_from(chunk, at)
                if not _BODY_HEAD.size <= length <= MAX_BODY:
                    continue
                body = chunk[at + _RECORD_HEAD.size : at + _RECORD_HEAD.size + length]
                if len(body) == length and zlib.crc32(body) == crc:
                    try:
                        _decode_body(position + at, body)
                    except (ValueError, struct.error):
                        continue
                    return position + at
            position += _SCAN_CHUNK
        return None

    def overwrite(self, offset: int, prefix: bytes, size: int) -> None:
        """Write ``prefix`` then zeros up to ``size`` bytes at ``offset``, inside the log.

        Only for purging (:mod:`lndesk.store.purge`), which journals the write first: an
        interrupted overwrite leaves a damaged record that only the journal can repair.
        Not durable until :meth:`sync`.
        """
        if offset < HEADER_SIZE or offset + size > self._end or len(prefix) > size:
            raise ValueError(f"an overwrite of {size} bytes at {offset} is outside the log")
        data = memoryview(prefix + bytes(size - len(prefix)))
        written = 0
        while written < size:
            written += os.pwrite(self._fd, data[written:], offset + written)

    def sync(self) -> None:
        os.fdatasync(self._fd)

    def tail(self, offset: int, limit: int = _RECORD_HEAD.size + MAX_BODY) -> bytes:
        """Up to ``limit`` bytes of the log from ``offset`` on (to save a tail before a cut)."""
        return os.pread(self._fd, limit, offset)

    def truncate(self, offset: int, reason: str) -> None:
        """Cut a torn tail off at ``offset`` (never below the header). Read-only: the
        tail is only left out of what this LogFile reads."""
        offset = max(offset, HEADER_SIZE)
        if self.read_only:
            self._end = min(self._end, offset)
            return
        lost = os.fstat(self._fd).st_size - offset
        log.warning("log %s: cut %d bytes at offset %d (%s)", self.path.name, lost, offset, reason)
        os.ftruncate(self._fd, offset)
        os.fsync(self._fd)
        self._end = offset
