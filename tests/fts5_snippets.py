"""FTS5's own snippet(), which the snippets of lndesk.store.snippets are checked against:
lndesk.store.snippet_table's, for one text or a few."""

from __future__ import annotations

from collections.abc import Sequence

from lndesk.store.snippet_table import fts5_snippets as table_snippets
from lndesk.store.snippet_table import unmarked
from lndesk.store.snippets import ELLIPSIS, SNIPPET_TOKENS, Snippet

__all__ = ["fts5_snippet", "fts5_snippets", "unmarked"]


def fts5_snippets(documents: Sequence[tuple[int, str]], expression: str | None) -> dict[int, str]:
    """FTS5's snippet() of each (rowid, text) document that matches the words of the
    FTS5 query ``expression`` (None: every document), by rowid, its matches marked."""
    return table_snippets(documents, expression, SNIPPET_TOKENS, ELLIPSIS)


def fts5_snippet(text: str, expression: str | None) -> Snippet | None:
    """FTS5's snippet of one text, unmarked (None: the text does not match)."""
    made = fts5_snippets([(1, text)], expression)
    return unmarked(made[1]) if made else None
