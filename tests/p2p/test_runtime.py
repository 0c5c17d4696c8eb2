"""The runtime bridge: a node on trio in a worker thread, used from a plain thread."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest

from lndesk.app.desk import NetworkUnavailable
from lndesk.app.runtime import NodeRuntime
from lndesk.app.service import Service, create_identity
from lndesk.errors import ListenError, NodeNotRunningError, NoIdentityError, StoreLockedError
from lndesk.keytext import key_to_text
from lndesk.p2p.events import EntriesStored, Event, NodeStarted

TEST_NET = {"listen_host": "127.0.0.1", "listen_port": 0, "mdns": False, "dht": False}


def runtime_for(path: Path) -> NodeRuntime:
    return NodeRuntime(path, control=False, relay_client=False, **TEST_NET)


def test_calls_cross_threads_and_events_arrive(tmp_path: Path) -> None:
    create_identity(tmp_path / "ann")
    create_identity(tmp_path / "bo")
    events: queue.Queue[Event] = queue.Queue()
    ann, bo = runtime_for(tmp_path / "ann"), runtime_for(tmp_path / "bo")
    bo.add_listener(events.put)
    threads: set[str] = set()
    seen: list[Event] = []
    bo.add_listener(lambda _e: threads.add(threading.current_thread().name))
    bo.add_listener(seen.append)
    with ann, bo:
        ann_key = ann.call(lambda app: app.service.public_key)
        address = ann.call(lambda app: next(a for a in app.node.addresses() if "/127.0.0.1/" in a))
        ann.call_async(lambda app: app.publish(lambda s: s.post("hello from a thread")))
        bo.call_async(lambda app: app.publish(lambda s: s.follow(key_to_text(ann_key))))
        bo.call_async(lambda app: app.node.connect(address))
        while True:  # events arrive as the node works; each get() waits for the next one
            event = events.get(timeout=30)
            if isinstance(event, EntriesStored) and event.feed == ann_key:
                break
        assert bo.call(lambda app: app.service.store.feed_state(ann_key).height) == 1
    assert threads == {"lndesk-node"}
    assert isinstance(seen[0], NodeStarted)
    # stopped: the data directory is free again
    with Service(tmp_path / "bo") as service:
        assert service.store.feed_state(ann_key).height == 1


def test_start_errors_reach_the_caller(tmp_path: Path) -> None:
    with pytest.raises(NoIdentityError):
        runtime_for(tmp_path / "nobody").start()
    create_identity(tmp_path / "ann")
    with Service(tmp_path / "ann"), pytest.raises(StoreLockedError):
        runtime_for(tmp_path / "ann").start()
    create_identity(tmp_path / "bo")
    with runtime_for(tmp_path / "ann") as ann:
        address = ann.call(lambda app: app.node.addresses()[0])
        port = int(address.split("/tcp/")[1].split("/")[0])
        bo = NodeRuntime(tmp_path / "bo", control=False, **{**TEST_NET, "listen_port": port})
        with pytest.raises(ListenError, match="already in use"):
            bo.start()


def test_calls_after_stop_say_the_node_is_not_running(tmp_path: Path) -> None:
    create_identity(tmp_path / "ann")
    runtime = runtime_for(tmp_path / "ann")
    with runtime:
        assert runtime.running
    with pytest.raises(NodeNotRunningError):
        runtime.call(lambda app: app.node.peer_id)


def test_the_store_opens_first_and_a_deferred_network_starts_when_asked(tmp_path: Path) -> None:
    create_identity(tmp_path / "ann")
    events: queue.Queue[object] = queue.Queue()
    runtime = NodeRuntime(tmp_path / "ann", control=False, relay_client=False, **TEST_NET)
    runtime.add_listener(events.put)
    runtime.start(wait_network=False, defer_network=True)
    try:
        done: queue.Queue[tuple[object, object]] = queue.Queue()
        runtime.submit(
            lambda desk: desk.posting.post("before the network"),
            lambda r: done.put((r, None)),
            lambda e: done.put((None, e)),
        )
        assert done.get(timeout=10) == (1, None)  # the store works without the network
        assert not runtime.running
        runtime.start_network()
        runtime.start_network()  # a second call does nothing
        while not isinstance(event := events.get(timeout=30), NodeStarted):
            assert not isinstance(event, NetworkUnavailable), event
        assert runtime.running
    finally:
        runtime.stop()


def test_restart_network_applies_the_saved_settings(tmp_path: Path) -> None:
    from lndesk.app.datadir import CONFIG_NAME, Config
    from lndesk.p2p.events import NodeStopped, PeerConnected

    create_identity(tmp_path / "ann")
    create_identity(tmp_path / "bo")
    events: queue.Queue[object] = queue.Queue()
    seen: list[object] = []
    ann = NodeRuntime(tmp_path / "ann", control=False, relay_client=False, **TEST_NET)
    ann.add_listener(events.put)
    ann.start(wait_network=False, defer_network=True)
    try:
        with runtime_for(tmp_path / "bo") as bo:
            bo_key = bo.call(lambda app: app.service.public_key)
            bo_address = bo.call(lambda app: app.node.addresses()[0])
            ann.restart_network()  # starts the deferred network ...
            ann.start_network()  # ... so this must not start (or restart) it again
            while not isinstance(event := events.get(timeout=30), NodeStarted):
                seen.append(event)
            # a bootstrap peer saved in the settings is dialled once the network restarts
            config = Config.load(tmp_path / "ann" / CONFIG_NAME)
            config.bootstrap = [bo_address]
            config.save(tmp_path / "ann" / CONFIG_NAME)
            ann.restart_network()
            while True:
                event = events.get(timeout=30)
                seen.append(event)
                if isinstance(event, PeerConnected) and event.peer == bo_key:
                    break
        assert sum(isinstance(e, NodeStopped) for e in seen) == 1
        assert sum(isinstance(e, NodeStarted) for e in seen) == 1  # + the first one
    finally:
        ann.stop()


def test_a_slow_store_open_keeps_the_caller_informed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a big store after an upgrade rebuilds its index (seconds): the caller's
    ``waiting`` runs meanwhile, so a window can keep its event loop turning and say why."""
    import lndesk.app.runtime as runtime_module

    opened = threading.Event()

    class SlowService(Service):
        def __init__(self, *args: object, **kwargs: object) -> None:
            opened.wait(10)  # the store "rebuilds" until the test has seen a few waits
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runtime_module, "Service", SlowService)
    create_identity(tmp_path / "ann")
    waits: list[float] = []

    def waiting(elapsed: float) -> None:
        waits.append(elapsed)
        if len(waits) == 3:
            opened.set()

    runtime = NodeRuntime(tmp_path / "ann", network=False, control=False)
    runtime.start(None, wait_network=False, waiting=waiting)
    try:
        assert len(waits) >= 3 and waits == sorted(waits)
        answers: queue.Queue[object] = queue.Queue()
        runtime.submit(lambda desk: desk.own, answers.put, answers.put)
        own = answers.get(timeout=10)
        assert isinstance(own, bytes) and len(own) == 32  # the desk answers: the store is open
    finally:
        runtime.stop()
    # An error while opening still reaches the caller through the same loop.
    with pytest.raises(NoIdentityError):
        NodeRuntime(tmp_path / "nobody", network=False, control=False).start(
            None, waiting=lambda _s: opened.set()
        )
