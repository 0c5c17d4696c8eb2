"""FTS5's own snippet() of texts, indexed again in a table in memory for it.

The ``search`` table keeps no text, so FTS5 cannot make snippets there; for a query of
several phrases and a short text, indexing the text again in a table in memory of this
thread, tokenized as ``search`` is, and asking FTS5 for its snippet costs less than
scoring the windows in Python (:mod:`lndesk.store.snippets`, which makes all the
others: FTS5 scores every window against every match, so a long text of many matches
would take it seconds).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

from lndesk.store.fulltext import TOKENIZE

START, END = "\x02", "\x03"
"""Marks of a match in FTS5's snippet(); indexed text never holds them (fulltext.clean)."""

_local = threading.local()


def fts5_snippets(
    documents: Sequence[tuple[int, str]], expression: str | None, size: int, ellipsis: str
) -> dict[int, str]:
    """FTS5's snippet() of ``size`` tokens of each (rowid, text) document that matches
    the words of the FTS5 query ``expression`` (None: every document), by rowid, its
    matches marked with START and END. (A document matches through its words; filters
    match the other column, which changes nothing in a snippet of the first.)"""
    if not documents:
        return {}
    match = f"text : ({expression})" if expression else 'facets : "all"'
    conn = _shown_table()
    try:
        # In rowid order: FTS5 then writes the batch as one segment, not one per document.
        conn.executemany(
            "INSERT INTO shown(rowid, text, facets) VALUES (?, ?, 'all')", sorted(documents)
        )
        rows = conn.execute(
            "SELECT rowid, snippet(shown, 0, ?, ?, ?, ?) FROM shown WHERE shown MATCH ?",
            (START, END, ellipsis, size, match),
        ).fetchall()
        return {int(rowid): str(marked) for rowid, marked in rows}
    finally:
        conn.rollback()  # the table is empty again for the next search


def _shown_table() -> sqlite3.Connection:
    """This thread's database in memory with the empty table ``shown`` (made once: a
    search runs on the node's thread, and making the table costs more than using it)."""
    conn: sqlite3.Connection | None = getattr(_local, "shown", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.execute(
            "CREATE VIRTUAL TABLE shown USING fts5(text, facets, "
            f"tokenize = '{TOKENIZE}', columnsize = 0)"
        )
        conn.commit()
        _local.shown = conn
    return conn


def unmarked(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """A snippet without its match marks, and where the marks were (FTS5 closes every
    mark it opens)."""
    if START not in marked:
        return marked.replace(END, ""), []
    pieces = marked.split(START)
    text = [pieces[0].replace(END, "")]
    length = len(text[0])
    spans: list[tuple[int, int]] = []
    for piece in pieces[1:]:
        inside, _, after = piece.partition(END)
        spans.append((length, length + len(inside)))
        after = after.replace(END, "")
        text += (inside, after)
        length += len(inside) + len(after)
    return "".join(text), spans
