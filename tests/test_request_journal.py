"""The request journal's lines (lndesk.app.requests): each is read on its own, whatever
a crash left before it."""

from __future__ import annotations

from pathlib import Path

from lndesk.app.requests import RequestJournal
from lndesk.content import Post


def test_a_line_written_after_a_torn_one_is_read(tmp_path: Path) -> None:
    # A crash that tore a line leaves it without its newline; the next request's intent
    # line must not be glued to it, or a retry after a second crash would not find it.
    journal = RequestJournal(tmp_path)
    journal.finished("request0000", {"n": 0})
    with journal.path.open("ab") as torn:
        torn.write(b'{"id":"request0001","seq":')
    journal.intent("request0002", bytes(32), 0, Post("asked after the tear"))
    records = journal.records()
    assert records["request0002"]["after"] == 0
    assert list(records) == ["request0000", "request0002"]


def test_a_line_after_whole_lines_adds_no_empty_one(tmp_path: Path) -> None:
    journal = RequestJournal(tmp_path)
    journal.finished("request0000", {"n": 0})
    journal.finished("request0001", {"n": 1})
    assert b"\n\n" not in journal.path.read_bytes()
