"""A rebuilt index takes the old one's place safely wherever the swap stops
(lndesk/store/rebuild.py through lndesk/store/swap.py): the store opens again with an
index that is whole, equals a fresh rebuild, and has lost nothing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from index_dump import index_rows
from store_helpers import BASE_MS, child_env, make_chain, make_identity, wire

from lndesk.content import Post
from lndesk.errors import StoreError
from lndesk.store import idprefix, swap
from lndesk.store.index import Index
from lndesk.store.store import INDEX_NAME, Store

ANN, BO = make_identity(81), make_identity(82)
NEW = INDEX_NAME + ".new"


class Stop(OSError):
    """The machine stops at this step."""


def filled(store: Store) -> None:
    """Entries in the index's file and in its write-ahead log (the store stays open)."""
    for n in range(12):
        store.publish(ANN, Post(f"note {n}"), claimed_ms=BASE_MS + n)
    store.ingest(BO.public_key, wire(make_chain(BO, 6)))


def old_log(data_dir: Path) -> bytes:
    wal = (data_dir / (INDEX_NAME + "-wal")).read_bytes()
    assert len(wal) > 4096  # frames of the old index
    return wal


def stop_at(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Make the swap stop at ``step``: the old index's close failing with its connection
    left open or closed, the directory fsync after the old log's removal, the move of
    the new file, the directory fsync after it."""
    fsyncs: list[Path] = []
    fsync_directory = swap.fsync_directory
    replace = Path.replace
    close = Index.close

    def failing_close(index: Index) -> None:
        monkeypatch.undo()
        if step == "close, closed":
            close(index)
        raise sqlite3.OperationalError("disk I/O error")

    def stopping_fsync(directory: Path) -> None:
        fsyncs.append(directory)
        if step == f"fsync {len(fsyncs)}":
            raise Stop("the machine stopped")
        fsync_directory(directory)

    def stopping_replace(path: Path, target: str | os.PathLike[str]) -> Path:
        if step == "move" and path.name == NEW:
            raise Stop("the machine stopped")
        return replace(path, target)

    if step.startswith("close"):
        monkeypatch.setattr(Index, "close", failing_close)
    monkeypatch.setattr(swap, "fsync_directory", stopping_fsync)
    monkeypatch.setattr(Path, "replace", stopping_replace)


def fresh_rebuild(data_dir: Path, tmp_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """The index rows a rebuild in one go makes of a copy of ``data_dir``'s log."""
    copy = tmp_path / "fresh"
    shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns("index*"))
    with Store(copy, reindex=True):
        pass
    return index_rows(copy / INDEX_NAME)


def assert_whole(data_dir: Path, tmp_path: Path, posts: int) -> None:
    """The store opens with a whole index equal to a fresh rebuild (once the ids the old
    index stored since its last fold are folded, as a rebuild folds them all), holding
    everything."""
    with Store(data_dir) as store:
        assert store.index.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.feed_state(ANN.public_key).height == posts
        assert store.feed_state(BO.public_key).height == 6
        assert not (data_dir / NEW).exists()
        store.index.begin()
        idprefix.fold(store.index.conn, limit=None)
        store.index.commit()
    assert index_rows(data_dir / INDEX_NAME) == fresh_rebuild(data_dir, tmp_path)


@pytest.mark.parametrize("step", ["close, open", "close, closed", "fsync 1", "move", "fsync 2"])
def test_a_rebuild_swap_stopped_at_any_step_leaves_a_whole_index(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    with Store(data_dir) as store:
        filled(store)
        rebuild = store.start_rebuild()
        store.rebuild_step(rebuild, 5)
        store.publish(ANN, Post("written while it was rebuilt"), claimed_ms=BASE_MS + 100)
        stop_at(monkeypatch, step)
        with pytest.raises(StoreError) as stopped:
            store.finish_rebuild(rebuild)
        monkeypatch.undo()
        assert "stopped" in str(stopped.value) or "disk I/O error" in str(stopped.value)
        assert not store.rebuilding
        assert not (data_dir / NEW).exists()
        # The store goes on with an open index, the old one or the new one.
        assert store.feed_state(ANN.public_key).height == 13
        assert store.publish(ANN, Post("after the stop")).seq == 14
        assert store.feed_state(BO.public_key).height == 6
    assert_whole(data_dir, tmp_path, 14)


def test_no_old_write_ahead_log_reaches_the_new_index(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A directory change is on the disk only once the directory is synced: were the new
    # file moved in before the old log's removal is, a machine stopping right after the
    # move could leave that log beside the new file, and SQLite would apply its pages.
    durable: dict[str, bytes | None] = {}
    wal = data_dir / (INDEX_NAME + "-wal")
    fsync_directory = swap.fsync_directory

    def syncing(directory: Path) -> None:
        if not (data_dir / NEW).exists():  # moved: the machine stops before this sync
            raise Stop("the machine stopped")
        fsync_directory(directory)
        durable["wal"] = wal.read_bytes() if wal.exists() else None

    with Store(data_dir) as store:
        filled(store)
    with Store(data_dir) as store:  # the log holds only what this one writes
        for n in range(3):
            store.publish(ANN, Post(f"more {n}"), claimed_ms=BASE_MS + 100 + n)
        store.index_text()  # pages the rebuilt index lays out otherwise
        rebuild = store.start_rebuild()
        durable["wal"] = old_log(data_dir)  # on the disk as the swap begins
        monkeypatch.setattr(swap, "fsync_directory", syncing)
        with pytest.raises(StoreError, match="stopped"):
            store.finish_rebuild(rebuild)
        monkeypatch.undo()
    # The disk as the machine left it: the move is on it, the log's removal only if the
    # directory was synced after it.
    for suffix in ("-wal", "-shm"):
        (data_dir / (INDEX_NAME + suffix)).unlink(missing_ok=True)
    if durable["wal"] is not None:
        wal.write_bytes(durable["wal"])
    assert_whole(data_dir, tmp_path, 15)


def test_the_new_index_is_on_the_disk_before_it_is_moved(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    fsync = os.fsync
    replace = Path.replace

    def recording(fd: int) -> None:
        events.append("sync " + os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def moving(path: Path, target: str | os.PathLike[str]) -> Path:
        events.append("move " + path.name)
        return replace(path, target)

    with Store(data_dir) as store:
        filled(store)
        rebuild = store.start_rebuild()
        monkeypatch.setattr(os, "fsync", recording)
        monkeypatch.setattr(Path, "replace", moving)
        assert store.finish_rebuild(rebuild) == 18
    assert events.index("sync " + NEW) < events.index("move " + NEW)


READER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM entries").fetchone()
print("reading", flush=True)
sys.stdin.read()
"""


def test_an_old_index_left_behind_its_dropped_log_catches_up(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reader of an older snapshot keeps the old index's log from being folded into its
    # file as it closes; the swap drops that log, then stops before the move: the old
    # file is behind the store's log, and catches up before the next write.
    with Store(data_dir) as store:
        filled(store)
    with Store(data_dir) as store:
        reader = subprocess.Popen(  # another process: one reading the directory
            [sys.executable, "-c", READER, str(data_dir / INDEX_NAME)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline() == "reading\n"
        for n in range(3):
            store.publish(ANN, Post(f"more {n}"), claimed_ms=BASE_MS + 100 + n)
        rebuild = store.start_rebuild()
        stop_at(monkeypatch, "fsync 1")
        with pytest.raises(StoreError, match="stopped"):
            store.finish_rebuild(rebuild)
        monkeypatch.undo()
        reader.stdin.close()
        assert reader.wait() == 0
        assert store.index_behind
        assert store.publish(ANN, Post("after the stop")).seq == 16
        assert [s.entry.seq for s in store.feed_entries(ANN.public_key)][:2] == [16, 15]
    assert_whole(data_dir, tmp_path, 16)


def test_a_reader_in_this_process_does_not_keep_a_failed_swap_from_an_index(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A connection of this process reading an older snapshot of the old index (a store
    # opened read-only beside the node, the compaction's copy) shares SQLite's view of
    # that file's write-ahead log, which the swap dropped: the old file, left in place by
    # a swap stopped before the move, cannot be opened again while it reads. The rebuilt
    # index, whole, takes its place then.
    with Store(data_dir) as store:
        filled(store)
    with Store(data_dir) as store:
        uri = f"file:{data_dir / INDEX_NAME}?mode=ro"
        reader = sqlite3.connect(uri, uri=True, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM entries").fetchone()
        for n in range(3):
            store.publish(ANN, Post(f"more {n}"), claimed_ms=BASE_MS + 100 + n)
        rebuild = store.start_rebuild()
        stop_at(monkeypatch, "fsync 1")  # the old log is removed, the new file not moved
        with pytest.raises(StoreError, match="stopped"):
            store.finish_rebuild(rebuild)
        monkeypatch.undo()
        assert not (data_dir / NEW).exists()
        assert not store.index_behind  # the new index took the place
        assert store.feed_state(ANN.public_key).height == 15
        assert store.publish(ANN, Post("after the stop")).seq == 16
        assert reader.execute("SELECT count(*) FROM entries").fetchone() == (18,)
        reader.close()
    assert_whole(data_dir, tmp_path, 16)


KILLED = """
import os, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from store_helpers import make_identity
from lndesk.content import Post
from lndesk.store import compact
from lndesk.store.store import Store

store = Store(Path(sys.argv[1]))
for n in range(40):
    store.publish(make_identity(81), Post(f"note {{n}}"))
if sys.argv[2] == "rebuilding":
    store.rebuild_step(store.start_rebuild(), 10)
else:
    compact.RECLAIM_BYTES = compact.RECLAIM_FRACTION = 0  # copied however small
    store.index_text()
    job = compact.start(store)
    assert job is not None
    job.copy()
os._exit(9)
"""


@pytest.mark.parametrize("doing", ["rebuilding", "compacting"])
def test_an_open_removes_the_index_file_a_stopped_rebuild_or_copy_left(
    data_dir: Path, doing: str
) -> None:
    # A rebuilt index or a compact copy is as large as the index: one left by a machine
    # that stopped must not hold that much of the disk until the next rebuild.
    code = KILLED.format(tests=str(Path(__file__).parent))
    done = subprocess.run(
        [sys.executable, "-c", code, str(data_dir), doing],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 9, done.stderr
    left = NEW if doing == "rebuilding" else INDEX_NAME + ".compact"
    assert (data_dir / left).exists()
    with Store(data_dir) as store:
        assert store.feed_state(ANN.public_key).height == 40
    assert sorted(p.name for p in data_dir.glob(INDEX_NAME + "*")) == [INDEX_NAME]
    with Store.open_read_only(data_dir) as store:  # reading only: nothing to remove
        assert store.feed_state(ANN.public_key).height == 40
