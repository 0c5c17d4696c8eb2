"""Snippets of hostile search hits: the time to make one, whatever the text's script.

A post of thousands of words that all match a common query, within the payload cap
(64 KiB), in Latin, Chinese, Korean or with combining marks: the time ``snippets``
takes to make its snippet for that query (the median of ``--runs``, after one run that
asks SQLite about the text's characters), and, with ``--fts5``, what FTS5's own
``snippet()`` takes for the same text (it scores every window against every match).

    python bench/hostile_snippets.py
    python bench/hostile_snippets.py --fts5     # FTS5's too (a minute or more)
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
import time

from lndesk.entry import MAX_PAYLOAD_SIZE
from lndesk.store.fulltext import TOKENIZE
from lndesk.store.search import query_terms, terms_expression
from lndesk.store.snippets import ELLIPSIS, SNIPPET_TOKENS, snippets

WORDS = {"latin": "the", "chinese": "学习", "korean": "한국어", "marks": "mote\u0301"}


def fts5_snippet(text: str, expression: str | None) -> None:
    """FTS5's own snippet() of ``text`` (in a table of its own in memory)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.execute(f"CREATE VIRTUAL TABLE shown USING fts5(text, tokenize = '{TOKENIZE}')")
        conn.execute("INSERT INTO shown(rowid, text) VALUES (1, ?)", (text,))
        conn.execute(
            "SELECT snippet(shown, 0, '[', ']', ?, ?) FROM shown WHERE shown MATCH ?",
            (ELLIPSIS, SNIPPET_TOKENS, expression),
        ).fetchall()


def timed(run: object, runs: int) -> float:
    assert callable(run)
    run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fts5", action="store_true", help="time FTS5's snippet() too")
    args = parser.parse_args()
    print(f"{'script':<10} {'matches':>8} {'chars':>7} {'snippets':>10} {'fts5':>10}")
    for script, word in WORDS.items():
        terms = query_terms(word)
        expression = terms_expression(terms)
        most = MAX_PAYLOAD_SIZE // len(f"{word} ".encode())  # as many as a post holds
        for matches in (1000, 4000, most):
            text = f"{word} " * matches
            ours = timed(lambda: snippets([(1, text)], terms, expression), args.runs)  # noqa: B023
            theirs = "-"
            if args.fts5:
                seconds = timed(lambda: fts5_snippet(text, expression), 1)  # noqa: B023
                theirs = f"{seconds * 1000:.1f} ms"
            print(f"{script:<10} {matches:>8,} {len(text):>7,} {ours * 1000:>7.1f} ms {theirs:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
