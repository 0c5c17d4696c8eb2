"""A reference encoder for lndesk's deterministic CBOR, written from the rule alone.

Independent of cbor2, so tests can check the implementation against the rule stated in
docs/protocol.md rather than against itself.
"""

from __future__ import annotations

from typing import Any


def head(major: int, argument: int, width: int | None = None) -> bytes:
    """A CBOR head; ``width`` forces an argument size (1, 2, 4 or 8 bytes) for tests."""
    if width is None:
        if argument < 24:
            return bytes([major << 5 | argument])
        width = next(w for w in (1, 2, 4, 8) if argument < 2 ** (8 * w))
    code = {0: argument, 1: 24, 2: 25, 4: 26, 8: 27}[width]
    if width == 0:
        return bytes([major << 5 | argument])
    return bytes([major << 5 | code]) + argument.to_bytes(width, "big")


def ref_encode(value: Any) -> bytes:
    """Deterministic CBOR: shortest heads, map keys sorted bytewise by their encoding."""
    if value is False:
        return b"\xf4"
    if value is True:
        return b"\xf5"
    if value is None:
        return b"\xf6"
    if type(value) is int:
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if type(value) is bytes:
        return head(2, len(value)) + value
    if type(value) is str:
        raw = value.encode("utf-8")
        return head(3, len(raw)) + raw
    if type(value) is list:
        return head(4, len(value)) + b"".join(ref_encode(item) for item in value)
    if type(value) is dict:
        pairs = sorted((ref_encode(k), ref_encode(v)) for k, v in value.items())
        return head(5, len(pairs)) + b"".join(k + v for k, v in pairs)
    raise TypeError(f"not an lndesk CBOR value: {value!r}")


def ref_map(pairs: list[tuple[str, Any]]) -> bytes:
    """A map encoded with its keys in exactly the given order."""
    return head(5, len(pairs)) + b"".join(ref_encode(k) + ref_encode(v) for k, v in pairs)
