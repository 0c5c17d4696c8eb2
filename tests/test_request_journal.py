"""The request journal's lines (lndesk.app.requests): each is read on its own, whatever
a crash left before it."""

from __future__ import annotations

import errno
import json
import logging
import os
import tracemalloc
from pathlib import Path

import pytest

from lndesk.app.requests import (
    MAX_BYTES,
    READ_LIMIT,
    RequestJournal,
    journaled_publish,
    payload_digest,
)
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
    # numbers no log can hold. Each is skipped, as if never written; the others, and
    # the requests after them, are read as written.
    identity = create_identity(tmp_path)
    journal = RequestJournal(tmp_path)
    with journal.path.open("ab") as planted:
        planted.write(b"[" * 100_000 + b"\n")
        planted.write(b'{"id":"planted0001","after":%d,"digest":"%s"}\n' % (2**70, b"ab" * 32))
        planted.write(b'{"id":"planted0002","seq":true,"entry":"%s"}\n' % (b"cd" * 32))
    with Store(tmp_path) as store:
        entry = journaled_publish(store, identity, Post("after them"), (journal, "request0000"))
        assert list(journal.records()) == ["request0000"]
        for planted_id in ("planted0001", "planted0002"):
            assert journal.outcome(planted_id, store, identity.public_key) is None
        found = journal.outcome("request0000", store, identity.public_key)
        assert found is not None and found.published and found.seq == entry.seq == 1


def test_a_damaged_line_of_a_request_cannot_change_what_its_intent_says(tmp_path: Path) -> None:
    # The node died between the append and its journal line; then lines no node wrote,
    # each naming the request, were added. Merged over the intent, any of them would
    # have made the retry miss the entry and sign the post a second time.
    identity = create_identity(tmp_path)
    journal = RequestJournal(tmp_path)
    content = Post("published before the crash")
    with Store(tmp_path) as store:
        journal.intent("request0000", identity.public_key, 0, content)
        entry = store.publish(identity, content)
        digest = payload_digest(content)
        planted = [
            {"id": "request0000", "after": "0", "digest": digest},
            {"id": "request0000", "log": 5, "after": 0, "digest": digest},
            {"id": "request0000", "after": 0, "digest": digest[:-2] + "zz"},
            {"id": "request0000", "after": 7, "digest": digest, "log": None},
            {"id": "request0000", "seq": True, "entry": entry.id.hex()},
            {"id": "request0000", "seq": 1, "entry": "not an entry id"},
            {"id": "request0000", "result": ["not", "an", "answer"]},
            {"id": "request0000", "after": 9, "digest": digest, "seq": 4},
        ]
        with journal.path.open("ab") as file:
            file.writelines(json.dumps(line).encode() + b"\n" for line in planted)
        outcome = journal.outcome("request0000", store, identity.public_key)
        assert outcome is not None and outcome.published
        assert (outcome.seq, outcome.entry_id) == (1, entry.id.hex())


def test_an_oversized_journal_is_read_from_its_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A journal of 64 MiB (no node writes one: it shortens its own under MAX_BYTES) holds,
    # after the bytes planted there, the intent line of a request whose node died after
    # its append. Its newest part is read, and only that: the request is found, and the
    # read holds a few times READ_LIMIT at most, not the file.
    identity = create_identity(tmp_path)
    journal = RequestJournal(tmp_path)
    journal.path.write_bytes(b"")
    os.truncate(journal.path, 64 << 20)  # sparse: no disk is used
    content = Post("asked after the planted bytes")
    with Store(tmp_path) as store:
        journal.intent("request0000", identity.public_key, 0, content)
        entry = store.publish(identity, content)
        tracemalloc.start()
        try:
            with caplog.at_level(logging.WARNING, logger="lndesk.app.requests"):
                outcome = journal.outcome("request0000", store, identity.public_key)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 4 * READ_LIMIT, peak
        assert outcome is not None and outcome.published and outcome.seq == entry.seq
        warned = [r.getMessage() for r in caplog.records if "holds" in r.getMessage()]
        assert len(warned) == 1 and "is shortened" in warned[0], warned
        # What the warning says happens does: the next request's end shortens it.
        journal.finished("request0001", {"n": 1})
        assert journal.path.stat().st_size <= MAX_BYTES
        assert list(journal.records()) == ["request0000", "request0001"]
        assert journal.outcome("request0000", store, identity.public_key) == outcome


def test_the_newest_lines_are_read_wherever_the_limit_cuts(tmp_path: Path) -> None:
    # Lines of every length around the point READ_LIMIT bytes from the end: the first
    # line read is a whole one, never the end of one cut in two.
    for shift in range(-3, 4):
        journal = RequestJournal(tmp_path)
        line = b'{"id":"request0001","result":{"n":1}}\n'
        filler = b"x" * (READ_LIMIT - len(line) + shift - 1) + b"\n"
        journal.path.write_bytes(b'{"id":"request0000","result":{"n":0}}\n' + filler + line)
        records = journal.records()
        assert records == {"request0001": {"id": "request0001", "result": {"n": 1}}}, shift


def test_an_entry_another_request_holds_is_not_taken_for_a_lost_one(tmp_path: Path) -> None:
    # A's intent line was written and the node died before A's append; once it was back,
    # B published the same words. A, asked about again, was not published: B's entry,
    # which B's journal lines name, must not be reported as A's (one post of two lost).
    identity = create_identity(tmp_path)
    journal = RequestJournal(tmp_path)
    content = Post("the same words twice")
    with Store(tmp_path) as store:
        height = store.feed_state(identity.public_key).height
        journal.intent("requestA001", identity.public_key, height, content)
        entry = journaled_publish(store, identity, content, (journal, "requestB001"))
        lost = journal.outcome("requestA001", store, identity.public_key)
        assert lost is not None and not lost.published
        held = journal.outcome("requestB001", store, identity.public_key)
        assert held is not None and held.published and held.seq == entry.seq
        # A retried publishes A's post: both are in the log, each request holds one.
        again = journaled_publish(store, identity, content, (journal, "requestA001"))
        found = journal.outcome("requestA001", store, identity.public_key)
        assert found is not None and found.seq == again.seq == entry.seq + 1
