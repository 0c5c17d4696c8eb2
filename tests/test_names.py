"""The name cleaner: what a peer's chosen name may and may not do on screen."""

from __future__ import annotations

import unicodedata

import pytest

from lndesk.keytext import KEY_PREFIX, key_to_text, short_key
from lndesk.names import (
    MAX_MARKS,
    MAX_NAME_CHARS,
    clean_name,
    clean_nickname,
    display_name,
)

KEY = bytes(range(32))


def _invisible(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("Cf", "Cc", "Co", "Cn", "Cs")]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Ann\u202eeciluJ", "AnneciluJ"),  # RLO would show "Julice"
        ("\u202dAnn\u202c", "Ann"),  # LRO ... PDF
        ("\u2067Ann\u2069 Lee", "Ann Lee"),  # RLI ... PDI
        ("\u2066a\u2068b\u2069", "ab"),  # LRI, FSI
        ("A\u200bn\u200cn\u200d\u2060\ufeff", "Ann"),  # zero-width space, (non-)joiner, ...
        ("Ann\u061c\u200e\u200f", "Ann"),  # Arabic letter mark, LRM, RLM
        ("Ann\x00\x07\x1b[31m", "Ann [31m"),  # NUL, bell, escape
        ("  Ann \n\t Lee \u2028\u00a0 ", "Ann Lee"),
        ("Ann\u3164\u115f\u2800", "Ann"),  # fillers that are letters by category
        ("Ann\ue000", "Ann"),  # private use
        ("Ann (you)", "Ann"),
        ("Ann (You)", "Ann"),
        ("Ann\uff08\uff59\uff4f\uff55\uff09", "Ann"),  # full-width "(you)"
        ("Ann (\u0443\u043eu)", "Ann"),  # Cyrillic look-alikes of "you"
        ("Ann (y\u200bou)", "Ann"),  # zero-width space inside the marker
        ("Ann ((you))", "Ann"),
        ("Ann [not followed]", "Ann"),
        ("Ann \u27e8Nickname\u27e9", "Ann"),
        ("Ann<img src=/dev/zero>", "Ann<img src=/dev/zero>"),  # text, shown as text
        ("Nguy\u1ec5n", "Nguy\u1ec5n"),  # two marks on one letter survive
        ("\u0645\u0631\u064a\u0645", "\u0645\u0631\u064a\u0645"),  # Arabic letters stay
        ("You", "You"),  # a word without brackets is a name like any other
        ("Ann lnd1abcdefgh2345", "Ann"),  # a key is shown by lndesk, never by a name
        ("Ann LND1ABCD…", "Ann"),
        ("Ann lnd1", "Ann lnd1"),
        ("(Bob)", "(Bob)"),
        # what reads as a revealed pseudonym's attribution, "Ann (as curious-fox)"
        ("Ann (as curious-fox)", "Ann"),
        ("Ann (As Curious-Fox) Lee", "Ann Lee"),
        ("Ann ( as fox)", "Ann"),
        ("Ann [as fox]", "Ann"),
        ("Ann\uff08as fox\uff09", "Ann"),  # full-width brackets
        ("Ann (\u0430s fox)", "Ann"),  # a Cyrillic a
        # labels written with letters drawn like Latin ones: Greek capitals (whose lower
        # case looks like no Latin letter), small capitals, Greek and Latin lower case
        # alpha, iota and kappa, and a capital I read as an l
        ("Ann (\u03a5OU)", "Ann"),  # Greek capital upsilon
        ("Ann (\u039c\u0395)", "Ann"),  # Greek capital mu, epsilon
        ("Ann (\u039dOT FOLLOWED)", "Ann"),  # Greek capital nu
        ("Ann (\u0392LOCKED)", "Ann"),  # Greek capital beta
        ("Ann (MU\u03a4ED)", "Ann"),  # Greek capital tau
        ("Ann (\u039d\u0399CK\u039d\u0391\u039c\u0395)", "Ann"),  # Greek capitals
        ("Ann (\u0391S fox)", "Ann"),  # a Greek capital alpha opens an attribution
        ("Ann (\u028f\u1d0f\u1d1c)", "Ann"),  # small capitals y, o, u
        ("Ann (\u0299\u029f\u1d0f\u1d04\u1d0b\u1d07\u1d05)", "Ann"),  # small capitals
        ("Ann (\ua730\u1d0f\u029f\u029f\u1d0f\u1d21\u026a\u0274\u0262)", "Ann"),
        ("Ann (n\u03b9ckn\u03b1me)", "Ann"),  # Greek iota, alpha
        ("Ann (nickn\u0251me)", "Ann"),  # Latin alpha
        ("Ann (bloc\u03baed)", "Ann"),  # Greek kappa
        ("Ann (foIIowing)", "Ann"),  # capital I read as l
        ("Ann (not fo\u0406\u0399owed)", "Ann"),  # Cyrillic and Greek capital I as l
        ("Ann (NIckname)", "Ann"),  # ... and as i
        ("Ann (Ivy)", "Ann (Ivy)"),  # a name in brackets stays
        (
            "\u0391\u03bd\u03bd\u03b1 (\u039c\u03b1\u03c1\u03af\u03b1)",
            "\u0391\u03bd\u03bd\u03b1 (\u039c\u03b1\u03c1\u03af\u03b1)",
        ),
        ("Ann (a\u200bs fox)", "Ann"),  # a zero-width space inside
        ("Ann (as curious-fox", "Ann"),  # no closing bracket: to the end
        ("Ann ((as fox))", "Ann"),
        ("Ann (ask me)", "Ann (ask me)"),  # not the marker
        ("Bob (assistant)", "Bob (assistant)"),
        ("Ann (as)", "Ann (as)"),
    ],
)
def test_clean_name(raw: str, shown: str) -> None:
    assert clean_name(raw) == shown


@pytest.mark.parametrize(
    "raw",
    [
        "Ann l\u0301nd1abcdefgh",  # a combining mark on a letter of the prefix
        "Ann lnd1ab\u0301\u0302cdefgh",  # two on a letter of the body
        "Ann lnd1abcd\u0308 Lee",  # the marks of its last letter go with it
        "Ann \u04cfnd1\u0430bcdefgh",  # Cyrillic palochka and a
        "Ann lnd1\u0430\u0441\u0435\u043e\u0440",  # Cyrillic a, es, ie, o, er
        "Ann lnd1\u03b1\u03bf\u03bd\u03c5",  # Greek alpha, omicron, nu, upsilon
        "Ann Ind1abcdefgh",  # a capital I reads as l
        "Ann \u0399ND1\u0392\u041d\u039a\u03a4",  # Greek and Cyrillic capitals
        "Ann \u0196nd1abcdefgh",  # a Latin capital iota reads as l
        "Ann \u2c92nd1abcdefgh",  # so does a Coptic one
        "Ann \ua4f2nd1abcdefgh",  # and a Lisu i
        "Ann \u16c1nd1abcdefgh",  # and a runic isaz
        "Ann lnd|abcdefgh",  # a bar for the 1
        "Ann lnd\u0661abcd",  # an Arabic-Indic one
        "Ann lnd1abc0defg",  # a zero for an o
        "Ann lnd1\u0437\u0431ab",  # Cyrillic ze and be for 3 and 6
        "Ann \uff4c\uff4e\uff44\uff11\uff41\uff42\uff43\uff44",  # full width
        "Ann l\u200dn\u200dd\u200d1a\u200db\u200dc\u200dd",  # zero-width joiners between
        "Ann l\u034fnd1abcd",  # a combining grapheme joiner
        "Ann LND1\u0410\u0412CD\u2026",  # upper case Cyrillic, and the short key's ellipsis
    ],
)
def test_a_key_written_with_look_alikes_is_removed(raw: str) -> None:
    assert clean_name(raw) in ("Ann", "Ann Lee")


@pytest.mark.parametrize(
    "name",
    [
        "Indlovu",  # a Zulu word: "lndl" is no key prefix
        "Landon Lnd",
        "\u0418\u0432\u0430\u043d \u041e\u043b\u044c\u0433\u0430",  # Cyrillic names
        "\u0391\u03bd\u03bd\u03b1",  # Greek Anna
        "lnd1 abcd",  # a space between: not written as a key
        "lnd1abc",  # too short to read as one
        "Nguy\u1ec5n lnd",
    ],
)
def test_names_that_only_resemble_a_key_in_part_stay(name: str) -> None:
    assert clean_name(name) == name


def test_no_format_or_control_character_survives() -> None:
    every = "".join(chr(c) for c in range(0x3000) if not 0xD800 <= c < 0xE000)
    cleaned = clean_name("A" + every, limit=10**6)
    assert _invisible(cleaned) == []


def test_a_ten_kilobyte_name_is_capped() -> None:
    name = clean_name("Ann" * 3500)
    assert len(name) == MAX_NAME_CHARS
    assert name.endswith("…")


def test_combining_towers_are_capped() -> None:
    name = clean_name("Z" + "\u0336\u0301\u0302" * 300 + "alg" + "\u0300" * 100 + "o")
    marks = [c for c in name if unicodedata.combining(c)]
    assert len(marks) == 2 * MAX_MARKS
    assert unicodedata.normalize("NFD", name)[0] == "Z" and name.endswith("o")


def test_a_cut_never_separates_marks_from_their_letter() -> None:
    raw = "a" * (MAX_NAME_CHARS - 2) + "e\u0301\u0302" + "b" * 10
    name = clean_name(raw)
    assert not unicodedata.combining(name[-2])
    assert name.endswith("…")


def test_a_name_of_nothing_but_tricks_is_empty() -> None:
    assert clean_name("\u202e\u200b(you)\u2069 \n") == ""
    assert clean_name(None) == ""


def test_display_name_falls_back_to_the_hint_then_the_short_key() -> None:
    assert display_name("\u202eAnn", KEY) == "Ann"
    assert display_name("\u200b", KEY, "Ann\u202e") == "Ann"
    assert display_name("(you)", KEY) == short_key(KEY)
    assert display_name(None, KEY) == short_key(KEY)


def test_short_key_shows_80_bits() -> None:
    shown = short_key(KEY)
    assert len(shown) - len(KEY_PREFIX) == 16  # 16 base32 characters = 80 bits
    assert key_to_text(KEY).startswith(shown)


def test_nicknames_are_cleaned_like_names() -> None:
    assert clean_nickname(" Mum\u202e (you) ") == "Mum"
