"""Every row of an index file, to compare two indexes built from the same log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SHADOW = ("_data", "_idx", "_content", "_docsize", "_config")
"""The suffixes of an FTS5 table's own tables (their bytes depend on merge history)."""


def index_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Each table's rows, sorted; an FTS5 table's as the words it holds, each with its
    document, column and place (fts5vocab)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        virtual = [name for name, sql in tables if sql.upper().startswith("CREATE VIRTUAL")]
        rows = {}
        for name, _sql in tables:
            if any(name == v + suffix for v in virtual for suffix in SHADOW):
                continue
            query = f'SELECT * FROM "{name}"'
            if name in virtual:  # its words, where and in which document (however merged)
                conn.execute(
                    f'CREATE VIRTUAL TABLE temp."{name}_words" '
                    f"USING fts5vocab(main, \"{name}\", 'instance')"
                )
                query = f'SELECT * FROM temp."{name}_words"'
            rows[name] = sorted(conn.execute(query).fetchall(), key=repr)
        return rows
    finally:
        conn.close()
