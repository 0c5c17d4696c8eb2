"""Every row of an index file, to compare two indexes built from the same log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SHADOW = ("_data", "_idx", "_content", "_docsize", "_config")
"""The suffixes of an FTS5 table's own tables (their bytes depend on merge history)."""


def index_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Each table's rows (an FTS5 table's through itself, with their rowids), sorted."""
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
            query = (
                f'SELECT rowid, * FROM "{name}"' if name in virtual else f'SELECT * FROM "{name}"'
            )
            rows[name] = sorted(conn.execute(query).fetchall(), key=repr)
        return rows
    finally:
        conn.close()
