"""The backup file written by ``lndesk export``: my key file and my whole log.

Deterministic CBOR map (docs/protocol.md, section "Backup file")::

    {"format": "lndesk-backup", "version": 1, "key": bstr, "feed": bstr32,
     "entries": [[entry bstr, payload bstr / null], ...]}

``key`` is the key file exactly as stored (sealed if it was sealed). Entries are in
sequence order. Importing authenticates every entry like any received entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lndesk import canonical
from lndesk.errors import BackupFileError

FORMAT = "lndesk-backup"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Backup:
    key_file: bytes
    feed: bytes
    entries: list[tuple[bytes, bytes | None]]


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
    doc = canonical.decode_document(data, FORMAT, VERSION, BackupFileError, "backup")
    key_file, feed, entries = doc.get("key"), doc.get("feed"), doc.get("entries")
    if type(key_file) is not bytes or type(feed) is not bytes or type(entries) is not list:
        raise BackupFileError("the backup file is damaged: a field is missing")
    items: list[tuple[bytes, bytes | None]] = []
    for item in entries:
        if (
            type(item) is not list
            or len(item) != 2
            or type(item[0]) is not bytes
            or not (item[1] is None or type(item[1]) is bytes)
        ):
            raise BackupFileError("the backup file is damaged: an entry is malformed")
        items.append((item[0], item[1]))
    return Backup(key_file, feed, items)
