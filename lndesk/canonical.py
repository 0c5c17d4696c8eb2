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

Decoding accepts an input only if it is the one encoding of the value it decodes to,
without encoding that value again (a re-encoding cost more than the decoding): every tag
is refused while decoding, the value's items are checked against the rule, and the
input must be exactly as long as the value's deterministic encoding. Without tags, an
encoding of a value differs from the deterministic one only by longer heads
(non-shortest integers and lengths) or bytes after the item, each of which makes it
longer; the order of map keys, which does not change the length, is checked on its
own. Tags must be refused, not merely counted: some (string and value references)
make an encoding shorter than its value's.
"""

from __future__ import annotations

from collections.abc import Callable
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


def _check(value: object, depth: int) -> None:
    """Reject anything outside the allowed data model. Leaves are tested inline (hot path)."""
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
                _check(item, depth + 1)
        return
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise DecodeError("map keys must be text strings")
            item_kind = type(item)
            if item_kind is not str and item_kind is not bytes:
                _check(item, depth + 1)
        return
    raise DecodeError(f"CBOR value of type {kind.__name__} is not allowed in lndesk data")


def encode(value: CborValue) -> bytes:
    """Encode ``value`` deterministically. Raises DecodeError for values outside the rule."""
    _check(value, 0)
    try:
        return bytes(cbor2.dumps(value, canonical=True))
    except (cbor2.CBORError, ValueError, TypeError, OverflowError) as exc:
        raise DecodeError(f"value cannot be encoded as lndesk CBOR: {exc}") from exc


class _RefuseEveryTag(dict[int, Callable[..., NoReturn]]):
    """cbor2's ``semantic_decoders`` for every tag number: each one refused, including
    those cbor2 would otherwise decode itself (dates, big numbers, string and value
    references, self-description), whatever version of cbor2 is installed."""

    def __missing__(self, _tag: int) -> Callable[..., NoReturn]:
        return _refuse_tag


def _refuse_tag(*_decoder_and_value: object) -> NoReturn:
    raise DecodeError("CBOR tags are not allowed in lndesk data")


_REFUSE_EVERY_TAG = _RefuseEveryTag()


def _head_size(argument: int) -> int:
    """Bytes of a head in shortest form whose argument is ``argument``."""
    if argument < 24:
        return 1
    if argument < 0x100:
        return 2
    if argument < 0x10000:
        return 3
    if argument < 0x1_0000_0000:
        return 5
    return 9


def _text_size(text: str) -> int:
    size = len(text) if text.isascii() else len(text.encode())
    return size + (1 if size < 24 else _head_size(size))


def _encoded_size(value: object, depth: int) -> int:
    """The length of the deterministic encoding of ``value``, a decoded value; raises
    DecodeError for anything outside the data model or map keys out of order."""
    kind = type(value)
    if kind is str:
        return _text_size(value)  # type: ignore[arg-type]
    if kind is bytes:
        size = len(value)  # type: ignore[arg-type]
        return size + (1 if size < 24 else _head_size(size))
    if value is None or kind is bool:
        return 1
    if kind is int:
        if value >= 0:  # type: ignore[operator]
            if value > _INT_MAX:  # type: ignore[operator]
                raise DecodeError("integer outside the 64-bit range")
            return _head_size(value)  # type: ignore[arg-type]
        if value < _INT_MIN:  # type: ignore[operator]
            raise DecodeError("integer outside the 64-bit range")
        return _head_size(-1 - value)  # type: ignore[operator]
    if depth >= MAX_DEPTH:
        raise DecodeError(f"CBOR value nested deeper than {MAX_DEPTH} levels")
    if kind is list:
        size = _head_size(len(value))  # type: ignore[arg-type]
        for item in value:  # type: ignore[attr-defined]
            size += _text_size(item) if type(item) is str else _encoded_size(item, depth + 1)
        return size
    if kind is dict:
        size = _head_size(len(value))  # type: ignore[arg-type]
        previous = b""
        previous_len = -1  # so that an empty first key ("") is in order
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise DecodeError("map keys must be text strings")
            encoded = key.encode()
            key_len = len(encoded)
            if key_len < previous_len or (key_len == previous_len and encoded <= previous):
                raise DecodeError("CBOR map keys are not in deterministic order")
            previous, previous_len = encoded, key_len
            size += key_len + (1 if key_len < 24 else _head_size(key_len))
            size += _text_size(item) if type(item) is str else _encoded_size(item, depth + 1)
        return size
    raise DecodeError(f"CBOR value of type {kind.__name__} is not allowed in lndesk data")


def decode(data: bytes) -> CborValue:
    """Decode bytes that must be the deterministic encoding of one value, and nothing more."""
    try:
        value = cbor2.loads(
            data,
            tag_hook=_reject_tag,  # tags the semantic decoders are not asked about
            semantic_decoders=_REFUSE_EVERY_TAG,
            allow_indefinite=False,
            allow_duplicate_keys=False,
            max_depth=MAX_DEPTH + 1,
        )
    except DecodeError:
        raise
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        if isinstance(exc.__cause__, DecodeError):
            raise exc.__cause__ from None  # a refused tag: say so, not how cbor2 put it
        raise DecodeError(f"not valid CBOR: {exc}") from exc
    except Exception as exc:
        raise DecodeError(f"not valid CBOR: {type(exc).__name__}") from exc
    # Shorter is impossible without tags; longer is a non-shortest head or trailing bytes.
    if _encoded_size(value, 0) != len(data):
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
