"""The default port taken: the Network screen says which port the node listens on instead."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lndesk.app.runtime import LOOPBACK_ONLY, NodeRuntime
from lndesk.app.service import create_identity
from lndesk.ui.bridge import Bridge
from lndesk.ui.network_view import NetworkView


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


@pytest.fixture
def fallback_bridge(tmp_path: Path, taken_port: int, qapp: Any) -> Iterator[Bridge]:
    create_identity(tmp_path / "ann")
    settings = {**LOOPBACK_ONLY, "listen_port": taken_port, "port_fallback": True}
    runtime = NodeRuntime(tmp_path / "ann", control=False, **settings)
    runtime.start()
    bridge = Bridge(runtime)
    yield bridge
    bridge.close()
    runtime.stop()


def test_the_network_screen_names_the_port_in_use(
    qtbot: Any, fallback_bridge: Bridge, taken_port: int
) -> None:
    view = NetworkView(fallback_bridge, lambda: None)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.info is not None and view.info.online)
    assert view.info is not None
    port = int(view.info.addresses[0].split("/tcp/")[1].split("/")[0])
    assert port != taken_port
    assert view.port_note.isVisible()
    assert view.port_note.text() == (
        f"Port {taken_port} is in use by another program (or another lndesk), so lndesk "
        f"listens on port {port} this time."
    )


def test_no_note_when_the_port_was_free(qtbot: Any, bridge: Bridge) -> None:
    view = NetworkView(bridge, lambda: None)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.info is not None)
    assert not view.port_note.isVisible()
