"""A cleaned name is its own cleaning: every place that shows a name, whether it cleans
the stored name once or a cleaned one again, shows the same text, and no cleaned name
carries what lndesk writes beside names (a revealed pseudonym's "(as ...)", a key)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lndesk.names import MAX_NAME_CHARS, clean_name, clean_nickname

HOSTILE_PIECES = (
    # bidi controls, zero-width and other format characters, fillers
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u200b",
    "\u200d",
    "\u200e",
    "\ufeff",
    "\u034f",
    "\u3164",
    "\u2800",
    # combining marks, alone and in towers, and letters they compose with
    "\u0301",
    "\u0300\u0302\u0303",
    "\u0327",
    "\u0338",
    "e",
    "=",
    "\u1100",  # Hangul leading consonant ...
    "\u1161",  # ... and vowel: the two compose into one syllable
    # ellipses and what NFKC makes longer or shorter
    "\u2026",
    "...",
    "\u2025",
    "\ufb01",
    "\u33cf",
    "\ufdfa",
    # brackets of every kind, full width too
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    "\uff08",
    "\uff09",
    "\u3010",
    "\u3011",
    "\u00ab",
    "\u00bb",
    "\u201c",
    # what lndesk writes beside names, and look-alikes of it
    "(as ",
    "as ",
    "\uff41\uff53 ",
    "\u0430\u0455 ",  # Cyrillic "as"
    "(you)",
    "you",
    "not followed",
    "lnd1",
    "LND1",
    "\uff4c\uff4e\uff44\uff11",
    "\u04cfnd\u0661",  # Cyrillic palochka, an Arabic-Indic one
    "Ind1",  # a capital I for the l
    "\u0430\u0441\u0435\u043e",  # Cyrillic "aceo"
    "0",
    "l\u0301",
    "abcd2345",
    "qrst",
    # plain letters, spaces and controls
    "Ann",
    "fox",
    " ",
    "\n",
    "\t",
    "\x00",
    "\x1b",
    "\u00a0",
)

hostile = st.lists(st.sampled_from(HOSTILE_PIECES), max_size=60).map("".join)
limits = st.sampled_from([1, 2, 5, 12, 24, 40, MAX_NAME_CHARS])

_LOOK_ALIKES = str.maketrans({"\u0430": "a", "\u0455": "s", "\u0441": "c"})
_OPENING = "([{<\uff08\u3010\u00ab\u201c"


def _loose(text: str) -> str:
    """``text`` as a reader sees it: compatibility forms, case, marks, invisible
    characters and runs of space folded away."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LOOK_ALIKES))
    shown = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf"))
    return " ".join(shown.split())


def _reads_as_attribution(name: str) -> bool:
    """Whether ``name`` holds a bracket opening on "as ", as in "Ann (as curious-fox)"."""
    return any(
        char in _OPENING and _loose(name[i + 1 : i + 8] + "x").startswith("as ")
        for i, char in enumerate(name)
    )


_KEY_LOOK_ALIKES = str.maketrans(
    {"I": "l", "\u04cf": "l", "\u0661": "1", "0": "o", "\u0430": "a", "\u0441": "c"}
    | {"\u0435": "e", "\u043e": "o"}
)


def _reads_as_key(name: str) -> bool:
    """Whether ``name`` holds "lnd1" and base32 letters, as lndesk writes a key, also
    written with look-alikes of them or with marks on them."""
    plain = _loose(unicodedata.normalize("NFKC", name).translate(_KEY_LOOK_ALIKES))
    return re.search(r"[l1]nd1[a-z1-7]{4}", plain) is not None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=hostile, limit=limits)
def test_a_cleaned_name_cleaned_again_is_unchanged(raw: str, limit: int) -> None:
    cleaned = clean_name(raw, limit)
    assert clean_name(cleaned, limit) == cleaned
    assert clean_name(cleaned) == cleaned  # a shorter cut, shown where names are longer
    assert clean_nickname(cleaned) == cleaned
    assert len(cleaned) <= limit
    assert unicodedata.is_normalized("NFC", cleaned)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=hostile)
def test_no_cleaned_name_reads_as_an_attribution_or_a_key(raw: str) -> None:
    cleaned = clean_name(raw)
    assert not _reads_as_attribution(cleaned), cleaned
    assert not _reads_as_key(cleaned), cleaned
    assert not re.search(r"[(\[]\s*you\s*[)\]]", _loose(cleaned)), cleaned


def test_the_oracles_see_what_they_look_for() -> None:
    assert _reads_as_attribution("Ann \uff08\u0430\u0455 fox")
    assert _reads_as_attribution("Ann (A\u0301s fox)")
    assert not _reads_as_attribution("Ann (ask me)")
    assert _reads_as_key("Ann \uff4c\uff4e\uff44\uff11abcd")
    assert _reads_as_key("Ann Ind\u0661\u0430b\u0301c0")
    assert not _reads_as_key("Ann Indlovu")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("{]\u0301x", "x"),  # the mark that held on to "]" is not left at the start
        ("a\u0300\u0300(you)\u0300\u0300b", "\u00e0\u0300\u0300b"),  # marks capped once joined
        ("e\u200b\u0301", "\u00e9"),  # composed once the space between is gone
        ("\u1100\u200b\u1161", "\uac00"),
        ("Wait\u2026", "Wait\u2026"),  # the ellipsis is one character, as the cut writes it
        ("Ann ((((((as fox))))))", "Ann"),
    ],
)
def test_what_one_pass_leaves_is_cleaned(raw: str, shown: str) -> None:
    assert clean_name(raw) == shown
    assert clean_name(shown) == shown


def test_a_cut_name_keeps_its_ellipsis_when_cleaned_with_a_longer_limit() -> None:
    cut = clean_name("x" * 70, 20)
    assert cut == "x" * 19 + "\u2026"
    assert clean_name(cut) == cut
