"""A key's visual fingerprint: a symmetric 5x5 pattern and a colour, from the whole key.

Names are a peer's choice and may copy anyone's; a key cannot be copied. Every view draws
this pattern beside an author (see :mod:`lndesk.ui.identicon`), so two people who chose
the same name, or one who chose a look-alike, still look different. It is derived from
BLAKE2b of all 32 bytes of the key, so changing any bit of the key changes it.

The pattern has 15 free cells (three columns, mirrored to five) and the colour one of 360
hues; a match by chance is about 1 in 12 million, which is why the text beside it shows
80 bits of the key as well (:func:`lndesk.keytext.short_key`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

GRID = 5
_HALF = (GRID + 1) // 2
_PERSON = b"lndesk-identicon"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    cells: tuple[tuple[bool, ...], ...]
    """``GRID`` rows of ``GRID`` cells, left-right symmetric; True cells are coloured."""
    hue: int
    """0-359, the colour of the filled cells."""
    lightness: int
    """0-255 in HSL terms: kept in a band that reads on light and dark backgrounds."""


def fingerprint(key: bytes) -> Fingerprint:
    """The fingerprint of ``key`` (deterministic: the same in every view and on every machine)."""
    digest = hashlib.blake2b(key, digest_size=16, person=_PERSON).digest()
    bits = int.from_bytes(digest[:4], "big")
    rows = []
    for row in range(GRID):
        half = [bool(bits >> (row * _HALF + col) & 1) for col in range(_HALF)]
        rows.append(tuple(half + half[-2::-1]))
    if not any(any(r) for r in rows):
        rows[GRID // 2] = tuple(True for _ in range(GRID))  # never an empty square
    hue = int.from_bytes(digest[4:6], "big") % 360
    lightness = 80 + digest[6] % 60
    return Fingerprint(tuple(rows), hue, lightness)
