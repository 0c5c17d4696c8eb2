"""Bounding CBOR before it is decoded: a walk of the item headers that builds nothing.

A decoder builds one Python object per data item, so a small input can cost far more
than its size suggests: 2 MiB of ``0x80`` bytes (empty arrays) under an array header
claiming 2^31 - 1 items is two million lists. :func:`scan` reads only the headers
(major type, argument, string lengths), with a small, constant amount of work per item
and none per string byte, and refuses the input as soon as a limit is passed:

* the input's size, the number of data items, the nesting depth, the length of any
  byte or text string;
* a length that cannot fit in the bytes left (every item needs at least one byte);
* what deterministic CBOR never holds (docs/protocol.md section 2): indefinite lengths,
  reserved header values, non-shortest arguments, tags, floats and simple values other
  than ``false``, ``true`` and ``null``; and anything after the one top-level item.

Passing the scan says nothing about the values (map keys, their order, UTF-8): the
decoder still checks all of that. Every failure is a :class:`DecodeError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lndesk.errors import DecodeError

MAX_DEPTH = 16
"""The deepest nesting deterministic CBOR allows (``lndesk.canonical.MAX_DEPTH``)."""

_FALSE, _TRUE, _NULL = 20, 21, 22
_MIN_ARGUMENT = {24: 24, 25: 1 << 8, 26: 1 << 16, 27: 1 << 32}
"""The smallest argument each long form may carry; below it the form is not shortest."""
_ARGUMENT_BYTES = {24: 1, 25: 2, 26: 4, 27: 8}


@dataclass(frozen=True, slots=True)
class ScanLimits:
    """What one CBOR input may hold at most."""

    max_bytes: int
    """Size of the whole input."""
    max_items: int
    """Data items, counting every container, key, value and element (a map of one
    key and one value is three items)."""
    max_string: int
    """Bytes in one byte or text string."""
    max_depth: int = MAX_DEPTH
    """Containers nested in one another (a top-level map holding arrays is depth 2)."""


def scan(data: bytes, limits: ScanLimits) -> int:
    """Check that ``data`` is one well-formed CBOR item within ``limits``; return how
    many data items it holds. Raises DecodeError otherwise, without building any."""
    size = len(data)
    if size > limits.max_bytes:
        raise DecodeError(f"{size} bytes of CBOR is over the {limits.max_bytes}-byte limit")
    view = memoryview(data)
    pos = 0
    items = 0
    open_counts: list[int] = []
    """For each open container, how many of its items are still to come."""
    while True:
        if pos >= size:
            raise DecodeError("CBOR ends in the middle of an item")
        head = data[pos]
        pos += 1
        major, info = head >> 5, head & 0x1F
        if major == 7 and info >= 24:
            raise DecodeError("CBOR floats and simple values other than true, false, null")
        if info < 24:
            argument = info
        else:
            width = _ARGUMENT_BYTES.get(info)
            if width is None:
                raise DecodeError("indefinite lengths and reserved CBOR headers are not allowed")
            if pos + width > size:
                raise DecodeError("CBOR ends in the middle of an item header")
            argument = int.from_bytes(view[pos : pos + width], "big")
            pos += width
            if argument < _MIN_ARGUMENT[info]:
                raise DecodeError("a CBOR integer or length is not in its shortest form")
        items += 1
        if items > limits.max_items:
            raise DecodeError(f"CBOR holds more than {limits.max_items} items")
        children = 0
        if major in {2, 3}:
            if argument > limits.max_string:
                raise DecodeError(
                    f"a CBOR string of {argument} bytes is over the {limits.max_string}-byte limit"
                )
            if argument > size - pos:
                raise DecodeError("a CBOR string is longer than the bytes left")
            pos += argument
        elif major in {4, 5}:
            children = argument if major == 4 else 2 * argument
            if children > size - pos:
                raise DecodeError("a CBOR array or map claims more items than the bytes left")
            if len(open_counts) >= limits.max_depth:
                raise DecodeError(f"CBOR nested deeper than {limits.max_depth} levels")
        elif major == 6:
            raise DecodeError("CBOR tags are not allowed in lndesk data")
        elif major == 7 and argument not in (_FALSE, _TRUE, _NULL):
            raise DecodeError("CBOR floats and simple values other than true, false, null")
        if children:
            open_counts.append(children)
            continue
        while open_counts:  # the item is complete: so may be the containers around it
            open_counts[-1] -= 1
            if open_counts[-1]:
                break
            open_counts.pop()
        if not open_counts:
            break
    if pos != size:
        raise DecodeError("trailing bytes after the CBOR item")
    return items
