"""The store under faults: a full disk while publishing and syncing, in one long-running
process. The disk fills for real on a small tmpfs when the tests run as root, and by an
injected failure at each write point (the log's write, the log's sync, the index
transaction) everywhere.

What must hold: no position of a feed is ever signed twice; every acknowledged post
survives a rebuild of the index; a new follower gets the whole feed; the user reads
"the disk is full", never a database error; publishing resumes once there is room.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from store_helpers import make_identity

from lndesk.content import Post
from lndesk.entry import Entry
from lndesk.errors import DiskFullError, LndeskError
from lndesk.identity import Identity
from lndesk.store import logfile
from lndesk.store.index import Index
from lndesk.store.store import Store
from lndesk.store.verify import verify_store

ALICE = make_identity(1)
MB = 1024 * 1024


def publish_with_retries(
    store: Store, identity: Identity, text: str, attempts: int = 3
) -> tuple[Entry | None, list[LndeskError]]:
    """Publish like a user who presses Publish again after an error."""
    errors: list[LndeskError] = []
    for _ in range(attempts):
        try:
            return store.publish(identity, Post(text)), errors
        except LndeskError as exc:  # anything else (sqlite3, OSError) fails the test
            errors.append(exc)
    return None, errors


def check_acknowledged(directory: Path, acknowledged: list[Entry], follower_dir: Path) -> None:
    """Every acknowledged entry is in the log, once, after a full rebuild; the feed
    verifies; a new follower stores all of it."""
    with Store(directory) as store:
        report = verify_store(store)
        assert report.double_signed == [], report.problems
        assert report.ok, report.problems
        store.reindex()
        stored = {row.seq: row.id for row in store.feed_rows(ALICE.public_key)}
        for entry in acknowledged:
            assert stored.get(entry.seq) == entry.id, f"acknowledged entry {entry.seq} lost"
        assert sorted(stored) == list(range(1, len(stored) + 1))
        items = list(store.feed_items(ALICE.public_key))
    with Store(follower_dir) as follower:
        result = follower.ingest(ALICE.public_key, items)
        assert result.stored == len(items)
        assert follower.feed_state(ALICE.public_key).height == len(items)


# --- injected failures at each write point ------------------------------------------


class Faults:
    """Makes the n-th call of a write function fail with ENOSPC (a verified fake of a
    full disk: the same errno the kernel gives)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, fail_at: set[int]) -> None:
        self.calls = 0
        real: Callable[..., Any] = getattr(os, name)

        def failing(*args: Any) -> Any:
            self.calls += 1
            if self.calls in fail_at:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(*args)

        monkeypatch.setattr(logfile.os, name, failing)


@contextlib.contextmanager
def index_full(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every index transaction fails as SQLite fails on a full disk (SQLITE_FULL)."""

    def full(*_args: Any, **_kwargs: Any) -> Any:
        error = sqlite3.OperationalError("database or disk is full")
        error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
        raise error

    with monkeypatch.context() as patch:
        patch.setattr(Index, "add_entries", full)
        yield


@pytest.mark.parametrize("name", ["pwrite", "fdatasync"])
def test_a_failed_log_write_is_not_acknowledged_and_never_signed_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    directory = tmp_path / "data"
    acknowledged = []
    with Store(directory, min_free=0) as store:
        Faults(monkeypatch, name, fail_at={3, 4, 7})
        for number in range(8):
            entry, errors = publish_with_retries(store, ALICE, f"post {number}")
            assert all(isinstance(error, DiskFullError) for error in errors)
            assert all("the disk is full" in str(error) for error in errors)
            if entry is not None:
                acknowledged.append(entry)
        monkeypatch.undo()
        assert [entry.seq for entry in acknowledged] == list(range(1, len(acknowledged) + 1))
    check_acknowledged(directory, acknowledged, tmp_path / "follower")


def test_a_failed_index_write_after_the_append_publishes_and_never_signs_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "data"
    acknowledged = []
    with Store(directory, min_free=0) as store:
        for number in range(3):
            acknowledged.append(store.publish(ALICE, Post(f"before {number}")))
        with index_full(monkeypatch):
            for number in range(4):
                entry, errors = publish_with_retries(store, ALICE, f"while full {number}")
                if entry is not None:
                    acknowledged.append(entry)
                for error in errors:
                    assert isinstance(error, DiskFullError), error
        # The first post while full reached the log: acknowledged, the index left behind.
        assert [entry.seq for entry in acknowledged] == [1, 2, 3, 4]
        assert store.index_behind
        assert any("stored in the log" in warning for warning in store.warnings)
        # Space is back: the same process catches up and goes on from the log's head.
        acknowledged.append(store.publish(ALICE, Post("after")))
        assert acknowledged[-1].seq == 5
        assert acknowledged[-1].prev == acknowledged[3].id
        assert not store.index_behind
    check_acknowledged(directory, acknowledged, tmp_path / "follower")


def test_verify_reads_the_log_and_finds_a_position_signed_twice(tmp_path: Path) -> None:
    """What an older lndesk left on a full disk: two signed entries at one seq, only the
    first indexed. `verify` must not say "everything verifies"."""
    directory = tmp_path / "data"
    with Store(directory) as store:
        first = store.publish(ALICE, Post("one"))
        store.publish(ALICE, Post("two"))
        other = store.publish(ALICE, Post("three"))
    # Append a second, different entry at seq 2 straight into the log.
    from lndesk.entry import create_entry
    from lndesk.store.logfile import KIND_ENTRY, LogFile, encode_record

    payload = b"\xa1dtextetwice"
    twin = create_entry(ALICE, seq=2, prev=first.id, claimed_ms=1, type="post", payload=payload)
    log = LogFile(directory / "entries.log")
    log.append([encode_record(KIND_ENTRY, 1, twin.raw, payload)])
    log.close()
    with Store(directory) as store:
        report = verify_store(store)
    assert report.double_signed == [(ALICE.public_key, 2)]
    assert not report.ok
    assert other.seq == 3


def test_syncing_stops_before_the_disk_is_full_and_resumes(tmp_path: Path) -> None:
    from store_helpers import make_chain, wire

    free = {"bytes": 100 * MB}
    bob = make_identity(2)
    chain = wire(make_chain(bob, 6))
    with Store(tmp_path / "data", min_free=20 * MB, free_space=lambda _p: free["bytes"]) as store:
        store.ingest(bob.public_key, chain[:3])
        free["bytes"] = 5 * MB
        with pytest.raises(DiskFullError, match=r"the disk is full: 5\.0 MB free, lndesk needs 20"):
            store.ingest(bob.public_key, chain[3:])
        with pytest.raises(DiskFullError):
            store.publish(ALICE, Post("no room"))
        assert store.feed_state(bob.public_key).height == 3
        free["bytes"] = 100 * MB
        assert store.ingest(bob.public_key, chain[3:]).stored == 3
        assert store.publish(ALICE, Post("room again")).seq == 1


# --- a real full disk ---------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the injected failures above cover this")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("margin", [0, 1 * MB])
def test_filling_a_real_disk_while_publishing(
    small_disk: Path, tmp_path: Path, margin: int
) -> None:
    """Without a margin the writes themselves hit ENOSPC (log or index); with one, the
    store stops first. Either way: nothing signed twice, nothing acknowledged lost."""
    directory = small_disk / "data"
    filler = small_disk / "filler"
    filler.write_bytes(bytes(1 * MB))
    acknowledged = []
    errors: list[LndeskError] = []
    text = "x" * 30_000
    with Store(directory, min_free=margin) as store:
        number = 0
        while len(errors) < 12:
            number += 1
            entry, failed = publish_with_retries(store, ALICE, f"{number} {text}")
            errors += failed
            if entry is not None:
                acknowledged.append(entry)
        assert all(isinstance(error, DiskFullError) for error in errors), errors
        filler.unlink()  # room again: the same process carries on
        for extra in range(5):
            acknowledged.append(store.publish(ALICE, Post(f"after {extra}")))
    assert len(acknowledged) > 10
    assert [entry.seq for entry in acknowledged] == list(range(1, len(acknowledged) + 1))
    check_acknowledged(directory, acknowledged, tmp_path / "follower")


@pytest.mark.parametrize("name", ["pwrite", "fdatasync"])
def test_a_publish_that_failed_leaves_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A post the user was told failed never shows up later (no ghost): whatever part
    of its record reached the file is taken back."""
    directory = tmp_path / "data"
    with Store(directory, min_free=0) as store:
        store.publish(ALICE, Post("kept"))
        real = os.pwrite

        def half_then_full(fd: int, data: Any, offset: int) -> int:
            real(fd, bytes(data[: len(data) // 2]), offset)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        if name == "pwrite":
            monkeypatch.setattr(logfile.os, "pwrite", half_then_full)
        else:
            Faults(monkeypatch, "fdatasync", fail_at={1})
        with pytest.raises(DiskFullError):
            store.publish(ALICE, Post("the user was told this failed"))
        monkeypatch.undo()
    with Store(directory) as store:
        assert store.warnings == []
        assert [row.seq for row in store.feed_rows(ALICE.public_key)] == [1]


def test_export_from_the_log_takes_payloads_filled_in_later(tmp_path: Path) -> None:
    """The export reads the log, not the index: an own entry first stored without its
    payload (a restore's sync) and completed later is exported with it."""
    from store_helpers import make_chain, wire, without_payloads

    from lndesk.store.salvage import own_items

    chain = make_chain(ALICE, 3)
    with Store(tmp_path / "data") as store:
        store.ingest(ALICE.public_key, without_payloads(chain))
        assert store.ingest(ALICE.public_key, wire(chain)).filled == 3
    assert own_items(tmp_path / "data" / "entries.log", ALICE.public_key) == wire(chain)
