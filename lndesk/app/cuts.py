"""Damaged last records of the log that held entries of my own feed.

The store cuts a damaged tail off (so that appending can go on) after saving its bytes
beside the log (``entries.log.cut-OFFSET``, :func:`lndesk.store.recovery.cut_tail`). If
those bytes held an entry of my own feed, that entry may already be at peers: signing
its position again would fork my feed. So publishing waits, as after a restore, until
peers have said how far my log goes and I have confirmed it.

A tail may hold many records: a batch appended and acknowledged that the index had not
caught up with when its bytes were damaged. Every record of it is read (its head and
entry only, one at a time), not only the first, which may be another feed's entry or
too damaged to name: any own entry among them pauses publishing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from lndesk.app.ownlog import OWN_LOG_RESTORED, OwnLog, load_own_log, save_own_log
from lndesk.regularfile import open_regular
from lndesk.store.logfile import MAX_BODY
from lndesk.store.recovery import CUT_SUFFIX, damaged_entry
from lndesk.store.store import LOG_NAME

logger = logging.getLogger(__name__)

SEEN = ".seen"
"""Suffix of a saved tail whose own entry has been dealt with (publishing paused)."""
_RECORD_HEAD = 8
"""A record's length and CRC, before its body."""
_BODY_HEAD = 12
"""A record body's kind, flags, received time and entry length, before its entry."""


def own_cut_entries(data_dir: Path, own: bytes) -> list[tuple[Path, list[int]]]:
    """Saved damaged tails not yet dealt with that held entries of ``own``'s feed, with
    the positions (seqs) of those entries."""
    found = []
    prefix = LOG_NAME + CUT_SUFFIX
    for path in sorted(data_dir.glob(prefix + "*")):
        if not path.name[len(prefix) :].isdigit():
            continue
        try:
            with open_regular(path) as file:
                seqs = _own_seqs(file, own)
        except OSError as exc:
            logger.warning("cannot read %s: %s", path, exc)
            continue
        if seqs:
            found.append((path, seqs))
    return found


def _own_seqs(file: BinaryIO, own: bytes) -> list[int]:
    """The seqs of ``own``'s entries that the records of a saved tail still name.

    Records are followed by their length fields while those are possible; a record's
    head and entry are read, never its payload, so a tail of any size is read a few
    hundred bytes at a time."""
    size = os.fstat(file.fileno()).st_size
    seqs: set[int] = set()
    position = 0
    while position + _RECORD_HEAD + _BODY_HEAD <= size:
        file.seek(position)
        head = file.read(_RECORD_HEAD + _BODY_HEAD)
        entry_len = int.from_bytes(head[-2:], "big")
        entry = damaged_entry(head + file.read(entry_len))
        if entry is not None and entry.author == own:
            seqs.add(entry.seq)
        length = int.from_bytes(head[:4], "big")
        if not _BODY_HEAD <= length <= MAX_BODY:
            break  # a damaged length: where the next record starts is unknown
        position += _RECORD_HEAD + length
    return sorted(seqs)


def _saved_name(path: Path) -> Path:
    """Where a dealt-with tail is kept: ``NAME.seen``, or ``NAME.seen-2``, ... when a
    tail saved earlier holds that name (never written over)."""
    seen = path.with_name(path.name + SEEN)
    number = 1
    while os.path.lexists(seen):
        number += 1
        seen = path.with_name(f"{path.name}{SEEN}-{number}")
    return seen


def _entries(seqs: list[int]) -> str:
    if len(seqs) == 1:
        return f"entry {seqs[0]}"
    if len(seqs) <= 5:
        return "entries " + ", ".join(map(str, seqs[:-1])) + f" and {seqs[-1]}"
    return f"{len(seqs)} entries (from {seqs[0]} to {seqs[-1]})"


def pause_for_cut_entries(data_dir: Path, own: bytes, warn: Callable[[str], None]) -> None:
    """Pause publishing for the damaged own entries that were cut; say why and what next.

    The directory is locked by the open store, so no other process names a tail meanwhile."""
    for path, seqs in own_cut_entries(data_dir, own):
        if load_own_log(data_dir).confirmed:
            save_own_log(data_dir, OwnLog(state=OWN_LOG_RESTORED))
        seen = _saved_name(path)
        path.rename(seen)
        named = _entries(seqs)
        were = "was" if len(seqs) == 1 else "were"
        warn(
            f"{named} of your own log {were} damaged and cut from the log (the bytes are "
            f"saved in {seen}). So that no position is ever signed twice, publishing waits "
            "until lndesk knows how far your log goes: run lndesk restore-status with "
            "peers online, then lndesk confirm-log N."
        )
