"""Opening a store for reading only (``Store.open_read_only``).

Read commands (``log``, ``search``, ``verify``, ``export``) must work on read-only media,
in a directory this user may not write, and with a damaged index or log. Nothing here
writes a file: the index file is opened with SQLite's ``mode=ro`` (``immutable=1`` when
even its lock files cannot be made) and used only if it covers the whole log under the
current rules; otherwise the index is built in memory from every valid record.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path
from urllib.parse import quote

from lndesk.errors import IndexDamagedError
from lndesk.store.index import Index
from lndesk.store.logfile import LogFile, Record
from lndesk.store.recovery import (
    REINDEX_BATCH,
    REINDEX_BATCH_BYTES,
    Warn,
    WriteIndex,
    index_records,
)
from lndesk.store.rules import ContentLoader
from lndesk.store.salvage import Damaged, salvage_scan

log = logging.getLogger(__name__)


def open_index_read_only(
    path: Path, log_file: LogFile, rules: bytes, load_content: ContentLoader
) -> tuple[Index, int] | None:
    """The index file, read-only, and how far into the log it is complete, if it is
    readable and was built from this log by these rules; else None."""
    if not path.is_file():
        return None
    base = "file:" + quote(str(path.resolve()))
    for mode in ("?mode=ro", "?immutable=1"):
        try:
            index = Index(path, load_content, uri=base + mode)
        except IndexDamagedError as exc:
            log.info("cannot open the index read-only (%s): %s", mode, exc)
            continue
        try:
            raw = index.get_meta("log_end")
            end = int(raw.decode()) if raw is not None else -1
            usable = (
                index.get_meta("log_id") == log_file.log_id
                and index.get_meta("rules") == rules
                and 0 < end <= log_file.end
            )
        except (sqlite3.Error, ValueError) as exc:
            log.info("the index cannot be read (%s): %s", mode, exc)
            usable = False
        if usable:
            return index, end
        with contextlib.suppress(sqlite3.Error):
            index.close()
        return None
    return None


def index_salvaged(log_file: LogFile, write: WriteIndex, warn: Warn) -> None:
    """Index every valid record of the log; damaged ranges are skipped with a warning.

    A batch ends at :data:`REINDEX_BATCH` records or :data:`REINDEX_BATCH_BYTES` of
    them, as a rebuild's does: 5,000 records of large posts would be over 300 MiB."""
    batch: list[Record] = []
    size = 0
    for item in salvage_scan(log_file):
        if isinstance(item, Damaged):
            index_records(batch, write)
            batch, size = [], 0
            warn(
                f"the log is damaged from offset {item.start} ({item.size} bytes: "
                f"{item.problem}); showing the valid records around it"
            )
            continue
        batch.append(item)
        size += item.size
        if len(batch) >= REINDEX_BATCH or size >= REINDEX_BATCH_BYTES:
            index_records(batch, write)
            batch, size = [], 0
    index_records(batch, write)
