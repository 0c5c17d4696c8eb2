"""The default port taken: the node listens on a free port and says which."""

from __future__ import annotations

import queue
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from lndesk.app.datadir import DEFAULT_PORT, Config
from lndesk.app.node import node_config
from lndesk.app.runtime import NodeRuntime
from lndesk.app.service import create_identity
from lndesk.errors import ListenError
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.events import Event, NodeStarted, NodeWarning
from lndesk.p2p.listen_port import port_in_use, settle_port

TEST_NET = {"listen_host": "127.0.0.1", "mdns": False, "dht": False, "relay_client": False}


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_a_taken_port_gives_way_only_when_allowed(taken_port: int) -> None:
    assert port_in_use("127.0.0.1", taken_port)
    config = NodeConfig(listen_host="127.0.0.1", listen_port=taken_port)
    assert settle_port(config) == (config, None)  # a chosen port is not replaced
    allowed = NodeConfig(listen_host="127.0.0.1", listen_port=taken_port, port_fallback=True)
    settled, taken = settle_port(allowed)
    assert (settled.listen_port, taken) == (0, taken_port)


def test_a_free_port_is_kept() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert not port_in_use("127.0.0.1", free)
    config = NodeConfig(listen_host="127.0.0.1", listen_port=free, port_fallback=True)
    assert settle_port(config) == (config, None)


def test_only_the_default_port_falls_back() -> None:
    assert node_config(Config()).port_fallback
    assert not node_config(Config(), listen_port=DEFAULT_PORT).port_fallback  # serve --port
    assert not node_config(Config(port=5000)).port_fallback  # network --port 5000
    assert not node_config(Config(), listen_port=0).port_fallback


def wait_for(events: queue.Queue[Event], kind: type) -> object:
    while not isinstance(event := events.get(timeout=30), kind):
        pass
    return event


def test_the_node_listens_on_a_free_port_and_says_which(tmp_path: Path, taken_port: int) -> None:
    create_identity(tmp_path / "ann")
    events: queue.Queue[Event] = queue.Queue()
    runtime = NodeRuntime(
        tmp_path / "ann", control=False, listen_port=taken_port, port_fallback=True, **TEST_NET
    )
    runtime.add_listener(events.put)
    with runtime:
        started = wait_for(events, NodeStarted)
        warning = wait_for(events, NodeWarning)
    assert isinstance(started, NodeStarted) and isinstance(warning, NodeWarning)
    ports = {int(a.split("/tcp/")[1].split("/")[0]) for a in started.addresses}
    assert len(ports) == 1 and taken_port not in ports
    (port,) = ports
    assert warning.message == (
        f"Port {taken_port} is in use by another program (or another lndesk), so lndesk "
        f"listens on port {port} this time."
    )


def test_a_chosen_port_that_is_taken_is_refused(tmp_path: Path, taken_port: int) -> None:
    create_identity(tmp_path / "ann")
    runtime = NodeRuntime(tmp_path / "ann", control=False, listen_port=taken_port, **TEST_NET)
    with pytest.raises(ListenError, match=f"Port {taken_port} is already in use"):
        runtime.start()
