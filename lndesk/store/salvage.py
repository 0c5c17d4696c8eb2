"""Reading every valid record of a log, across damaged ranges.

A plain scan stops at the first bad record. Damage in the middle of the log (a flipped
byte, a bad sector) must not hide the valid records after it: this scan skips to the
next valid record and reports each damaged range, for ``lndesk verify``, ``export`` and
``repair``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lndesk.entry import decode_entry
from lndesk.errors import EntryError
from lndesk.store.logfile import KIND_ENTRY, LogFile, Record, ScanEnd


@dataclass(frozen=True, slots=True)
class Damaged:
    """Bytes ``start`` to ``end`` of the log hold no valid record. ``end`` is the file's
    size when nothing valid follows (a torn or damaged tail)."""

    start: int
    end: int
    problem: str

    @property
    def size(self) -> int:
        return self.end - self.start


def salvage_scan(log_file: LogFile, start: int | None = None) -> Iterator[Record | Damaged]:
    """Every valid record in log order, with a Damaged item for each range between.

    A record whose CRC holds but whose entry cannot be read is a Damaged item of its
    own: opening the store refuses it (the index cannot be built past it), so it must
    be what ``lndesk repair`` moves aside, or its advice would be followed in vain."""
    offset = start
    while True:
        end: ScanEnd | None = None
        for item in log_file.scan(offset):
            if isinstance(item, ScanEnd):
                end = item
                break
            problem = _unreadable(item)
            yield (
                item if problem is None else Damaged(item.offset, item.offset + item.size, problem)
            )
        if end is None or not end.torn:
            return
        found = log_file.valid_record_after(end.valid_end)
        stop = end.file_size if found is None else found
        yield Damaged(end.valid_end, stop, end.problem or "damaged")
        if found is None:
            return
        offset = found


def _unreadable(record: Record) -> str | None:
    """Why ``record``'s entry cannot be read (None: it can)."""
    try:
        decode_entry(record.entry)
    except EntryError as exc:
        return f"a record whose entry cannot be read: {exc}"
    return None


def own_items(path: Path, key: bytes) -> list[tuple[bytes, bytes | None]]:
    """(entry, payload) of every valid record of ``key``'s feed in the log at ``path``,
    in sequence order, the first entry at each position (with its payload if any record
    of it has one); read-only, without the index.
    A missing log holds nothing."""
    if not path.is_file():
        return []
    log_file = LogFile(path, read_only=True)
    try:
        found: dict[int, tuple[bytes, bytes | None]] = {}
        for item in salvage_scan(log_file):
            if isinstance(item, Damaged) or item.kind != KIND_ENTRY:
                continue
            try:
                entry = decode_entry(item.entry)
            except EntryError:
                continue
            if entry.author != key:
                continue
            held = found.get(entry.seq)
            # The first record at a position wins; a later record of the same entry
            # (its payload, filled in after it was held without) completes it.
            if held is None or (held[1] is None and held[0] == item.entry):
                found[entry.seq] = (item.entry, item.payload)
        return [found[seq] for seq in sorted(found)]
    finally:
        log_file.close()
