"""Regression test for the PySide6 pin: queued signals emitted from a plain Python thread.

PySide6 6.12.0 on Python 3.11 aborted with "Fatal Python error: none_dealloc" as soon
as a non-Qt thread emitted a queued signal; the desktop app's network thread does exactly
that. The probe runs in a child process so a crash shows up as a failed test, not as a
dead test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import sys, threading
    from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot

    COUNT = 20_000

    class Bridge(QObject):
        fired = Signal()
        carried = Signal(object)

    class Sink(QObject):
        def __init__(self):
            super().__init__()
            self.seen = 0

        @Slot()
        def on_fired(self):
            self.seen += 1

        @Slot(object)
        def on_carried(self, value):
            self.seen += 1
            if self.seen == 2 * COUNT:
                QCoreApplication.quit()

    app = QCoreApplication(sys.argv)
    bridge, sink = Bridge(), Sink()
    bridge.fired.connect(sink.on_fired, Qt.ConnectionType.QueuedConnection)
    bridge.carried.connect(sink.on_carried, Qt.ConnectionType.QueuedConnection)

    def emit_all():
        for number in range(COUNT):
            bridge.fired.emit()
            bridge.carried.emit(None if number % 2 else (number, True))

    worker = threading.Thread(target=emit_all)
    worker.start()
    app.exec()
    worker.join()
    print(sink.seen)
    """
)


def test_plain_thread_can_emit_queued_signals() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"the Qt probe crashed ({run.returncode}):\n{run.stderr[-2000:]}"
    assert run.stdout.strip() == "40000"
