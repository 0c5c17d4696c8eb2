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

from lndesk.ui.desktop_notify import PATH, SERVICE, DesktopNotifications
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
        stdin=subprocess.PIPE,
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
    assert (app_name, replaces, actions, expire) == ("lndesk", 0, ["default", "Open"], -1)
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


def click(server: Lines, notification: int, action: str = "default") -> None:
    """The server emits ActionInvoked, as when someone clicks the notification."""
    assert server.process.stdin is not None
    server.process.stdin.write(f"click {notification} {action}\n")
    server.process.stdin.flush()


def test_clicking_a_desktop_notification_opens_what_it_told(
    bus: str, server: Lines, qapp: Any, qtbot: Any
) -> None:
    from ui_helpers import post_item

    desktop = DesktopNotifications(address=bus)
    tray = Tray(desktop=desktop)
    reply = ("replies", post_item(kind="reply", text="an answer"))
    with qtbot.waitSignal(desktop.sent, timeout=WAIT_S * 1000):
        tray.notify("Bo replied to you", "an answer", reply)
    first = json.loads(server.next())["id"]
    post = ("timeline", post_item(seq=2, text="news"))
    with qtbot.waitSignal(desktop.sent, timeout=WAIT_S * 1000):
        tray.notify("Bo posted", "news", post)
    second = json.loads(server.next())["id"]
    clicked: list[object] = []
    tray.notification_clicked.connect(clicked.append)
    # Ignored, in the order they arrive: the same signal from another program, a click on
    # a notification that is not ours, and a click on an action that is not the default.
    subprocess.run(
        [
            *("gdbus", "emit", "--address", bus, "--object-path", PATH),
            *("--signal", f"{SERVICE}.ActionInvoked", f"uint32 {first}", '"default"'),
        ],
        check=True,
        timeout=WAIT_S,
    )
    click(server, 999)
    click(server, first, "Open-other")
    # Then the real clicks: each opens what its notification told.
    with qtbot.waitSignal(tray.notification_clicked, timeout=WAIT_S * 1000):
        click(server, second)
    with qtbot.waitSignal(tray.notification_clicked, timeout=WAIT_S * 1000):
        click(server, first)
    assert clicked == [post, reply]


def test_clicking_the_trays_message_opens_what_it_told(qapp: Any) -> None:
    from ui_helpers import post_item

    tray = Tray(desktop=DesktopNotifications(gdbus=""))
    opened: list[bool] = []
    clicked: list[object] = []
    tray.open_requested.connect(lambda: opened.append(True))
    tray.notification_clicked.connect(clicked.append)
    target = ("timeline", post_item(text="news"))
    tray.notify("Bo posted", "news", target)
    tray._message_clicked()  # what QSystemTrayIcon.messageClicked calls
    assert clicked == [target] and opened == []
    tray.notify("lndesk", "a message about nothing in particular")
    tray._message_clicked()
    assert clicked == [target] and opened == [True]
