"""How SQLite's unicode61 tokenizer (``remove_diacritics 2``, the tokenizer of the
``search`` table) sees a text, character for character, for the snippets of
:mod:`lndesk.store.snippets`.

A text is *folded*: every character becomes what unicode61 makes of it, in a string of
the same length (a separator a space, a token character its fold, a character kept in
a token but folded to none DROPPED), so that its words are one ``split`` and a
character's place in it is its place in the text.

SIMPLE_RANGES are the characters whose folds Python's tables give exactly as unicode61
does: Latin, Greek and Cyrillic letters (lowercased; Latin ones without their
diacritics), digits, punctuation and common symbols and emoji. tests/test_snippets.py
checks each of them against SQLite's own tokenizer. What unicode61 does with any other
character (Chinese, other scripts, combining marks, newer symbols) SQLite itself is
asked (:mod:`lndesk.store.unicode61`), once.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

from lndesk.store import unicode61

SEPARATOR, DROPPED = unicode61.SEPARATOR, unicode61.DROPPED

FOLDS_LIMIT = 1 << 16
"""Characters beyond the simple ones whose folds are kept at hand (about 6 MB); past
it, the kept ones are forgotten (SQLite's answers stay in :mod:`lndesk.store.unicode61`)."""

SIMPLE_RANGES = (
    (0x0000, 0x01DF),
    (0x01E4, 0x01ED),
    (0x01F0, 0x01FB),
    (0x0200, 0x02FF),
    (0x0370, 0x0377),
    (0x037A, 0x037E),
    (0x0384, 0x038A),
    (0x038C, 0x038C),
    (0x038E, 0x03A1),
    (0x03A3, 0x0527),
    (0x1E00, 0x1EFF),
    (0x2000, 0x2064),
    (0x206A, 0x2071),
    (0x2074, 0x208E),
    (0x2090, 0x209C),
    (0x20A0, 0x20B9),
    (0x2100, 0x212A),
    (0x212C, 0x2189),
    (0x2190, 0x23F3),
    (0x2400, 0x2426),
    (0x2440, 0x244A),
    (0x2460, 0x26FF),
    (0x2701, 0x27BF),
    (0xFE00, 0xFE0F),
    (0x1F300, 0x1F320),
    (0x1F330, 0x1F335),
    (0x1F337, 0x1F37C),
    (0x1F380, 0x1F393),
    (0x1F3A0, 0x1F3C4),
    (0x1F3C6, 0x1F3CA),
    (0x1F3E0, 0x1F3F0),
    (0x1F400, 0x1F43E),
    (0x1F440, 0x1F440),
    (0x1F442, 0x1F4F7),
    (0x1F4F9, 0x1F4FC),
    (0x1F500, 0x1F53D),
    (0x1F540, 0x1F543),
    (0x1F550, 0x1F567),
    (0x1F5FB, 0x1F640),
    (0x1F645, 0x1F64F),
    (0x1F680, 0x1F6C5),
)
"""Characters (first, last) whose tokens ``fold`` forms as unicode61 does. Left out in
these blocks: characters Python's and SQLite's Unicode tables disagree on (SQLite's
predate many emoji), and letters unicode61 folds another way (Ǡ, Ǣ, Ǯ, Ǽ, Ǿ keep their
marks; the Ångström sign)."""

_ASCII_FOLDS = {c: chr(c).lower() if chr(c).isalnum() else SEPARATOR for c in range(128)}
"""How unicode61 folds an ASCII character (str.translate has a fast path for it)."""
_DROPPED_RUN = re.compile(f"(?<![^{SEPARATOR}]){DROPPED}+(?![^{SEPARATOR}])")
"""Characters folded to none and nothing else between separators: no token, a gap."""


def is_token_char(char: str) -> bool:
    """Whether unicode61 keeps ``char`` in a token (categories L*, N*; Co is not simple)."""
    return unicodedata.category(char)[0] in "LN"


def fold(char: str) -> str:
    """A token character as unicode61 (remove_diacritics 2) indexes it: lowercased (the
    simple case folding where it is one character: the micro sign is mu, the long s is
    s), Latin letters
    without their diacritics."""
    folded = char.casefold()
    if len(folded) != 1:
        folded = char.lower()
    code = ord(char)
    if code <= 0x024F or 0x1E00 <= code <= 0x1EFF:
        decomposed = unicodedata.normalize("NFD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded


@functools.cache
def _seed() -> dict[int, str]:
    """The folds of every simple character (a separator: SEPARATOR)."""
    return {
        code: fold(chr(code)) if is_token_char(chr(code)) else SEPARATOR
        for lo, hi in SIMPLE_RANGES
        for code in range(lo, hi + 1)
    }


_folds: dict[int, str] = {}
_lock = threading.Lock()


def _translation(text: str) -> dict[int, str]:
    """A ``str.translate`` table that folds every character of the non-ASCII ``text``:
    the simple ones' and those asked of SQLite lately, at most FOLDS_LIMIT of them."""
    global _folds  # noqa: PLW0603 - one table for the process, replaced when full
    table = _folds
    missing = set(map(ord, set(text))).difference(table)
    if not missing:
        return table
    with _lock:
        table = _folds
        if len(table) + len(missing) > len(_seed()) + FOLDS_LIMIT or not table:
            table = dict(_seed())
        missing.difference_update(table)
        table.update(unicode61.translation(map(chr, missing)))
        _folds = table
    return table


def folded(text: str) -> str:
    """``text`` as unicode61 sees it, character for character: a separator is
    SEPARATOR, a token character its fold; characters folded to none are DROPPED
    inside a token, SEPARATOR where they are all there is between separators."""
    if text.isascii():
        return text.translate(_ASCII_FOLDS)
    done = text.translate(_translation(text))
    if DROPPED in done:
        done = _DROPPED_RUN.sub(lambda run: SEPARATOR * len(run[0]), done)
    return done


def split_words(folded_text: str, plain: bool) -> list[str]:
    """The tokens of a folded text; ``plain``: of an ASCII text (no other white space)."""
    if plain:
        return folded_text.split()
    if DROPPED in folded_text:
        folded_text = folded_text.replace(DROPPED, "")
    return list(filter(None, folded_text.split(SEPARATOR)))


def tokens(text: str) -> list[str]:
    """The tokens of a text as unicode61 indexes them."""
    return split_words(folded(text), text.isascii())
