"""Public keys as text, and share links."""

from __future__ import annotations

import hashlib
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lndesk.errors import KeyFormatError
from lndesk.keytext import (
    KEY_PREFIX,
    LINK_PREFIX,
    key_from_text,
    key_to_link,
    key_to_text,
    parse_key_or_link,
    short_key,
)

BASE32_LOWER = set("abcdefghijklmnopqrstuvwxyz234567")
STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=200)
SAMPLE_KEYS = [
    bytes(32),
    bytes([0xFF] * 32),
    hashlib.sha256(b"sample key").digest(),
]

public_keys = st.binary(min_size=32, max_size=32)


def test_text_form_shape() -> None:
    text = key_to_text(SAMPLE_KEYS[2])
    assert text.startswith(KEY_PREFIX)
    assert len(text) == len(KEY_PREFIX) + 58
    assert set(text[len(KEY_PREFIX) :]) <= BASE32_LOWER


@STABLE
@given(public_keys)
def test_round_trip(public_key: bytes) -> None:
    text = key_to_text(public_key)
    assert key_from_text(text) == public_key
    assert parse_key_or_link(text) == (public_key, None)


@STABLE
@given(public_keys, st.sampled_from([" ", "\t", "\n", "\r\n", "  \n "]))
def test_case_and_surrounding_white_space_are_forgiven(public_key: bytes, space: str) -> None:
    text = key_to_text(public_key)
    assert key_from_text(text.upper()) == public_key
    assert key_from_text(space + text + space) == public_key
    mixed = "".join(ch.upper() if i % 3 == 0 else ch for i, ch in enumerate(text))
    assert key_from_text(mixed) == public_key


@pytest.mark.parametrize("size", [0, 31, 33])
def test_key_to_text_refuses_wrong_size(size: int) -> None:
    with pytest.raises(KeyFormatError):
        key_to_text(bytes(size))


# Printable ASCII and a few non-ASCII look-alikes a paste could bring in.
SUBSTITUTES = (
    string.ascii_letters + string.digits + string.punctuation + " \t" + "\u00e9\u0430\u2212"
)


@pytest.mark.parametrize("public_key", SAMPLE_KEYS, ids=["zeros", "ones", "hash"])
def test_every_single_character_substitution_is_caught(public_key: bytes) -> None:
    text = key_to_text(public_key)
    checked = 0
    for position in range(len(text)):
        original = text[position]
        for substitute in SUBSTITUTES:
            if substitute.lower() == original:
                continue  # the same character (case is forgiven)
            typo = text[:position] + substitute + text[position + 1 :]
            with pytest.raises(KeyFormatError):
                key_from_text(typo)
            checked += 1
    assert checked > len(text) * 60


@STABLE
@given(public_keys, st.data())
def test_random_single_substitution_in_the_body_is_caught(
    public_key: bytes, data: st.DataObject
) -> None:
    text = key_to_text(public_key)
    position = data.draw(st.integers(len(KEY_PREFIX), len(text) - 1))
    substitute = data.draw(st.sampled_from(sorted(BASE32_LOWER - {text[position]})))
    with pytest.raises(KeyFormatError, match="typo"):
        key_from_text(text[:position] + substitute + text[position + 1 :])


@pytest.mark.parametrize("public_key", SAMPLE_KEYS, ids=["zeros", "ones", "hash"])
def test_truncation_and_extension_are_caught(public_key: bytes) -> None:
    text = key_to_text(public_key)
    for length in range(len(text)):
        with pytest.raises(KeyFormatError):
            key_from_text(text[:length])
    for extra in "a2=":
        with pytest.raises(KeyFormatError):
            key_from_text(text + extra)
    with pytest.raises(KeyFormatError):
        key_from_text(text[1:])


def test_truncation_message_says_part_is_missing() -> None:
    text = key_to_text(SAMPLE_KEYS[2])
    with pytest.raises(KeyFormatError, match="missing") as info:
        key_from_text(text[:-1])
    assert info.value.hint


@pytest.mark.parametrize(
    "text",
    ["", "   ", "lnd", "lnd2" + "a" * 58, "npub1" + "a" * 58, "a" * 62, "0x" + "00" * 32],
)
def test_not_a_key(text: str) -> None:
    with pytest.raises(KeyFormatError):
        key_from_text(text)


def test_characters_outside_the_alphabet_are_explained() -> None:
    text = key_to_text(SAMPLE_KEYS[2])
    bad = text[:10] + "0" + text[11:]
    with pytest.raises(KeyFormatError, match="a-z and 2-7"):
        key_from_text(bad)


def test_short_key_is_a_prefix_of_the_key_text() -> None:
    key = SAMPLE_KEYS[2]
    assert key_to_text(key).startswith(short_key(key))
    assert len(short_key(key)) == len(KEY_PREFIX) + 16  # 80 bits


# --- share links ---------------------------------------------------------------


def test_link_without_name() -> None:
    key = SAMPLE_KEYS[2]
    link = key_to_link(key)
    assert link == LINK_PREFIX + key_to_text(key)
    assert parse_key_or_link(link) == (key, None)


def test_link_with_name() -> None:
    key = SAMPLE_KEYS[2]
    link = key_to_link(key, "Ada Lovelace & co")
    assert link.startswith(LINK_PREFIX + key_to_text(key) + "?name=")
    assert " " not in link
    assert parse_key_or_link(link) == (key, "Ada Lovelace & co")


def test_empty_name_gives_plain_link() -> None:
    key = SAMPLE_KEYS[0]
    assert key_to_link(key, "") == key_to_link(key)


@STABLE
@given(public_keys, st.text(min_size=1, max_size=40))
def test_link_round_trip_with_any_name(public_key: bytes, name: str) -> None:
    link = key_to_link(public_key, name)
    assert link.isascii()
    assert parse_key_or_link(link) == (public_key, name)
    assert parse_key_or_link("  " + link + "\n") == (public_key, name)


def test_link_forgives_case_of_prefix_and_trailing_slash() -> None:
    key = SAMPLE_KEYS[1]
    text = key_to_text(key)
    assert parse_key_or_link("LNDESK://FEED/" + text.upper()) == (key, None)
    assert parse_key_or_link(LINK_PREFIX + text + "/") == (key, None)


def test_link_with_damaged_key_is_rejected() -> None:
    text = key_to_text(SAMPLE_KEYS[2])
    damaged = text[:-1] + ("a" if text[-1] != "a" else "b")
    with pytest.raises(KeyFormatError):
        parse_key_or_link(LINK_PREFIX + damaged)
    with pytest.raises(KeyFormatError):
        parse_key_or_link(LINK_PREFIX + text[:-3] + "?name=x")


@pytest.mark.parametrize(
    "link",
    [
        "lndesk://post/abc",
        "lndesk://profile/" + key_to_text(SAMPLE_KEYS[2]),
        "lndesk:feed/" + key_to_text(SAMPLE_KEYS[2]),
        "lndesk://feed",
        "LNDESK://entry/1234",
        "  lndesk:  ",
    ],
)
def test_other_lndesk_links_are_rejected(link: str) -> None:
    with pytest.raises(KeyFormatError, match="not a share link"):
        parse_key_or_link(link)


@pytest.mark.parametrize(
    "link",
    ["https://example.org/feed/x", "feed/" + key_to_text(SAMPLE_KEYS[2]), "lndesk//feed/x"],
)
def test_foreign_text_is_rejected(link: str) -> None:
    with pytest.raises(KeyFormatError):
        parse_key_or_link(link)
