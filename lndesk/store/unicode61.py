"""What SQLite's unicode61 tokenizer does with a character, asked of SQLite itself.

unicode61 treats each character on its own: it either separates tokens or is kept in
one, folded to one character (lowercased, a Latin letter without its diacritics) or to
none (a combining mark, with ``remove_diacritics 2``). So what it does with a character
shows when "a", the character and "a" are indexed in a table in memory tokenized as
``search`` is: two tokens "a" for a separator, else one token, "a", the fold and "a".

:mod:`lndesk.store.folding` tokenizes the characters Python's tables cannot tell
exactly this way (Chinese, other scripts, newer symbols): they are asked about as texts
bring them, all of a text's new ones in one statement, and the answers kept, at most 4
bytes a code point (4.4 MB if every code point was asked about).
"""

from __future__ import annotations

import sqlite3
import threading
from array import array
from collections.abc import Iterable

from lndesk.store.fulltext import TOKENIZE

SEPARATOR = " "
"""What :func:`translation` maps a separator to."""
DROPPED = "\x01"
"""What :func:`translation` maps a character kept in a token but folded to none to."""

_UNKNOWN = -2
_SEPARATED = -1
_NONE = 0x110000
"""A character kept in its token, folded to none."""
_PAGE = 256

_pages: dict[int, array[int]] = {}
_lock = threading.Lock()
_local = threading.local()


def _probe_table() -> sqlite3.Connection:
    """This thread's database in memory with the empty table ``probe``."""
    conn: sqlite3.Connection | None = getattr(_local, "probe", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.execute(f"CREATE VIRTUAL TABLE probe USING fts5(text, tokenize = '{TOKENIZE}')")
        conn.execute("CREATE VIRTUAL TABLE probe_words USING fts5vocab(probe, instance)")
        conn.commit()
        _local.probe = conn
    return conn


def _ask(codes: list[int]) -> dict[int, int]:
    """What unicode61 does with each of ``codes``, as kept in ``_pages``."""
    conn = _probe_table()
    try:
        conn.executemany(
            "INSERT INTO probe(rowid, text) VALUES (?, ?)", ((c, f"a{chr(c)}a") for c in codes)
        )
        words: dict[int, list[str]] = {}
        for doc, term in conn.execute("SELECT doc, term FROM probe_words"):
            words.setdefault(int(doc), []).append(str(term))
    finally:
        conn.rollback()  # the table is empty again for the next question
    answers = {}
    for code in codes:
        found = words.get(code, [])
        if found == ["a", "a"]:
            answers[code] = _SEPARATED
        elif len(found) == 1 and found[0] == "aa":
            answers[code] = _NONE
        elif len(found) == 1 and len(found[0]) == 3:
            answers[code] = ord(found[0][1])
        else:  # no version of SQLite does this: a peer's text must not break search
            answers[code] = _SEPARATED
    return answers


def _known(code: int) -> int:
    page = _pages.get(code // _PAGE)
    return _UNKNOWN if page is None else page[code % _PAGE]


def translation(chars: Iterable[str]) -> dict[int, str]:
    """A ``str.translate`` table of ``chars`` that keeps a text's length: a separator
    becomes SEPARATOR, a token character its fold, or DROPPED when it folds to none."""
    table = {}
    codes = set()
    for char in chars:
        if char.isascii():  # NUL would end the text asked about
            table[ord(char)] = char.lower() if char.isalnum() else SEPARATOR
        else:
            codes.add(ord(char))
    with _lock:
        unknown = sorted(code for code in codes if _known(code) == _UNKNOWN)
    if unknown:
        answers = _ask(unknown)
        with _lock:
            for code, answer in answers.items():
                page = _pages.setdefault(code // _PAGE, array("i", [_UNKNOWN]) * _PAGE)
                page[code % _PAGE] = answer
    with _lock:
        for code in codes:
            known = _known(code)
            if known == _SEPARATED:
                table[code] = SEPARATOR
            elif known == _NONE:
                table[code] = DROPPED
            else:
                table[code] = chr(known)
    return table
