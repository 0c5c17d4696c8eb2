"""The web feeds part of the Following screen: each feed's last fetch, error or pause,
and its unread items; Refresh now, Resume, Mark read, Remove; Import and Export OPML."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.feed_reader import WebFeedRow
from lndesk.app.runtime import describe
from lndesk.ui.bridge import Bridge
from lndesk.ui.models.web_feeds import WebFeedsModel
from lndesk.ui.plain_text import one_line
from lndesk.ui.views.feed_files import OpmlButtons
from lndesk.ui.views.widgets import ERROR_STYLE, current_item, heading


class WebFeedsPanel(QWidget):
    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._wanted: int | None = None
        """A feed to select once the list shows it (one just followed)."""
        self.model = WebFeedsModel(bridge, self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setUniformItemSizes(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.empty = QLabel(
            "You follow no web feed. Paste a blog's, newsletter's or podcast's address "
            "above (its site's address works too)."
        )
        self.empty.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh now")
        self.refresh_button.setToolTip("Fetch every web feed now (they are fetched hourly)")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Fetch a paused web feed again, taking what paused it")
        self.read_button = QPushButton("Mark read")
        self.remove_button = QPushButton("Remove…")
        self.refresh_button.clicked.connect(self.refresh_now)
        self.resume_button.clicked.connect(self.resume_selected)
        self.read_button.clicked.connect(self.mark_read_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # it quotes a server
        self.error.setWordWrap(True)
        self.error.hide()
        self.notice = QLabel()
        self.notice.setTextFormat(Qt.TextFormat.PlainText)  # it may quote a file
        self.notice.setWordWrap(True)
        self.notice.hide()
        buttons = QHBoxLayout()
        for button in (
            self.refresh_button,
            self.resume_button,
            self.read_button,
            self.remove_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.opml = OpmlButtons(bridge, self)
        self.opml.done.connect(self._opml_done)
        buttons.addWidget(self.opml)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading("Web feeds", 3))
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)
        self.model.refreshed.connect(self._update)
        self.list.selectionModel().selectionChanged.connect(lambda *_: self._update())
        self._update()

    def showEvent(self, event: QShowEvent) -> None:
        self.model.refresh()
        super().showEvent(event)

    def selected(self) -> WebFeedRow | None:
        return current_item(self.list, WebFeedRow)

    def select_sub(self, sub: int) -> None:
        """Select the feed ``sub`` now, or as soon as the list shows it."""
        self._wanted = sub
        for row in range(self.model.rowCount()):
            index = self.model.index(row)
            found = self.model.row_at(index)
            if found is not None and found.sub == sub:
                self._wanted = None
                self.list.setCurrentIndex(index)
                return

    def _update(self) -> None:
        if self._wanted is not None:
            self.select_sub(self._wanted)
        self.empty.setVisible(self.model.rowCount() == 0)
        self.list.setVisible(self.model.rowCount() > 0)
        row = self.selected()
        self.refresh_button.setEnabled(self.model.rowCount() > 0)
        self.resume_button.setEnabled(row is not None and row.paused is not None)
        self.read_button.setEnabled(row is not None and row.unread > 0)
        self.remove_button.setEnabled(row is not None)

    def refresh_now(self) -> None:
        """Fetch the selected feed (every feed, when none is selected) now."""
        row = self.selected()
        sub = None if row is None else row.sub
        self.error.hide()
        self.bridge.request(lambda desk: desk.feed_reader.refresh_now(sub), None, self._failed)

    def resume_selected(self) -> None:
        row = self.selected()
        if row is None:
            return
        sub = row.sub
        self.bridge.request_async(lambda desk: desk.feed_reader.resume(sub), None, self._failed)

    def mark_read_selected(self) -> None:
        row = self.selected()
        if row is None:
            return
        sub = row.sub
        self.bridge.request(lambda desk: desk.feed_reader.mark_read(sub), None, self._failed)

    def remove_selected(self, *, confirm: bool = True) -> None:
        row = self.selected()
        if row is None:
            return
        if confirm:
            answer = QMessageBox.question(
                self,
                "Remove web feed",
                f"Stop following {one_line(row.title, 80)}? Its items go too, bookmarked "
                "ones included.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        sub = row.sub
        self.bridge.request(lambda desk: desk.feed_reader.remove(sub), None, self._failed)

    def _failed(self, error: BaseException) -> None:
        self.error.setText(describe(error))
        self.error.show()

    def _opml_done(self, text: str) -> None:
        """What an OPML import or export did (an error reads the same way: it says what
        to do)."""
        self.notice.setText(text)
        self.notice.show()
