"""The request journal's lines (lndesk.app.requests): each is read on its own, whatever
a crash left before it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from lndesk.app.requests import RequestJournal, journaled_publish
from lndesk.app.service import create_identity
from lndesk.content import Post
from lndesk.errors import DiskFullError
from lndesk.store.store import Store


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


class FillingDisk:
    """``os.write`` on a disk with ``room`` bytes left, writing at most ``chunk`` bytes a
    call (a short write, as on a disk that fills mid-write), then failing with ENOSPC."""

    def __init__(self, room: int, chunk: int) -> None:
        self.room = room
        self.chunk = chunk
        self._write = os.write

    def __call__(self, fd: int, data: bytes | memoryview) -> int:
        size = min(len(data), self.chunk, self.room)
        if size == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = self._write(fd, bytes(data[:size]))
        self.room -= written
        return written


def test_a_line_written_in_short_writes_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = RequestJournal(tmp_path)
    monkeypatch.setattr(os, "write", FillingDisk(10**6, 7))
    journal.intent("request0000", bytes(32), 4, Post("written seven bytes at a time"))
    monkeypatch.undo()
    assert journal.records()["request0000"]["after"] == 4


def test_an_intent_line_the_disk_cut_short_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The intent line must be whole on the disk before the entry is signed: were it cut
    # short silently, a node dying after the append would leave a request the journal
    # never saw, which a retry would publish a second time.
    identity = create_identity(tmp_path)
    journal = RequestJournal(tmp_path)
    with Store(tmp_path) as store:
        monkeypatch.setattr(os, "write", FillingDisk(40, 4096))
        with pytest.raises(DiskFullError):
            journaled_publish(store, identity, Post("not signed"), (journal, "request0000"))
        monkeypatch.undo()
        assert store.feed_state(identity.public_key).height == 0
    assert journal.records() == {}


def test_damaged_lines_leave_the_others_readable(tmp_path: Path) -> None:
    # Lines no node wrote (damage, or planted): one nested too deep to decode, one whose
    # numbers no log can hold. Each is skipped or read as not published; the others, and
    # the requests after them, are read as written.
    identity = create_identity(tmp_path)
    journal = RequestJournal(tmp_path)
    with journal.path.open("ab") as planted:
        planted.write(b"[" * 100_000 + b"\n")
        planted.write(b'{"id":"planted0001","after":%d,"digest":"00"}\n' % 2**70)
        planted.write(b'{"id":"planted0002","seq":true,"entry":"00"}\n')
    with Store(tmp_path) as store:
        entry = journaled_publish(store, identity, Post("after them"), (journal, "request0000"))
        assert list(journal.records()) == ["planted0001", "planted0002", "request0000"]
        for planted_id in ("planted0001", "planted0002"):
            outcome = journal.outcome(planted_id, store, identity.public_key)
            assert outcome is not None and not outcome.published
        found = journal.outcome("request0000", store, identity.public_key)
        assert found is not None and found.published and found.seq == entry.seq == 1
