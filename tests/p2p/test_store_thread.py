"""The store is used by one thread, the trio thread, one call at a time, while synced
batches are stored; what can be done without it (decoding, checking, parsing payloads
for the index) is done on worker threads."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

import pytest
import trio
from store_helpers import make_chain, make_identity, wire
from test_sync import connect, follow, side

from lndesk import batch, batch_layout
from lndesk.p2p.config import Limits
from lndesk.store import records
from lndesk.store.store import Store

ANN = make_identity(1)
BIG = Limits(batch_entries=500, request_entries=2000, window=2)


class Discipline:
    """Wraps a store's methods and records every call made off the owning thread, and
    every call made while a call from another thread is still running."""

    def __init__(self, store: Store, owner: int) -> None:
        self.owner = owner
        self.calls = 0
        self.violations: list[str] = []
        self._lock = threading.Lock()
        self._inside: list[int] = []  # the thread of each call in progress
        for name in dir(Store):
            method = getattr(Store, name)
            if callable(method) and not name.startswith("__") and name != "open_read_only":
                setattr(store, name, self._wrap(name, getattr(store, name)))

    def _wrap(self, name: str, method: Any) -> Any:
        @functools.wraps(method)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            me = threading.get_ident()
            with self._lock:
                self.calls += 1
                if me != self.owner:
                    self.violations.append(f"{name} on thread {threading.current_thread().name}")
                if any(other != me for other in self._inside):
                    self.violations.append(f"{name} while another thread's call runs")
                self._inside.append(me)
            try:
                return method(*args, **kwargs)
            finally:
                with self._lock:
                    self._inside.remove(me)

        return guarded


class Parses:
    """Records the thread of each payload parse."""

    def __init__(self, work: Any) -> None:
        self.work = work
        self.threads: list[int] = []

    def __call__(self, *args: Any) -> Any:
        self.threads.append(threading.get_ident())
        return self.work(*args)


async def test_synced_batches_touch_the_store_on_the_trio_thread_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While 2,000 entries are synced in batches of 500 and another task reads the store
    all along, every store call is made on the trio thread and none interleaves with
    another task's; every payload is parsed on a worker thread, never on the trio
    thread, and the index holds the parsed content."""
    chain = make_chain(ANN, 2000)
    async with side(tmp_path / "a", BIG) as a, side(tmp_path / "b", BIG) as b:
        a.store.ingest(ANN.public_key, wire(chain))
        parses = Parses(batch.parse_payload)
        monkeypatch.setattr(batch, "parse_payload", parses)
        monkeypatch.setattr(batch_layout, "parse_payload", parses)
        monkeypatch.setattr(records, "parse_payload", parses)
        # A post's payload is read in place (lndesk.batch_layout), by read_post alone.
        posts = Parses(batch_layout.read_post)
        monkeypatch.setattr(batch_layout, "read_post", posts)
        trio_thread = threading.get_ident()
        watch = Discipline(b.store, trio_thread)
        follow(b, ANN.public_key)
        await connect(a, b)
        assert b.client is not None
        done = trio.Event()
        reads = 0

        async def reader() -> None:
            nonlocal reads
            while not done.is_set():
                b.store.feed_entries(ANN.public_key, limit=5)
                reads += 1
                await trio.lowlevel.checkpoint()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            with trio.fail_after(60):
                report = await b.client.sync_with(a.host.get_id())
            done.set()
        assert report.stored == 2000
        assert reads > 1
        assert watch.calls > reads
        assert watch.violations == []
        assert len(parses.threads) + len(posts.threads) == 2000
        assert trio_thread not in parses.threads + posts.threads
        newest = b.store.feed_entries(ANN.public_key, limit=1)[0]
        assert newest.content is not None


def test_the_discipline_check_sees_a_store_call_off_its_thread(tmp_path: Path) -> None:
    """The watch above reports a call from another thread (so its silence means
    something)."""
    store = Store(tmp_path / "s")
    try:
        watch = Discipline(store, threading.get_ident())
        worker = threading.Thread(target=store.feed_state, args=(ANN.public_key,))
        worker.start()
        worker.join()
        assert watch.violations == ["feed_state on thread " + worker.name]
    finally:
        store.close()


def test_the_discipline_check_sees_concurrent_calls(tmp_path: Path) -> None:
    """... and a call made while another thread's call runs."""
    store = Store(tmp_path / "s")
    try:
        worker = threading.Thread(target=lambda: store.feed_state(ANN.public_key))

        def level_index() -> None:  # a store call during which another thread calls
            worker.start()
            worker.join()

        store.level_index = level_index  # type: ignore[method-assign]
        watch = Discipline(store, threading.get_ident())
        store.level_index()
        assert watch.violations == [
            f"feed_state on thread {worker.name}",
            "feed_state while another thread's call runs",
        ]
    finally:
        store.close()
