"""Fixtures for the desktop app's tests: a real data directory and node thread, offscreen.

The view-models run against the real :class:`~lndesk.app.desk.Desk` on a real store,
with the network part switched off (``network=False``), which makes them deterministic
and quick; the two-node and launch tests start the network too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from ui_helpers import awaited

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from lndesk.app.runtime import NodeRuntime
from lndesk.app.service import create_identity
from lndesk.ui.timers import ManualTime

HANG_MS = 30_000
"""How long a wait with no timeout of its own (``qtbot.waitUntil``, ``waitSignal``) lets the
node thread and the Qt loop take before the test fails as hung. pytest-qt's 5 s is less than
one bridge round trip has taken on a loaded two-core machine; a wait still ends as soon as
its condition holds, so this only bounds a hang. Explicit timeouts are kept as given."""


@pytest.fixture
def qtbot(qtbot: Any) -> Any:
    """pytest-qt's ``qtbot`` whose waits default to :data:`HANG_MS`."""
    until, signal = qtbot.waitUntil, qtbot.waitSignal

    def wait_until(callback: Callable[[], Any], *, timeout: int = HANG_MS) -> None:
        until(callback, timeout=timeout)

    def wait_signal(sig: Any, *, timeout: int = HANG_MS, **options: Any) -> Any:
        return signal(sig, timeout=timeout, **options)

    qtbot.waitUntil, qtbot.waitSignal = wait_until, wait_signal
    return qtbot


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ann"
    create_identity(path)
    return path


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[NodeRuntime]:
    runtime = NodeRuntime(data_dir, network=False, control=False)
    runtime.start(wait_network=False)
    yield runtime
    runtime.stop()


class JumpingTime(ManualTime):
    """The view-models' time in tests (trio's MockClock with autojump, for Qt): whenever the
    Qt loop has handled every event waiting, the clock jumps to the next timer's deadline.
    A refresh timer then fires after the events that started it and before any later one,
    on a fast machine or a loaded one alike. Repeating timers (the Network screen's peer
    poll) are not jumped to, or the clock would never rest; a test of one calls
    :meth:`advance`, as does a test that moves time itself after ``autojump = False``."""

    def __init__(self) -> None:
        super().__init__()
        self.autojump = True
        self._idle = QTimer()
        self._idle.setInterval(0)  # runs when the loop has nothing else to do
        self._idle.timeout.connect(self._jump)

    def start(self) -> None:
        self._idle.start()

    def stop(self) -> None:
        self._idle.stop()

    def _jump(self) -> None:
        due = self.next_deadline(repeating=False)
        if self.autojump and due is not None:
            self.advance(max(0.0, due - self.now))


@pytest.fixture
def clock(qapp: Any) -> Iterator[JumpingTime]:
    """The time the view-models' timers run on (see :class:`JumpingTime`)."""
    time = JumpingTime()
    time.start()
    yield time
    time.stop()


@pytest.fixture
def bridge(runtime: NodeRuntime, qapp: Any, clock: JumpingTime) -> Iterator[Any]:
    from lndesk.ui.bridge import Bridge

    bridge = Bridge(runtime, timer=clock.timer)
    yield bridge
    bridge.close()


@pytest.fixture
def call(bridge: Any, qtbot: Any) -> Callable[..., Any]:
    """Run ``function(desk)`` on the node thread and wait (in the Qt loop) for its result."""

    def call(function: Callable[[Any], Any], timeout: int = 10_000) -> Any:
        box: dict[str, Any] = {}
        bridge.request_async(
            awaited(function),
            lambda r: box.setdefault("result", r),
            lambda e: box.setdefault("error", e),
        )
        qtbot.waitUntil(lambda: box != {}, timeout=timeout)
        if "error" in box:
            raise box["error"]
        return box["result"]

    return call


@pytest.fixture
def window(bridge: Any, data_dir: Path, qtbot: Any) -> Any:
    """The main window, shown (offscreen), on the real desk."""
    from lndesk.ui.main_window import MainWindow

    window = MainWindow(bridge, data_dir)
    qtbot.addWidget(window)
    window.show()
    return window
