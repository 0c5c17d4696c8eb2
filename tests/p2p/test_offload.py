"""Big frames and batches are decoded and checked on worker threads, never on the trio
thread; the store still decides the anchor and trusts a checked batch only for its author."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host
from store_helpers import make_chain, make_identity, wire
from test_sync import connect, follow, side, sync_from_liar

from lndesk.batch import CheckedBatch, check_batch
from lndesk.errors import ChainError
from lndesk.p2p import offload
from lndesk.p2p import wire as frames
from lndesk.p2p.config import Limits
from lndesk.p2p.ports import Held
from lndesk.p2p.sync import SyncServer
from lndesk.store.store import Store

ANN = make_identity(1)
BOB = make_identity(2)
BIG = Limits(batch_entries=500, request_entries=2000, window=2)


class Threads:
    """Wraps a function and records the thread of each call."""

    def __init__(self, work: Any, when: Any = lambda *_a: True) -> None:
        self.work = work
        self.when = when
        self.idents: list[int] = []

    def __call__(self, *args: Any) -> Any:
        if self.when(*args):
            self.idents.append(threading.get_ident())
        return self.work(*args)


async def test_big_batches_are_decoded_and_checked_on_worker_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = Threads(check_batch)
    decodes = Threads(frames.decode_frame_body, lambda body, _caps: len(body) >= 64 * 1024)
    monkeypatch.setattr(offload, "check_batch", checks)
    monkeypatch.setattr(frames, "decode_frame_body", decodes)
    chain = make_chain(ANN, 1000)
    async with side(tmp_path / "a", BIG) as a, side(tmp_path / "b", BIG) as b:
        a.store.ingest(ANN.public_key, wire(chain))
        follow(b, ANN.public_key)
        await connect(a, b)
        assert b.client is not None
        with trio.fail_after(30):
            report = await b.client.sync_with(a.host.get_id())
    assert report.stored == 1000
    trio_thread = threading.get_ident()
    assert len(checks.idents) == 2  # two batches of 500
    assert len(decodes.idents) == 2
    assert trio_thread not in checks.idents + decodes.idents


async def test_a_big_broken_batch_checked_off_the_trio_thread_is_penalised(
    tmp_path: Path,
) -> None:
    items = wire(make_chain(ANN, 100))
    items[70] = wire(make_chain(BOB, 1))[0]  # another author's entry in the middle
    have = frames.Have((frames.FeedHave(ANN.public_key, 100, 100),))
    async with side(tmp_path / "b", BIG) as b, running_host() as evil:
        await sync_from_liar(b, evil, have, frames.Batch(ANN.public_key, tuple(items)))
        assert b.store.index.count_entries() == 0


def test_the_store_trusts_a_checked_batch_only_for_its_author(tmp_path: Path) -> None:
    items = wire(make_chain(ANN, 80))
    checked = check_batch(ANN.public_key, items)
    assert isinstance(checked, CheckedBatch)
    assert list(checked) == items
    store = Store(tmp_path / "s")
    try:
        with pytest.raises(ChainError, match="another author"):
            store.ingest(BOB.public_key, checked)
        assert store.index.count_entries() == 0
        assert store.ingest(ANN.public_key, checked).stored == 80
        assert store.feed_state(ANN.public_key).height == 80
    finally:
        store.close()


def test_a_checked_batch_still_needs_its_anchor(tmp_path: Path) -> None:
    """Checking links is not authentication: the store verifies the last signature."""
    from store_helpers import with_bad_signature

    chain = make_chain(ANN, 80)
    entry, payload = chain[-1]
    items = [*wire(chain[:-1]), (with_bad_signature(entry).raw, payload)]
    checked = check_batch(ANN.public_key, items)
    store = Store(tmp_path / "s")
    try:
        with pytest.raises(Exception, match="signature"):
            store.ingest(ANN.public_key, checked)
        assert store.index.count_entries() == 0
    finally:
        store.close()


async def test_a_big_want_lets_other_tasks_run_between_its_lookups(tmp_path: Path) -> None:
    """A task that is always ready sees the server's store lookups part done: serving
    a 5,000-feed want yields to other tasks along the way."""
    feeds = tuple((i.to_bytes(2, "big") + bytes(30), 1) for i in range(5000))
    async with side(tmp_path / "a", Limits()) as a, side(tmp_path / "b", Limits()) as b:
        lookups = 0
        held = a.feeds.held

        def counting(key: bytes) -> Any:
            nonlocal lookups
            lookups += 1
            return held(key)

        a.feeds.held = counting  # type: ignore[method-assign]
        seen: set[int] = set()

        async def observe() -> None:
            while True:
                seen.add(lookups)
                await trio.lowlevel.checkpoint()

        await connect(a, b)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(observe)
            stream = await b.host.new_stream(a.host.get_id(), [frames.PROTOCOL_ID])
            await stream.write(frames.encode_frame(frames.Want(feeds)))
            with trio.fail_after(30):
                answer = await frames.FrameStream(stream, 1 << 20).receive()
            nursery.cancel_scope.cancel()
        assert isinstance(answer, frames.Have)
        assert lookups == 5000
        assert {n for n in seen if 0 < n < 5000}, "the lookups ran in one step"


class WantOnce:
    """The frames of a reader that sends one ``want`` and closes the stream."""

    def __init__(self, want: frames.Want, after: trio.Event | None = None) -> None:
        self.stream = None
        self._next: list[frames.Message] = [want]
        self._after = after
        self.sent: list[frames.Message] = []

    async def receive(self) -> frames.Message | None:
        await trio.lowlevel.checkpoint()
        if self._after is not None:
            await self._after.wait()
        return self._next.pop() if self._next else None

    async def send(self, message: frames.Message, *, flush: bool = True) -> None:
        await trio.lowlevel.checkpoint()
        self.sent.append(message)


class NothingHeld:
    def __init__(self) -> None:
        self.order: list[int] = []
        self.started = trio.Event()

    def held(self, key: bytes) -> Held:
        self.order.append(key[0])
        self.started.set()
        return Held(0, 0)

    def serves(self, key: bytes) -> bool:
        return True

    def own_key(self) -> bytes:
        return bytes(32)


@pytest.mark.parametrize("small", [False, True])
async def test_big_wants_take_turns_and_small_ones_do_not_wait(small: bool) -> None:
    """Two big wants at once are looked up one after the other; a small want is not
    held up by a big one."""
    sizes = (1000, 50) if small else (1000, 1000)
    source = NothingHeld()
    server = SyncServer(
        source,  # type: ignore[arg-type]
        Limits(),
        events=lambda _e: None,
        penalise=lambda _p, _r: None,
        is_penalised=lambda _p: False,
        key_of=lambda _p: None,
    )
    readers = [
        WantOnce(frames.Want(tuple((bytes([n]) + i.to_bytes(2, "big") + bytes(29), 0)
                                   for i in range(size))), source.started if n else None)
        for n, size in enumerate(sizes)
    ]  # fmt: skip
    async with trio.open_nursery() as nursery:
        for reader in readers:
            nursery.start_soon(server._serve, None, reader)
    assert [type(r.sent[0]) for r in readers] == [frames.Have, frames.Have]
    runs = [(k, len(list(g))) for k, g in itertools.groupby(source.order)]
    if small:  # asked once the big one had begun, it went in between
        assert [k for k, _ in runs] == [0, 1, 0] and runs[1] == (1, 50)
    else:
        assert runs == [(0, 1000), (1, 1000)], "the two wants' lookups were interleaved"
