"""Damaged last records of the log that held entries of my own feed.

The store cuts a damaged tail off (so that appending can go on) after saving its bytes
beside the log (``entries.log.cut-OFFSET``, :func:`lndesk.store.recovery.cut_tail`). If
those bytes held an entry of my own feed, that entry may already be at peers: signing
its position again would fork my feed. So publishing waits, as after a restore, until
peers have said how far my log goes and I have confirmed it.

A tail may hold many records: a batch appended and acknowledged that the index had not
caught up with when its bytes were damaged. The whole tail is searched (a chunk at a
time) for the start of an entry of my feed, wherever it lies: not only its first
record, which may be another feed's entry or too damaged to name, and not only where
the records' length fields lead, which damage may have changed. Any own entry found
pauses publishing, named by its position when its record's head still says how long
it is, and counted as an entry at an unreadable position otherwise.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from lndesk.app.ownlog import OWN_LOG_RESTORED, OwnLog, load_own_log, save_own_log
from lndesk.atomicfile import first_unused
from lndesk.entry import FORMAT_VERSION, KEY_SIZE, MAX_ENTRY_SIZE
from lndesk.regularfile import open_regular
from lndesk.store.recovery import CUT_SUFFIX, SEEN, damaged_entry
from lndesk.store.store import LOG_NAME

logger = logging.getLogger(__name__)

_RECORD_HEAD = 8
"""A record's length and CRC, before its body."""
_BODY_HEAD = 12
"""A record body's kind, flags, received time and entry length, before its entry."""
_ENTRY_START = bytes([0x89, FORMAT_VERSION, 0x58, KEY_SIZE])
"""How every entry begins, up to its author's key: a CBOR array of nine, the format
version, and the head of a 32-byte string."""
_CHUNK = 1 << 20


def own_cut_entries(data_dir: Path, own: bytes) -> list[tuple[Path, list[int], int]]:
    """Saved damaged tails not yet dealt with that held entries of ``own``'s feed: each
    with the positions (seqs) of those entries it names, and how many more it holds
    whose position cannot be read."""
    found = []
    prefix = LOG_NAME + CUT_SUFFIX
    for path in sorted(data_dir.glob(prefix + "*")):
        if not path.name[len(prefix) :].isdigit():
            continue
        try:
            with open_regular(path) as file:
                seqs, unread = _own_entries(file, own)
        except OSError as exc:
            logger.warning("cannot read %s: %s", path, exc)
            continue
        if seqs or unread:
            found.append((path, seqs, unread))
    return found


def _own_entries(file: BinaryIO, own: bytes) -> tuple[list[int], int]:
    """The seqs of ``own``'s entries that a saved tail still names, and how many more
    of its entries it holds whose record head is too damaged to read them by."""
    start = _ENTRY_START + own
    seqs: set[int] = set()
    unread = 0
    for offset in _occurrences(file, start):
        head = _RECORD_HEAD + _BODY_HEAD
        if offset < head:
            unread += 1
            continue
        file.seek(offset - head)
        entry = damaged_entry(file.read(head + MAX_ENTRY_SIZE))
        if entry is not None and entry.author == own:
            seqs.add(entry.seq)
        else:
            unread += 1
    return sorted(seqs), unread


def _occurrences(file: BinaryIO, pattern: bytes) -> Iterator[int]:
    """Where ``pattern`` starts in ``file``, read :data:`_CHUNK` bytes at a time (the
    caller may read elsewhere in ``file`` between two of them)."""
    position = 0  # where the next chunk is read from
    base = 0  # the file offset of ``window[0]``
    window = b""
    while True:
        file.seek(position)
        chunk = file.read(_CHUNK)
        if not chunk:
            return
        position += len(chunk)
        window += chunk
        at = window.find(pattern)
        hits = []
        while at >= 0:
            hits.append(base + at)
            at = window.find(pattern, at + 1)
        yield from hits
        keep = min(len(pattern) - 1, len(window))  # a start the chunk's end cut in two
        base += len(window) - keep
        window = window[len(window) - keep :]


def _saved_name(path: Path) -> Path:
    """Where a dealt-with tail is kept: ``NAME.seen``, or ``NAME.seen-2``, ... when a
    tail saved earlier holds that name (never written over)."""
    names = (f"{path.name}{SEEN}-{number}" for number in itertools.count(2))
    seen = first_unused(
        itertools.chain([path.with_name(path.name + SEEN)], map(path.with_name, names))
    )
    assert seen is not None  # the names never end
    return seen


def _entries(seqs: list[int], unread: int) -> str:
    named = ""
    if len(seqs) == 1:
        named = f"entry {seqs[0]}"
    elif 1 < len(seqs) <= 5:
        named = "entries " + ", ".join(map(str, seqs[:-1])) + f" and {seqs[-1]}"
    elif seqs:
        named = f"{len(seqs)} entries (from {seqs[0]} to {seqs[-1]})"
    why = "its position" if unread == 1 else "their positions"
    if not unread:
        return f"{named} of your own log"
    if not named:
        plural = "entry" if unread == 1 else "entries"
        return f"{unread} {plural} of your own log ({why} too damaged to read)"
    return f"{named} of your own log and {unread} more ({why} too damaged to read)"


def pause_for_cut_entries(data_dir: Path, own: bytes, warn: Callable[[str], None]) -> None:
    """Pause publishing for the damaged own entries that were cut; say why and what next.

    The directory is locked by the open store, so no other process names a tail meanwhile."""
    for path, seqs, unread in own_cut_entries(data_dir, own):
        if load_own_log(data_dir).confirmed:
            save_own_log(data_dir, OwnLog(state=OWN_LOG_RESTORED))
        seen = _saved_name(path)
        path.rename(seen)
        were = "was" if len(seqs) + unread == 1 else "were"
        warn(
            f"{_entries(seqs, unread)} {were} damaged and cut from the log "
            f"(the bytes are saved in {seen}). So that no position is ever signed twice, "
            "publishing waits until lndesk knows how far your log goes: run lndesk "
            "restore-status with peers online, then lndesk confirm-log N."
        )
