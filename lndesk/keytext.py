"""Public keys as text a person can copy, paste and share.

Canonical text form: ``lnd1`` followed by 58 lowercase base32 characters (RFC 4648
alphabet, no padding) encoding the 32-byte Ed25519 public key and a 4-byte checksum
(BLAKE2b-32 of the key, personalised ``lndesk-key``). A mistyped or truncated key is
rejected instead of silently following a stranger.

Share link form: ``lndesk://feed/<key text>``, optionally with ``?name=<display name>``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse

from lndesk.errors import KeyFormatError

KEY_PREFIX = "lnd1"
LINK_PREFIX = "lndesk://feed/"
PUBLIC_KEY_SIZE = 32
_CHECKSUM_SIZE = 4
_BODY_CHARS = 58


def _checksum(public_key: bytes) -> bytes:
    return hashlib.blake2b(public_key, digest_size=_CHECKSUM_SIZE, person=b"lndesk-key").digest()


def key_to_text(public_key: bytes) -> str:
    """The canonical text form of a 32-byte public key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise KeyFormatError(f"a public key is {PUBLIC_KEY_SIZE} bytes, not {len(public_key)}")
    body = base64.b32encode(public_key + _checksum(public_key)).decode("ascii").rstrip("=")
    return KEY_PREFIX + body.lower()


def key_from_text(text: str) -> bytes:
    """Parse the canonical text form (surrounding white space and case are forgiven)."""
    cleaned = text.strip().lower()
    if not cleaned.startswith(KEY_PREFIX):
        raise KeyFormatError(f"{_show(text)} is not an lndesk public key (it must start with lnd1)")
    body = cleaned[len(KEY_PREFIX) :]
    if len(body) != _BODY_CHARS:
        raise KeyFormatError(
            f"{_show(text)} has {len(body)} characters after lnd1, a key has {_BODY_CHARS}: "
            "part of it is missing or extra"
        )
    try:
        raw = base64.b32decode(body.upper() + "======", casefold=False)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(
            f"{_show(text)} contains characters that cannot be in a key "
            "(keys use a-z and 2-7 only; 0, 1, 8 and 9 never appear)"
        ) from exc
    public_key, checksum = raw[:PUBLIC_KEY_SIZE], raw[PUBLIC_KEY_SIZE:]
    if _checksum(public_key) != checksum or key_to_text(public_key) != cleaned:
        raise KeyFormatError(f"{_show(text)} has a typo: its checksum does not match")
    return public_key


def key_to_link(public_key: bytes, name: str | None = None) -> str:
    """A share link for a public key, with an optional display-name hint."""
    link = LINK_PREFIX + key_to_text(public_key)
    if name:
        link += "?" + urllib.parse.urlencode({"name": name})
    return link


def parse_key_or_link(text: str) -> tuple[bytes, str | None]:
    """Accept a key or a share link; return the key and the name hint (if any)."""
    cleaned = text.strip()
    if cleaned.lower().startswith(LINK_PREFIX):
        rest = cleaned[len(LINK_PREFIX) :]
        key_part, _, query = rest.partition("?")
        name = urllib.parse.parse_qs(query).get("name", [None])[0] if query else None
        return key_from_text(key_part.rstrip("/")), name
    if cleaned.lower().startswith("lndesk:"):
        raise KeyFormatError(f"{_show(text)} is an lndesk link, but not a share link of a person")
    return key_from_text(cleaned), None


_MENTION = re.compile(rf"@(lnd1[a-z2-7]{{{_BODY_CHARS}}})(?![a-z0-9])", re.IGNORECASE)


def mentions_in(text: str) -> tuple[bytes, ...]:
    """Keys mentioned in ``text`` as ``@lnd1…``, in order, each once (typos are skipped:
    a mention whose checksum fails is left as plain text rather than naming a stranger)."""
    found: dict[bytes, None] = {}
    for match in _MENTION.finditer(text):
        try:
            found[key_from_text(match.group(1))] = None
        except KeyFormatError:
            continue
    return tuple(found)


SHORT_KEY_CHARS = 16
"""Key characters shown beside a name: 80 bits, far beyond grinding a look-alike key."""


def short_key(public_key: bytes) -> str:
    """A short, recognisable form for display (never for parsing): ``lnd1`` and the
    first :data:`SHORT_KEY_CHARS` characters (80 bits of the key)."""
    return key_to_text(public_key)[: len(KEY_PREFIX) + SHORT_KEY_CHARS]


def _show(text: str) -> str:
    shown = text.strip()
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return repr(shown)
