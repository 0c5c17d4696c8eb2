"""Starting the desktop app: one instance, first-run onboarding, unlocking, the window.

The order is chosen for a fast first paint: Qt and the store open first (the timeline
shows stored posts at once); libp2p, which takes about a second to import, starts loading
on the node thread only once the window has been drawn, so the two do not compete for
the interpreter lock.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox

from lndesk.app.datadir import ENV_PASSPHRASE, KEY_NAME
from lndesk.app.runtime import NodeRuntime
from lndesk.errors import LndeskError, PassphraseError, StoreLockedError, UsageError, sole_error
from lndesk.identity import Identity
from lndesk.keyfile import decode_key_file, is_sealed, read_key_file
from lndesk.ui.format import error_text
from lndesk.ui.repair_offer import REPAIRABLE, offer_repair
from lndesk.ui.timers import RepeatingTimer, TimerFactory

logger = logging.getLogger(__name__)
STARTED = time.time()
NETWORK_AT_LATEST_MS = 2000
IN_USE = (
    "Your lndesk data is already open in another lndesk program running on this computer "
    "(such as an always-on node), so stop that program first and then open lndesk again."
)
"""Said when another process holds the data directory: one plain sentence, no commands."""


def _application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(sys.argv[:1])
    app.setApplicationName("lndesk")
    app.setApplicationDisplayName("lndesk")
    app.setDesktopFileName("lndesk")
    app.setQuitOnLastWindowClosed(False)
    return app


def unlock(data_dir: Path) -> Identity | bool | None:
    """The identity, unlocked once here (Argon2 takes about half a second), so the node
    does not derive the key again; None if the key file is not sealed (nothing to ask),
    False if the user gave up."""
    data = read_key_file(data_dir / KEY_NAME)
    if not is_sealed(data):
        return None
    from_env = os.environ.get(ENV_PASSPHRASE)
    if from_env:
        return decode_key_file(data, from_env)  # a wrong one is an error, as in the CLI
    prompt = "Your key file is protected by a passphrase. Enter it to open lndesk:"
    while True:
        text, ok = QInputDialog.getText(None, "Unlock lndesk", prompt, QLineEdit.EchoMode.Password)
        if not ok:
            return False
        try:
            return decode_key_file(data, text)
        except PassphraseError:
            prompt = "That passphrase is not right. Try again (it is case-sensitive):"


def check_display() -> None:
    """Fail with a clear message where Qt would abort: on Linux without any display."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    raise UsageError(
        "no display to open the desktop app on",
        "On a machine without a screen, run lndesk serve (an always-on node) or the "
        "other commands (lndesk --help). To open the app on a remote desktop, start it "
        "from that desktop's session.",
    )


def run_app(data_dir: Path, url: str | None = None, ready_file: Path | None = None) -> int:
    """Run the desktop app on ``data_dir``; returns the process exit code."""
    check_display()
    app = _application()
    from lndesk.ui.icons import app_icon  # noqa: PLC0415
    from lndesk.ui.settings import THEME, ui_settings  # noqa: PLC0415
    from lndesk.ui.single import ACTIVATE, SingleInstance  # noqa: PLC0415
    from lndesk.ui.theme import apply_theme  # noqa: PLC0415

    app.setWindowIcon(app_icon())
    instance = SingleInstance(data_dir)
    if instance.forward(url or ACTIVATE):
        logger.info("lndesk is already running on %s; it was asked to come forward", data_dir)
        return 0
    instance.listen()
    if data_dir.exists():
        apply_theme(app, str(ui_settings(data_dir).value(THEME, "system")))
    else:
        apply_theme(app, "system")

    identity = None
    if not (data_dir / KEY_NAME).exists():
        from lndesk.ui.onboarding import run_onboarding  # noqa: PLC0415

        outcome = run_onboarding(data_dir)
        if outcome is None:
            instance.close()
            return 0
        identity = outcome.identity  # already unlocked: no second passphrase prompt
    if identity is None:
        try:
            unlocked = unlock(data_dir)
        except LndeskError as exc:
            _cannot_start(error_text(exc))
            instance.close()
            return 1
        if unlocked is False:
            instance.close()
            return 0
        identity = unlocked if isinstance(unlocked, Identity) else None
    while True:
        runtime = NodeRuntime(data_dir, identity=identity)
        opening = _OpeningNotice()
        try:
            runtime.start(None, wait_network=False, defer_network=True, waiting=opening.update)
            break
        except Exception as raised:
            opening.close()
            problem = sole_error(raised)
            if isinstance(problem, REPAIRABLE) and offer_repair(data_dir, problem):
                continue  # repaired: open it again
            if isinstance(problem, StoreLockedError):
                logger.info("%s", problem)
                _cannot_start(IN_USE)
            elif not isinstance(problem, REPAIRABLE):
                _cannot_start(error_text(problem))
            instance.close()
            return 1
    opening.close()

    from lndesk.ui.bridge import Bridge  # noqa: PLC0415
    from lndesk.ui.main_window import MainWindow  # noqa: PLC0415

    bridge = Bridge(runtime)
    window = MainWindow(bridge, data_dir, runtime.restart_network)
    instance.message.connect(
        lambda text: window.open_url(text) if text.startswith("lndesk:") else window.activate()
    )
    window.quit_requested.connect(app.quit)
    # The network loads once the window is drawn (or after two seconds whatever happens).
    window.first_paint.connect(runtime.start_network)
    bridge.timer(window, runtime.start_network).start(NETWORK_AT_LATEST_MS)
    _report_unexpected_errors(window)
    if ready_file is not None:
        window.first_paint.connect(lambda: _write_ready(ready_file))
    signal_pump = _quit_on_signals(app, bridge.timer)
    window.show()
    if url:
        window.open_url(url)
    try:
        return int(app.exec())
    finally:
        signal_pump.stop()
        bridge.close()
        runtime.stop()
        instance.close()


class _OpeningNotice:
    """Says why the window has not appeared when opening the data takes long (the index is
    rebuilt from the log once after an upgrade: about 20 s per million entries)."""

    AFTER_S = 1.0

    def __init__(self) -> None:
        self.box: QMessageBox | None = None

    def update(self, elapsed: float) -> None:
        if self.box is None and elapsed >= self.AFTER_S:
            self.box = QMessageBox(
                QMessageBox.Icon.Information,
                "lndesk",
                "Opening your posts…\n\nIf lndesk was just updated, it is rebuilding its "
                "index from your log, once; with many posts this takes a while. Nothing is "
                "lost, and the window opens when it is done.",
                QMessageBox.StandardButton.NoButton,
            )
            self.box.setStandardButtons(QMessageBox.StandardButton.NoButton)
            self.box.show()
        QApplication.processEvents()

    def close(self) -> None:
        if self.box is not None:
            self.box.hide()  # close() is refused by a message box without buttons
            self.box.deleteLater()
            self.box = None


def _cannot_start(message: str) -> None:
    """Say why the app cannot start: on stderr (for a terminal) and in a dialog."""
    print(f"lndesk: error: {message}", file=sys.stderr, flush=True)
    QMessageBox.critical(None, "lndesk cannot start", message)


def _write_ready(path: Path) -> None:
    """For the launch test and the cold-start benchmark: when the timeline was painted."""
    now = time.time()
    path.write_text(json.dumps({"painted": now, "since_import": now - STARTED}) + "\n")


def _quit_on_signals(app: QApplication, timer: TimerFactory) -> RepeatingTimer:
    """Quit cleanly (store closed, peers told) on SIGTERM and Ctrl+C; the timer returned
    must be kept while the app runs."""

    def handler(_number: int, _frame: object) -> None:
        app.quit()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    # Python runs signal handlers only between bytecodes; a timer lets it in regularly.
    pump = RepeatingTimer(timer, app, lambda: None)
    pump.start(250)
    return pump


def _report_unexpected_errors(window: Any) -> None:
    """A bug in a slot is logged and shown in the status bar; the app keeps running."""

    def hook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
        logger.error("unexpected error", exc_info=(kind, error, trace))
        window.statusBar().showMessage(
            f"Something went wrong ({kind.__name__}: {error}). lndesk keeps running; "
            "the details are in its log.",
            20_000,
        )

    sys.excepthook = hook
