"""Notifications where there is no tray go to the desktop's notification service,
checked against a real one: a private D-Bus daemon and a notification server of our own
(tests/notify_server.py, which, like the desktops' servers, checks Notify's signature)."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lndesk.ui.desktop_notify import DesktopNotifications
from lndesk.ui.tray import Tray

HERE = Path(__file__).resolve().parent.parent
WAIT_S = 30

pytestmark = [
    pytest.mark.skipif(
        shutil.which("dbus-daemon") is None,
        reason="dbus-daemon is not installed (Debian/Ubuntu: apt-get install dbus)",
    ),
    pytest.mark.skipif(
        shutil.which("gdbus") is None,
        reason="gdbus is not installed (Debian/Ubuntu: apt-get install libglib2.0-bin)",
    ),
]


class Lines:
    """A child process's output lines, read in a thread, waited on with a timeout."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.process = process
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def next(self) -> str:
        line = self.queue.get(timeout=WAIT_S)
        assert line is not None, "the process ended"
        return line


@pytest.fixture
def bus() -> Iterator[str]:
    """A private D-Bus daemon; its address."""
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--print-address=1", "--nofork", "--nopidfile"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        address = Lines(daemon).next().strip()
        assert address.startswith("unix:")
        yield address
    finally:
        daemon.terminate()
        daemon.wait(timeout=WAIT_S)


@pytest.fixture
def server(bus: str) -> Iterator[Lines]:
    """The notification server on that bus; its lines (one JSON line per notification)."""
    env = {"DBUS_SESSION_BUS_ADDRESS": bus, "QT_QPA_PLATFORM": "offscreen", "PATH": ""}
    process = subprocess.Popen(
        [sys.executable, str(HERE / "notify_server.py")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = Lines(process)
        assert lines.next() == "ready"
        yield lines
    finally:
        process.terminate()
        process.wait(timeout=WAIT_S)


def test_without_a_tray_notifications_reach_the_desktop_escaped(
    bus: str, server: Lines, qapp: Any, qtbot: Any
) -> None:
    desktop = DesktopNotifications(address=bus)
    assert desktop.available()
    tray = Tray(desktop=desktop)
    assert not tray.available()  # offscreen: no system tray, as on GNOME without one
    with qtbot.waitSignal(desktop.sent, timeout=WAIT_S * 1000):
        tray.notify('Bo <b>replied</b> to "you"', "<a href='https://x.example'>look</a> & 2 > 1")
    call = json.loads(server.next())
    assert call["signature"] == "susssasa{sv}i"
    app_name, replaces, _icon, summary, body, actions, _hints, expire = call["args"]
    assert (app_name, replaces, actions, expire) == ("lndesk", 0, [], -1)
    # Plain text: the server may read markup, so nothing of it survives as markup.
    assert summary == 'Bo &lt;b&gt;replied&lt;/b&gt; to "you"'
    assert body == "&lt;a href='https://x.example'&gt;look&lt;/a&gt; &amp; 2 &gt; 1"
    # A second one goes out as well (each is its own call).
    with qtbot.waitSignal(desktop.sent, timeout=WAIT_S * 1000):
        tray.notify("Cy posted", "ünïcode and a\nsecond line")
    assert json.loads(server.next())["args"][4] == "ünïcode and a\nsecond line"


def test_no_notification_service_is_told_not_raised(bus: str, qapp: Any, qtbot: Any) -> None:
    desktop = DesktopNotifications(address=bus)
    assert not desktop.available()
    tray = Tray(desktop=desktop)
    with qtbot.waitSignal(desktop.failed, timeout=WAIT_S * 1000) as failed:
        tray.notify("Bo replied", "hello")
    assert "org.freedesktop.Notifications" in failed.args[0]
