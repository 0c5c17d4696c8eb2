"""The key fingerprint: deterministic, symmetric, and changed by any bit of the key."""

from __future__ import annotations

from lndesk.fingerprint import GRID, fingerprint

KEY = bytes(range(32))


def test_the_same_key_gives_the_same_fingerprint() -> None:
    assert fingerprint(KEY) == fingerprint(bytes(KEY))


def test_the_pattern_is_symmetric_and_never_empty() -> None:
    for n in range(200):
        cells = fingerprint(n.to_bytes(32, "big")).cells
        assert len(cells) == GRID and all(len(row) == GRID for row in cells)
        assert all(row == row[::-1] for row in cells)
        assert any(any(row) for row in cells)


def test_every_byte_of_the_key_counts() -> None:
    # Keys that share a long prefix (a grinder's look-alikes) still differ.
    for position in range(32):
        other = bytearray(KEY)
        other[position] ^= 1
        assert fingerprint(bytes(other)) != fingerprint(KEY)
