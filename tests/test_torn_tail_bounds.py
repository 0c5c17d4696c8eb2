"""A bad tail of the log is cut (lndesk.store.recovery.cut_tail) holding a bounded part of
it in memory at once, however large it is: a tail is anything from a few torn bytes to
whatever was appended to the file, and a damaged one is saved beside the log whole."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

from store_helpers import make_identity

from lndesk.app.cuts import SEEN
from lndesk.content import Post
from lndesk.store.recovery import TAIL_CHUNK
from lndesk.store.store import LOG_NAME, Store

ALICE = make_identity(51)
TAIL = 48 << 20
PEAK = 8 * TAIL_CHUNK
"""What an open may hold at its peak (its own work, and a few chunks of the tail)."""


def store_of_two_posts(directory: Path) -> bytes:
    with Store(directory) as store:
        store.publish(ALICE, Post("one"))
        store.publish(ALICE, Post("two"))
    return (directory / LOG_NAME).read_bytes()


def open_measured(directory: Path) -> tuple[list[str], int]:
    """The warnings of an open of ``directory``, and the most memory it held."""
    tracemalloc.start()
    try:
        with Store(directory) as store:
            warnings = list(store.warnings)
            assert store.publish(ALICE, Post("three")).seq == 3
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return warnings, peak


def junk(size: int) -> bytes:
    """Bytes no record begins with (a length over any record's) and that are not zeros."""
    return (b"\xff\xfe\xfd\xfc" * (size // 4 + 1))[:size]


def digest_of(path: Path) -> str:
    digest = hashlib.blake2b()
    with path.open("rb") as file:
        while chunk := file.read(TAIL_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def test_a_large_tail_of_zeros_is_cut_in_bounded_memory(tmp_path: Path) -> None:
    good = store_of_two_posts(tmp_path)
    os.truncate(tmp_path / LOG_NAME, len(good) + TAIL)  # zeros, sparse: no disk is used
    warnings, peak = open_measured(tmp_path)
    assert len(warnings) == 1 and f"cut {TAIL} bytes" in warnings[0]
    assert "no post was lost" in warnings[0]
    assert peak < PEAK, peak
    assert (tmp_path / LOG_NAME).read_bytes()[: len(good)] == good


def test_a_large_damaged_tail_is_saved_whole_in_bounded_memory(tmp_path: Path) -> None:
    good = store_of_two_posts(tmp_path)
    chunk = junk(TAIL_CHUNK)
    with (tmp_path / LOG_NAME).open("ab") as file:
        for _ in range(TAIL // TAIL_CHUNK):
            file.write(chunk)
    expected = hashlib.blake2b(chunk * (TAIL // TAIL_CHUNK)).hexdigest()
    warnings, peak = open_measured(tmp_path)
    saved = tmp_path / f"{LOG_NAME}.cut-{len(good)}"
    assert len(warnings) == 1 and f"cut {TAIL} bytes" in warnings[0]
    assert "damaged" in warnings[0] and str(saved) in warnings[0]
    assert peak < PEAK, peak
    assert saved.stat().st_size == TAIL and digest_of(saved) == expected
    assert (tmp_path / LOG_NAME).read_bytes()[: len(good)] == good


def test_a_tail_damaged_again_at_the_same_offset_keeps_the_first_saved(tmp_path: Path) -> None:
    """A bad sector damages what is written at its place again: the second damaged tail
    cut at one offset is saved beside the first (dealt with or not), never over it, and
    still under a name the app looks at for entries of the own feed."""
    good = store_of_two_posts(tmp_path)
    saved = []
    for n in range(3):
        damage = junk(100 + n)
        with (tmp_path / LOG_NAME).open("ab") as file:
            file.write(damage)
        with Store(tmp_path) as store:
            (warning,) = store.warnings
        found = [p for p in tmp_path.glob(f"{LOG_NAME}.cut-*") if p not in saved]
        assert [p.read_bytes() for p in found] == [damage] and str(found[0]) in warning
        assert found[0].name[len(f"{LOG_NAME}.cut-") :].isdigit()
        # (once dealt with, it is renamed to that: over the one dealt with before)
        assert not Path(f"{found[0]}{SEEN}").exists()
        saved.append(found[0])
        if n == 0:  # dealt with, as the app does with a tail that held an own entry
            saved[-1] = found[0].rename(f"{found[0]}{SEEN}")
        assert (tmp_path / LOG_NAME).stat().st_size == len(good)
    assert [p.read_bytes() for p in saved] == [junk(100 + n) for n in range(3)]
