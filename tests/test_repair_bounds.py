"""``lndesk repair`` (lndesk.store.repair) holds a bounded part of the log in memory at
once, however large the log and its damaged ranges are: the valid records are copied and
the damaged bytes moved aside a chunk at a time, and every byte of them is kept."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

from store_helpers import make_identity

from lndesk.content import Post
from lndesk.store.logfile import HEADER_SIZE, LogFile, Record
from lndesk.store.repair import repair_store
from lndesk.store.store import LOG_NAME, Store

ALICE = make_identity(61)
DAMAGED = 3 << 20
POSTS = 90
PEAK = 5 << 20
"""What a repair may hold at its peak: its own work (the scan of the log holds about
3.5 MiB) and a chunk or two, below the damage held twice or the records held once."""


def junk(size: int) -> bytes:
    """Bytes no record begins with (a length over any record's) and that are not zeros."""
    return (b"\xff\xfe\xfd\xfc" * (size // 4 + 1))[:size]


def test_large_damaged_ranges_are_moved_aside_whole_in_bounded_memory(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for n in range(POSTS):
            store.publish(ALICE, Post(f"around the damage {n} " + "x" * 60_000))
    log = tmp_path / LOG_NAME
    good = log.read_bytes()
    middle = LogFile(log, read_only=True)
    try:
        split = [r.offset for r in middle.scan() if isinstance(r, Record)][POSTS // 2]
    finally:
        middle.close()
    first, second = junk(DAMAGED // 2), junk(DAMAGED // 2 + 4)[4:]
    # The damage lies between the records of the log: valid records follow each range.
    log.write_bytes(good[:HEADER_SIZE] + first + good[HEADER_SIZE:split] + second + good[split:])
    assert len(good) > PEAK  # the records too are more than a repair may hold
    tracemalloc.start()
    try:
        report = repair_store(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(d.start, d.size) for d in report.damaged] == [
        (HEADER_SIZE, len(first)),
        (split + len(first), len(second)),
    ]
    assert report.saved is not None
    moved = hashlib.blake2b(report.saved.read_bytes()).digest()
    assert moved == hashlib.blake2b(first + second).digest()
    assert report.kept == POSTS and report.entries == POSTS and not report.lost
    assert log.read_bytes()[HEADER_SIZE:] == good[HEADER_SIZE:]
    assert peak < PEAK, peak


def test_a_repair_never_writes_over_the_damage_an_earlier_one_moved_aside(
    tmp_path: Path,
) -> None:
    with Store(tmp_path) as store:
        for n in range(3):
            store.publish(ALICE, Post(f"kept {n}"))
    log = tmp_path / LOG_NAME
    good = log.read_bytes()
    saved = []
    for n in range(3):  # three repairs in the same second
        damage = junk(100 + n)
        log.write_bytes(good[:HEADER_SIZE] + damage + log.read_bytes()[HEADER_SIZE:])
        report = repair_store(tmp_path, clock=lambda: 1_800_000_000.0)
        assert report.saved is not None and report.kept == 3
        saved.append((report.saved, damage))
    assert len({path for path, _ in saved}) == 3
    for path, damage in saved:
        assert path.read_bytes() == damage
