"""The index file gives back the pages migration 8 freed (lndesk.store.compact).

A copy made beside the index takes its place only if nothing was written meanwhile; the
file shrinks, and searches find what they found.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
from pathlib import Path

import pytest
from search_index import with_text_copy
from store_helpers import BASE_MS, make_identity

from lndesk.app.node import TextIndexer
from lndesk.content import Post
from lndesk.store import compact, swap
from lndesk.store.index import Index
from lndesk.store.migrations import SCHEMA_VERSION
from lndesk.store.search import SearchQuery, search
from lndesk.store.store import INDEX_NAME, Store

ANN = make_identity(71)
WORDS = "spaced repetition retrieval practice interleaving feedback novices experts".split()


@pytest.fixture(autouse=True)
def small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test's index is small: free pages count from 64 KiB."""
    monkeypatch.setattr(compact, "RECLAIM_BYTES", 1 << 16)


def filled(directory: Path) -> None:
    """A store whose index went through migration 8: its old table's pages are free."""
    rng = random.Random(3)
    with Store(directory) as store:
        for number in range(300):
            text = " ".join(rng.choice(WORDS) for _ in range(200))
            store.publish(ANN, Post(f"{text} number{number}"), BASE_MS + number * 1000)
        store.index_text()
        with_text_copy(store)
    with Store(directory) as store:
        store.index_text()


def found(store: Store) -> list[list[tuple[int, str]]]:
    queries = [SearchQuery("spaced"), SearchQuery("number7"), SearchQuery('"novices experts"')]
    return [[(h.entry.entry.seq, h.snippet) for h in search(store, q, 50)] for q in queries]


def file_size(store: Store) -> int:
    store.index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return (store.directory / INDEX_NAME).stat().st_size


def test_the_freed_pages_are_given_back(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    filled(directory)
    with Store(directory) as store:
        before, expected = file_size(store), found(store)
        free, size = compact.free_bytes(store.index.conn)
        assert free > size / 3  # the old table's texts
        job = compact.start(store)
        assert job is not None
        job.copy()
        assert compact.finish(store, job)
        assert file_size(store) < before - free * 0.9
        assert compact.free_bytes(store.index.conn)[0] == 0
        assert not job.target.exists()
        assert store.index.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert found(store) == expected
        assert compact.start(store) is None  # once
        store.publish(ANN, Post("spaced again"), BASE_MS + 10**6)  # the index takes writes
        store.index_text()
        assert found(store)[0][0][1] == "spaced again"
    with Store(directory) as store:
        assert found(store)[0][0][1] == "spaced again"


@pytest.mark.parametrize("name", ["notes #2", "what?", "100%25 mine"])
def test_a_data_directory_named_with_uri_characters_is_compacted(tmp_path: Path, name: str) -> None:
    # The copy reads the index through a file: URI; '#', '?' and '%' in the directory's
    # name must not make it open another file, or none.
    directory = tmp_path / name
    filled(directory)
    with Store(directory) as store:
        expected = found(store)
        job = compact.start(store)
        assert job is not None
        job.copy()
        assert compact.finish(store, job)
        assert compact.free_bytes(store.index.conn)[0] == 0
        assert found(store) == expected


def test_a_copy_is_dropped_if_the_index_changed_meanwhile(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    filled(directory)
    with Store(directory) as store:
        before = file_size(store)
        job = compact.start(store)
        assert job is not None
        job.copy()
        store.publish(ANN, Post("written while the copy was made"), BASE_MS + 10**6)
        assert not compact.finish(store, job)
        assert not job.target.exists()
        store.index_text()
        assert [h.entry.entry.seq for h in search(store, SearchQuery("written"))] == [301]
        assert file_size(store) >= before
        job = compact.start(store)  # the next try gives them back
        assert job is not None
        job.copy()
        assert compact.finish(store, job)
        assert [h.entry.entry.seq for h in search(store, SearchQuery("written"))] == [301]


def test_a_copy_is_dropped_if_the_index_was_rebuilt_meanwhile(tmp_path: Path) -> None:
    # The rebuilt index has a connection of its own, whose count of changes starts
    # again: it may equal the old one's, and the copy of the old index is not it.
    directory = tmp_path / "data"
    filled(directory)
    with Store(directory) as store:
        job = compact.start(store)
        assert job is not None
        job.copy()
        store.reindex()
        rebuilt = store.index.conn
        assert not compact.finish(store, job)
        assert store.index.conn is rebuilt
        assert not job.target.exists()


def test_an_index_without_many_free_pages_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "data"
    filled(directory)
    with Store(directory) as store:
        monkeypatch.setattr(compact, "RECLAIM_BYTES", 1 << 40)
        assert compact.start(store) is None
        monkeypatch.setattr(compact, "RECLAIM_BYTES", 1 << 16)
        store.publish(ANN, Post("staged, not indexed"), BASE_MS + 10**6)
        assert compact.start(store) is None  # the indexer first
        store.index_text()
        assert compact.start(store) is not None


def test_an_interrupted_copy_leaves_no_file(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    filled(directory)
    with Store(directory) as store:
        job = compact.start(store)
        assert job is not None
        job.target.write_bytes(b"a copy an earlier run left half made")
        job.source = directory / "missing.sqlite3"
        with pytest.raises(sqlite3.OperationalError):
            job.copy()
        assert not job.target.exists()


async def test_the_node_gives_them_back_once_nothing_is_left_to_index(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    filled(directory)
    with Store(directory) as store:
        before, expected = file_size(store), found(store)
        store.publish(ANN, Post("staged, not indexed"), BASE_MS + 10**6)
        indexer = TextIndexer(store)
        assert not await indexer.reclaim()  # the text first (and no wait for the next try)
        store.index_text()
        assert await indexer.reclaim()  # copied on a worker thread
        assert file_size(store) < before
        assert found(store)[1:] == expected[1:]
        assert not await indexer.reclaim()


def published_meanwhile(store: Store) -> str:
    """A post written to the index's write-ahead log (not yet folded into its file)."""
    store.publish(ANN, Post("spaced, and written after the reader began"), BASE_MS + 10**6)
    store.index_text()
    return "spaced, and written after the reader began"


def test_a_copy_is_dropped_while_a_reader_keeps_the_write_ahead_log(tmp_path: Path) -> None:
    # A reader of an older snapshot keeps the checkpoint from folding the write-ahead log
    # into the index file: the log cannot be removed for the copy, so the copy is dropped,
    # at once (the node's thread does not wait for the reader).
    directory = tmp_path / "data"
    filled(directory)
    with Store(directory) as store:
        reader = sqlite3.connect(directory / INDEX_NAME, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM entries").fetchone()
        text = published_meanwhile(store)
        conn = store.index.conn
        timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        job = compact.start(store)
        assert job is not None
        job.copy()
        assert not compact.finish(store, job)
        assert store.index.conn is conn
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == timeout
        assert not job.target.exists()
        assert found(store)[0][0][1] == text
        reader.close()
        job = compact.start(store)  # the next try, with the reader gone
        assert job is not None
        job.copy()
        assert compact.finish(store, job)
        assert found(store)[0][0][1] == text


class Stop(OSError):
    """The machine stops at this step."""


def stop_at_call(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """The ``number``th directory fsync of a swap stops it: the first follows the removal
    of the old write-ahead log, the second the move of the copy."""
    calls = []

    def fsync_directory(directory: Path) -> None:
        calls.append(directory)
        if len(calls) == number:
            raise Stop("the machine stopped")

    monkeypatch.setattr(swap, "fsync_directory", fsync_directory)


def test_a_swap_never_drops_a_write_ahead_log_a_reader_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the unfolded log removed, a stop before the copy is in place would leave the
    # old index without the writes it held.
    directory = tmp_path / "data"
    filled(directory)
    with Store(directory) as store:
        reader = sqlite3.connect(directory / INDEX_NAME, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM entries").fetchone()
        text = published_meanwhile(store)
        job = compact.start(store)
        assert job is not None
        job.copy()
        stop_at_call(monkeypatch, 1)
        with contextlib.suppress(Stop):
            compact.finish(store, job)
        assert found(store)[0][0][1] == text
        assert store.index.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        reader.close()


@pytest.mark.parametrize("number", [1, 2])
def test_a_swap_stopped_at_any_step_leaves_a_whole_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int
) -> None:
    directory = tmp_path / "data"
    filled(directory)
    with Store(directory) as store:
        text = published_meanwhile(store)
        expected = found(store)
        job = compact.start(store)
        assert job is not None
        job.copy()
        stop_at_call(monkeypatch, number)
        with pytest.raises(Stop):
            compact.finish(store, job)
        assert not job.target.exists()
        assert found(store) == expected  # the old index, or the copy: the same
        monkeypatch.undo()
        store.publish(ANN, Post("spaced once more"), BASE_MS + 2 * 10**6)
        store.index_text()
    with Store(directory) as store:
        assert store.index.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert [hit[1] for hit in found(store)[0][:2]] == ["spaced once more", text]


def test_the_copy_is_on_disk_before_it_takes_the_index_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "data"
    filled(directory)
    synced: list[str] = []
    fsync = os.fsync

    def recording(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    with Store(directory) as store:
        job = compact.start(store)
        assert job is not None
        monkeypatch.setattr(os, "fsync", recording)
        job.copy()
        assert str(job.target) in synced


@pytest.mark.parametrize("closes", [False, True])
def test_an_index_that_fails_to_close_stays_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closes: bool
) -> None:
    # Whether the failed close left the connection open or not, the store holds an open
    # index after it, and the copy is dropped.
    directory = tmp_path / "data"
    filled(directory)
    close = Index.close

    def failing(index: Index) -> None:
        monkeypatch.undo()
        if closes:
            close(index)
        raise sqlite3.OperationalError("disk I/O error")

    with Store(directory) as store:
        expected = found(store)
        free = compact.free_bytes(store.index.conn)[0]
        job = compact.start(store)
        assert job is not None
        job.copy()
        monkeypatch.setattr(Index, "close", failing)
        with pytest.raises(sqlite3.OperationalError):
            compact.finish(store, job)
        assert not job.target.exists()
        assert compact.free_bytes(store.index.conn)[0] == free  # not swapped
        assert found(store) == expected
        store.publish(ANN, Post("spaced after the failure"), BASE_MS + 10**6)
        store.index_text()
        assert found(store)[0][0][1] == "spaced after the failure"


def test_no_copy_is_made_on_a_disk_without_room_for_it(tmp_path: Path) -> None:
    # The copy takes as much of the disk as the index holds beside its free pages: on a
    # disk without that room above the margin it would fill the disk under the node's
    # own writes (a publish or a sync failing meanwhile), at every try.
    directory = tmp_path / "data"
    filled(directory)
    room = {"bytes": 0}
    with Store(directory, min_free=1 << 20, free_space=lambda _path: room["bytes"]) as store:
        free, size = compact.free_bytes(store.index.conn)
        room["bytes"] = (1 << 20) + size - free - 1
        assert compact.start(store) is None
        room["bytes"] += 1
        assert compact.start(store) is not None
