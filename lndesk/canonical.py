"""Deterministic CBOR: the only encoding lndesk signs, hashes or stores.

The rule (also in docs/protocol.md, section "Deterministic CBOR"):

* definite lengths only; integers, lengths and tags in their shortest form;
* allowed data items: unsigned and negative integers within 64 bits, byte strings,
  UTF-8 text strings, arrays, maps, ``true``, ``false`` and ``null``;
* no floating-point numbers, no tags, no other simple values (no ``undefined``);
* map keys are text strings, unique, sorted by the bytewise lexicographic order of
  their encodings (RFC 8949 section 4.2.1). For text keys this is the same order as
  "shorter first, then bytewise" (RFC 7049 section 3.9), which is the order cbor2's
  ``canonical=True`` produces; restricting keys to text is what makes the two agree;
* nesting at most 16 levels deep.

Decoding re-encodes the decoded value and rejects the input unless the two are byte
for byte identical, so every accepted value has exactly one encoding.
"""

from __future__ import annotations

from typing import Any, NoReturn

import cbor2

from lndesk.errors import DecodeError, LndeskError

MAX_DEPTH = 16
_INT_MIN = -(2**64)
_INT_MAX = 2**64 - 1

CborValue = Any
"""A value made only of int, bytes, str, list, dict[str, ...], bool and None."""


def _reject_tag(_decoder: object, tag: object) -> NoReturn:
    raise DecodeError("CBOR tags are not allowed in lndesk data")


def _check(value: object, depth: int, ordered: bool) -> None:
    """Reject anything outside the allowed data model. Leaves are tested inline (hot path).

    With ``ordered``, map keys must also already be in canonical order: decoding then
    only has to compare against a plain, order-preserving re-encoding.
    """
    kind = type(value)
    if kind is str or kind is bytes or value is None or kind is bool:
        return
    if kind is int:
        if not _INT_MIN <= value <= _INT_MAX:  # type: ignore[operator]
            raise DecodeError("integer outside the 64-bit range")
        return
    if depth >= MAX_DEPTH:
        raise DecodeError(f"CBOR value nested deeper than {MAX_DEPTH} levels")
    if kind is list:
        for item in value:  # type: ignore[attr-defined]
            item_kind = type(item)
            if item_kind is not str and item_kind is not bytes:
                _check(item, depth + 1, ordered)
        return
    if kind is dict:
        previous = b""
        previous_len = -1  # so that an empty first key ("") is in order
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise DecodeError("map keys must be text strings")
            if ordered:
                encoded = key.encode()
                size = len(encoded)
                if size < previous_len or (size == previous_len and encoded <= previous):
                    raise DecodeError("CBOR map keys are not in deterministic order")
                previous, previous_len = encoded, size
            item_kind = type(item)
            if item_kind is not str and item_kind is not bytes:
                _check(item, depth + 1, ordered)
        return
    raise DecodeError(f"CBOR value of type {kind.__name__} is not allowed in lndesk data")


def encode(value: CborValue) -> bytes:
    """Encode ``value`` deterministically. Raises DecodeError for values outside the rule."""
    _check(value, 0, ordered=False)
    try:
        return bytes(cbor2.dumps(value, canonical=True))
    except (cbor2.CBORError, ValueError, TypeError, OverflowError) as exc:
        raise DecodeError(f"value cannot be encoded as lndesk CBOR: {exc}") from exc


def decode(data: bytes) -> CborValue:
    """Decode bytes that must be the deterministic encoding of one value, and nothing more."""
    try:
        value = cbor2.loads(
            data,
            tag_hook=_reject_tag,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            max_depth=MAX_DEPTH + 1,
        )
    except DecodeError:
        raise
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise DecodeError(f"not valid CBOR: {exc}") from exc
    except Exception as exc:
        raise DecodeError(f"not valid CBOR: {type(exc).__name__}") from exc
    _check(value, 0, ordered=True)
    if cbor2.dumps(value) != data:
        raise DecodeError("CBOR is not in deterministic form (or has trailing bytes)")
    return value


def decode_document(
    data: bytes, format_name: str, version: int, error: type[LndeskError], what: str
) -> dict[str, Any]:
    """Decode a file of ours: a map with ``format`` and ``version``, raising ``error``.

    ``what`` names the file for messages, e.g. "key file" or "backup".
    """
    try:
        doc = decode(data)
    except DecodeError as exc:
        raise error(f"this is not an lndesk {what}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != format_name:
        raise error(f"this is not an lndesk {what}")
    if doc.get("version") != version:
        raise error(
            f"{what} version {doc.get('version')!r} is not supported by this lndesk",
            f"Upgrade lndesk to open this {what}.",
        )
    return doc
