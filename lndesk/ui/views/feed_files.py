"""The app's file actions for web feeds, as the CLI has them: OPML import and export on the
Following screen (``lndesk feeds import`` / ``export``), and the Settings section that keeps
my log as an Atom file up to date on every publish (``lndesk atom --out FILE --keep``).

The desk reads and writes the files on the node thread; file dialogs only pick the name
(tests pass a path instead)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.desk_feedfiles import OpmlImported
from lndesk.app.runtime import describe
from lndesk.ui.bridge import Bridge
from lndesk.ui.views.widgets import ERROR_STYLE
from lndesk.webfeeds import over_limit_text
from lndesk.wording import counted

OPML_FILTER = "OPML files (*.opml *.xml);;All files (*)"
ATOM_FILTER = "Atom feeds (*.xml *.atom);;All files (*)"


def imported_text(done: OpmlImported) -> str:
    """What an import did, in a sentence (and a line per person not followed)."""
    text = (
        f"Imported {counted(done.feeds, 'web feed')} and "
        f"{counted(done.people, 'person', 'people')} "
        f"({counted(done.known, 'web feed')} followed already"
        + (f", {counted(done.skipped, 'outline')} neither" if done.skipped else "")
        + ")."
    )
    over = [over_limit_text(done.over_limit)] if done.over_limit else []
    return "\n".join([text, *over, *done.problems])


class OpmlButtons(QWidget):
    """Import OPML… and Export OPML… for the web feeds part of the Following screen."""

    done = Signal(str)
    """What an import or export did (or why it failed), in words."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.import_button = QPushButton("Import OPML…")
        self.import_button.setToolTip(
            "Follow the web feeds (and lndesk: people) of an OPML file from any feed reader"
        )
        self.export_button = QPushButton("Export OPML…")
        self.export_button.setToolTip("Save the web feeds and people you follow as OPML")
        self.import_button.clicked.connect(lambda _=False: self.import_opml())
        self.export_button.clicked.connect(lambda _=False: self.export_opml())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.import_button)
        layout.addWidget(self.export_button)

    def import_opml(self, path: Path | None = None) -> None:
        """Import ``path`` (None: ask for the file)."""
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, "Import OPML", "", OPML_FILTER)
            if not name:
                return
            path = Path(name)
        chosen = path
        self.bridge.request_async(
            lambda desk: desk.feed_files.import_opml(chosen),
            lambda done: self.done.emit(imported_text(done)),
            self._failed,
        )

    def export_opml(self, path: Path | None = None) -> None:
        """Export to ``path`` (None: ask where)."""
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self, "Export OPML", "subscriptions.opml", OPML_FILTER
            )
            if not name:
                return
            path = Path(name)
        chosen = path
        self.bridge.request(
            lambda desk: desk.feed_files.export_opml(chosen),
            lambda counts: self.done.emit(
                f"Saved {counted(counts[0], 'web feed')} and "
                f"{counted(counts[1], 'person', 'people')} to {chosen.name}."
            ),
            self._failed,
        )

    def _failed(self, error: BaseException) -> None:
        self.done.emit(describe(error))


class AtomFileBox(QGroupBox):
    """Settings: my public posts as an Atom file, rewritten on every publish."""

    changed = Signal()
    """The file was chosen, written or stopped (or that failed: see ``error``)."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__("Your posts as an Atom feed", parent)
        self.bridge = bridge
        self.file: str | None = None
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.hide()
        self.choose_button = QPushButton("Keep a file up to date…")
        self.choose_button.setToolTip(
            "Anyone can follow you in a feed reader if you put this file on a web host"
        )
        self.stop_button = QPushButton("Stop")
        self.choose_button.clicked.connect(lambda _=False: self.keep())
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.choose_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self._show(None)
        bridge.request(lambda desk: desk.feed_files.atom_file(), self._show)

    def _show(self, file: str | None) -> None:
        self.file = file
        self.note.setText(
            f"Rewritten on every publish: {file}"
            if file
            else "Write your public posts, questions, shares and reading lists as an Atom "
            "file, rewritten every time you publish."
        )
        self.stop_button.setEnabled(bool(file))
        self.changed.emit()

    def keep(self, path: Path | None = None) -> None:
        """Write the file ``path`` now and on every publish (None: ask where)."""
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, "Atom feed", "feed.xml", ATOM_FILTER)
            if not name:
                return
            path = Path(name)
        chosen = path
        self.error.hide()
        self.bridge.request(
            lambda desk: desk.feed_files.keep_atom(chosen),
            lambda _size: self._show(str(chosen.resolve())),
            self._failed,
        )

    def stop(self) -> None:
        self.error.hide()
        self.bridge.request(
            lambda desk: desk.feed_files.keep_atom(None), lambda _n: self._show(None), self._failed
        )

    def _failed(self, error: BaseException) -> None:
        self.error.setText(describe(error))
        self.error.show()
        self.changed.emit()
