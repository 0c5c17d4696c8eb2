"""The backup file written by ``lndesk export``: my key file and my whole log.

Deterministic CBOR map (docs/protocol.md, section "Backup file")::

    {"format": "lndesk-backup", "version": 1, "key": bstr, "feed": bstr32,
     "entries": [[entry bstr, payload bstr / null], ...]}

``key`` is the key file exactly as stored (sealed if it was sealed). Entries are in
sequence order. Importing authenticates every entry like any received entry.

A backup may be any file a person was handed, so it is read as a stream, never whole:
:func:`read_backup_file` walks the file once, checking every head and size against the
bounds of section 15 while skipping the bytes of entries and payloads, and only then
returns. Its ``entries`` are read from the file again, one at a time and checked the
same way, each time they are iterated. A file that breaks a bound is refused before
anything of it is used, in at most a few reads per entry and without holding more
than one entry.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lndesk import canonical
from lndesk.entry import MAX_ENTRY_SIZE, MAX_PAYLOAD_SIZE
from lndesk.errors import BackupFileError
from lndesk.keyfile import MAX_KEY_FILE
from lndesk.regularfile import open_regular

FORMAT = "lndesk-backup"
VERSION = 1
MAX_BACKUP_ENTRIES = 10_000_000
"""Entries a backup may hold: a hundred posts a day for over 250 years."""
_FEED_BYTES = 32
_NULL = 0xF6
_CHUNK = 1 << 16
_KEYS = ("key", "feed", "format", "entries", "version")
"""The map's keys in their deterministic order (shorter first, then bytewise)."""
_SMALLEST_ITEM = 3
"""Bytes of the smallest element of ``entries``: ``82 40 f6`` (an empty entry, null)."""

Opener = Callable[[], BinaryIO]


@dataclass(frozen=True, slots=True)
class Backup:
    key_file: bytes
    feed: bytes
    entries: BackupEntries


def encode_backup(
    key_file: bytes, feed: bytes, entries: Iterable[tuple[bytes, bytes | None]]
) -> bytes:
    return canonical.encode(
        {
            "format": FORMAT,
            "version": VERSION,
            "key": key_file,
            "feed": feed,
            "entries": [[entry, payload] for entry, payload in entries],
        }
    )


def decode_backup(data: bytes) -> Backup:
    """The backup held in ``data`` (BackupFileError when it is none)."""
    return read_backup_file(lambda: io.BytesIO(data))


def open_backup(path: Path) -> Backup:
    """The backup file at ``path``, checked to its end (BackupFileError when it is none;
    OSError when it cannot be read, or is not a regular file: a named pipe is refused,
    never waited on)."""
    return read_backup_file(lambda: open_regular(path))


def read_backup_file(opener: Opener) -> Backup:
    """The backup in the file ``opener`` opens, its structure checked to the end."""
    with opener() as file:
        reader = _Reader(file)
        major, fields = reader.head("the file")
        if major != 5 or fields != len(_KEYS):
            raise BackupFileError("this is not an lndesk backup: it is not a map of 5 fields")
        reader.key("key")
        key_file = reader.byte_string(MAX_KEY_FILE, "the key file")
        reader.key("feed")
        feed = reader.byte_string(_FEED_BYTES, "the feed's key")
        if len(feed) != _FEED_BYTES:
            raise _damaged("the feed's key is not 32 bytes")
        reader.key("format")
        if reader.text(len(FORMAT)) != FORMAT:
            raise BackupFileError("this is not an lndesk backup")
        reader.key("entries")
        major, count = reader.head("the entries")
        if major != 4:
            raise _damaged("its entries are not a list")
        if count > MAX_BACKUP_ENTRIES:
            raise _damaged(f"it says it holds {count} entries, over {MAX_BACKUP_ENTRIES}")
        if count * _SMALLEST_ITEM > reader.left():
            raise _damaged(f"it says it holds {count} entries, more than its size leaves room for")
        offset = reader.position
        for index in range(count):
            reader.skip_item(index)
        reader.key("version")
        major, version = reader.head("the version")
        if major != 0 or version != VERSION:
            raise BackupFileError(
                f"backup version {version!r} is not supported by this lndesk",
                "Upgrade lndesk to open this backup.",
            )
        if reader.left():
            raise _damaged(f"{reader.left()} bytes follow the backup")
        return Backup(key_file, feed, BackupEntries(opener, offset, count, reader.size))


class BackupEntries:
    """The ``[entry, payload]`` pairs of a checked backup file, read from the file again
    each time they are iterated, one pair at a time (never all held at once)."""

    def __init__(self, opener: Opener, offset: int, count: int, size: int) -> None:
        self._opener = opener
        self._offset = offset
        self._count = count
        self._size = size

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple[bytes, bytes | None]]:
        try:
            with self._opener() as file:
                reader = _Reader(file)
                if reader.size != self._size:
                    raise BackupFileError(
                        "the backup file changed while it was imported",
                        "Leave it unchanged, then run lndesk import again: what was "
                        "imported already is kept, and is not imported twice.",
                    )
                reader.seek(self._offset)
                for index in range(self._count):
                    yield reader.read_item(index)
        except OSError as exc:
            raise BackupFileError(
                f"the backup file could not be read again: {exc.strerror or exc}",
                "Check that it is still there, then run lndesk import again: what was "
                "imported already is kept, and is not imported twice.",
            ) from exc


def _damaged(problem: str) -> BackupFileError:
    return BackupFileError(f"the backup file is damaged: {problem}")


class _Reader:
    """Heads and strings of deterministic CBOR read from a file, each bounded before its
    bytes are read; the file is read in chunks of :data:`_CHUNK` bytes at most (or one
    bounded string), and long runs of skipped bytes are seeked past, never read."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.size = file.seek(0, os.SEEK_END)
        file.seek(0)
        self._buf = b""
        self._at = 0
        self._base = 0
        """The offset in the file of ``_buf[0]``."""

    @property
    def position(self) -> int:
        return self._base + self._at

    def left(self) -> int:
        return self.size - self._base - self._at

    def seek(self, offset: int) -> None:
        self._file.seek(offset)
        self._buf, self._at, self._base = b"", 0, offset

    def _take(self, length: int, what: str) -> bytes:
        at = self._at
        end = at + length
        if end <= len(self._buf):
            self._at = end
            return self._buf[at:end]
        if length > self.left():  # never read (or allocate) past what the file holds
            raise _damaged(f"it ends inside {what}")
        rest = self._buf[at:]
        self._base += at
        self._buf = rest + self._file.read(max(_CHUNK, length - len(rest)))
        if len(self._buf) < length:
            raise _damaged(f"it ends inside {what}")
        self._at = length
        return self._buf[:length]

    def _skip(self, length: int, what: str) -> None:
        if length > self.left():
            raise _damaged(f"it ends inside {what}")
        at = self._at + length
        if at <= len(self._buf):
            self._at = at
        else:
            self.seek(self._base + at)

    def head(self, what: str, first: int | None = None) -> tuple[int, int]:
        """(major type, argument) of the next item's head, in its shortest form."""
        if first is None:
            if self._at < len(self._buf):
                first = self._buf[self._at]
                self._at += 1
            else:
                first = self._take(1, what)[0]
        major, info = first >> 5, first & 0x1F
        if info < 24:
            return major, info
        if info > 27 or major >= 6:
            raise _damaged(f"{what} is not deterministic CBOR")
        size = 1 << (info - 24)
        argument = int.from_bytes(self._take(size, what), "big")
        if argument < (24 if size == 1 else 1 << (4 * size)):
            raise _damaged(f"{what} is not deterministic CBOR (a longer head than needed)")
        return major, argument

    def key(self, name: str) -> None:
        major, length = self.head(f"the field {name!r}")
        if major != 3 or length != len(name) or self._take(length, name) != name.encode():
            raise BackupFileError(f"this is not an lndesk backup: no field {name!r} where due")

    def text(self, limit: int) -> str | None:
        major, length = self.head("the format")
        if major != 3 or length > limit:
            return None
        return self._take(length, "the format").decode("utf-8", "replace")

    def _length(self, limit: int, what: str, first: int | None = None) -> int:
        """The length of the next byte string, refused over ``limit``."""
        major, length = self.head(what, first)
        if major != 2:
            raise _damaged(f"{what} is not a byte string")
        if length > limit:
            raise _damaged(f"{what} holds {length} bytes, over the {limit} it can hold")
        return length

    def byte_string(self, limit: int, what: str, first: int | None = None) -> bytes:
        return self._take(self._length(limit, what, first), what)

    def _pair_head(self, index: int) -> str:
        what = f"entry {index + 1}"
        major, length = self.head(what)
        if major != 4 or length != 2:
            raise _damaged(f"{what} is not a pair of an entry and its payload")
        return what

    def skip_item(self, index: int) -> None:
        """Check element ``index`` of ``entries`` and skip its bytes."""
        what = self._pair_head(index)
        self._skip(self._length(MAX_ENTRY_SIZE, what), what)
        first = self._take(1, f"the payload of {what}")[0]
        if first != _NULL:
            payload = f"the payload of {what}"
            self._skip(self._length(MAX_PAYLOAD_SIZE, payload, first), payload)

    def read_item(self, index: int) -> tuple[bytes, bytes | None]:
        """Element ``index`` of ``entries``, checked."""
        what = self._pair_head(index)
        entry = self.byte_string(MAX_ENTRY_SIZE, what)
        first = self._take(1, f"the payload of {what}")[0]
        if first == _NULL:
            return entry, None
        return entry, self.byte_string(MAX_PAYLOAD_SIZE, f"the payload of {what}", first)
