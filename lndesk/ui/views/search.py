"""Search: find a post again by its words, narrowed by author, tag, type and date, and
browse by tag.

Searching runs on the node thread like everything else; the field searches as you type
(after a short pause) and on Enter. Each search carries a number, so an answer that
arrives after a newer search was started is dropped instead of replacing newer results.
A query the search cannot read (an unbalanced quote, say) is explained under the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import (
    QDate,
    QDateTime,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTime,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QAction,
    QContextMenuEvent,
    QHideEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QShowEvent,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.desk import Desk
from lndesk.app.events import LocalChanged
from lndesk.app.items import AuthorItem, PostItem, SearchResult
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text
from lndesk.ui.models.posts import PostListModel
from lndesk.ui.models.search import HtmlRole, ItemRole, SearchResultsModel, TagsModel
from lndesk.ui.views.posts import PostListView

PAGE = 50
"""Results asked for at a time ("Load more" asks for the next page)."""
TYPING_DELAY_MS = 250
"""Searching as you type waits for a pause this long."""
NO_DATE = QDate(2000, 1, 1)
"""The date filters' "any": their minimum, shown as the word."""
TYPES = (
    ("Any type", None),
    ("Posts", "post"),
    ("Replies", "reply"),
    ("Shares", "share"),
    ("Reading lists", "readinglist"),
)
ERROR_STYLE = "color: #c0392b"


@dataclass(frozen=True, slots=True)
class SearchParams:
    """One search, as the fields say it."""

    text: str
    author: bytes | None = None
    tag: str | None = None
    type: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def empty(self) -> bool:
        return not self.text and self == SearchParams("")


class OptionalDateEdit(QDateEdit):
    """A date field whose lowest value reads "any" (no limit).

    Stepping up from "any" starts at today rather than at the minimum, and the calendar
    opens on this month; "Clear filters" (or stepping down to the minimum) sets it back
    to "any"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumDate(NO_DATE)
        self.setMaximumDate(QDate(9999, 12, 31))
        self.setSpecialValueText("any")
        self.setDisplayFormat("yyyy-MM-dd")
        self.setCalendarPopup(True)
        self.setDate(NO_DATE)
        self.calendarWidget().installEventFilter(self)

    def value(self) -> QDate | None:
        """The date chosen, or None for "any"."""
        date = self.date()
        return None if date == self.minimumDate() else date

    def set_value(self, date: QDate | None) -> None:
        self.setDate(self.minimumDate() if date is None else date)

    def stepBy(self, steps: int) -> None:
        if self.value() is None and steps > 0:
            self.setDate(QDate.currentDate())
            return
        super().stepBy(steps)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and self.value() is None:
            today = QDate.currentDate()
            self.calendarWidget().setCurrentPage(today.year(), today.month())
        return super().eventFilter(watched, event)


def day_start_ms(date: QDate) -> int:
    return int(QDateTime(date, QTime(0, 0)).toMSecsSinceEpoch())


class ResultDelegate(QStyledItemDelegate):
    """A result drawn as rich text (the model escapes a peer's words; the highlight is
    the only markup)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._docs: dict[tuple[str, int], QTextDocument] = {}

    def _width(self, option: QStyleOptionViewItem) -> int:
        view = self.parent()
        width = option.rect.width()
        if isinstance(view, QAbstractItemView):
            width = view.viewport().width()
        return max(120, int(width) - 16)

    def _document(self, text: str, width: int, option: QStyleOptionViewItem) -> QTextDocument:
        doc = self._docs.get((text, width))
        if doc is None:
            if len(self._docs) > 500:
                self._docs.clear()
            doc = QTextDocument()
            doc.setDefaultFont(option.font)
            doc.setDocumentMargin(0)
            doc.setHtml(text)
            doc.setTextWidth(width)
            self._docs[(text, width)] = doc
        return doc

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        text = index.data(HtmlRole)
        if not isinstance(text, str):
            return super().sizeHint(option, index)
        width = self._width(option)
        doc = self._document(text, width, option)
        return QSize(width + 16, int(doc.size().height()) + 16)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        text = index.data(HtmlRole)
        if not isinstance(text, str):
            super().paint(painter, option, index)
            return
        painter.save()
        rect = option.rect
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        background = palette.color(
            QPalette.ColorRole.AlternateBase if selected else QPalette.ColorRole.Base
        )
        painter.fillRect(rect, background)
        if selected:
            painter.fillRect(
                rect.left(),
                rect.top(),
                4,
                rect.height(),
                palette.color(QPalette.ColorRole.Highlight),
            )
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        doc = self._document(text, self._width(option), option)
        painter.translate(rect.left() + 8, rect.top() + 8)
        context = QAbstractTextDocumentLayout.PaintContext()
        context.palette.setColor(QPalette.ColorRole.Text, palette.color(QPalette.ColorRole.Text))
        doc.documentLayout().draw(painter, context)
        painter.restore()


class ResultsView(QListView):
    """The results list: Enter or a double click opens a result."""

    opened = Signal(object)
    """A result's PostItem to open (its thread, or a reading list)."""
    reply_requested = Signal(object)
    share_requested = Signal(object)
    bookmark_requested = Signal(object)
    add_to_list_requested = Signal(object)

    def __init__(self, model: SearchResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setItemDelegate(ResultDelegate(self))
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.doubleClicked.connect(self._open_index)
        for text, shortcut, signal in (
            ("Open", "Return", self.opened),
            ("Reply", "R", self.reply_requested),
            ("Share with comment", "S", self.share_requested),
            ("Bookmark", "B", self.bookmark_requested),
            ("Add to reading list…", "L", self.add_to_list_requested),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(lambda _=False, s=signal: self._emit_current(s))
            self.addAction(action)

    def current_item(self) -> PostItem | None:
        index = self.currentIndex()
        item = index.data(ItemRole) if index.isValid() else None
        return item if isinstance(item, PostItem) else None

    def _emit_current(self, signal: Signal) -> None:
        item = self.current_item()
        if item is not None:
            signal.emit(item)  # type: ignore[attr-defined]

    def _open_index(self, index: QModelIndex) -> None:
        item = index.data(ItemRole)
        if isinstance(item, PostItem):
            self.opened.emit(item)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos())
        if not index.isValid():
            return
        self.setCurrentIndex(index)
        menu = QMenu(self)
        for action in self.actions():
            menu.addAction(action)
        menu.exec(event.globalPos())


class TagPostsPage(QWidget):
    """One tag's posts (by me and the people I follow), with a way back."""

    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_button = QPushButton("← Back to search")
        self.back_button.clicked.connect(self.back)
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        self.empty = QLabel("No posts with this tag yet.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model: PostListModel | None = None
        self.view: PostListView | None = None
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addWidget(self.heading, 1)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addLayout(top)
        self._layout.addWidget(self.empty)

    def show_tag(self, bridge: Bridge, tag: str) -> PostListView:
        """Show ``tag``'s posts in a new list (the list of the tag before goes away)."""
        if self.view is not None:
            self._layout.removeWidget(self.view)
            self.view.hide()  # no more show events (and timers) for a list going away
            self.view.deleteLater()
        if self.model is not None:
            # Not deleteLater: an answer may still be on its way to it. Without a parent
            # it goes away with the last reference (the bridge's pending callback).
            self.model.blockSignals(True)
            self.model.setParent(None)
        self.heading.setText(f"#{tag}")
        model = PostListModel(bridge, f"tag:{tag}", self)
        view = PostListView(model, self)
        self.model, self.view = model, view
        self._layout.addWidget(view, 1)
        model.loaded.connect(self._update_empty)
        model.rowsInserted.connect(self._update_empty)
        model.rowsRemoved.connect(self._update_empty)
        model.failed.connect(self._failed)
        self.empty.setText("Loading…")
        self.empty.show()
        view.hide()
        model.start()
        return view

    def _update_empty(self, *_args: object) -> None:
        if self.model is None or self.view is None:
            return
        empty = self.model.rowCount() == 0
        self.empty.setText("No posts with this tag yet.")
        self.empty.setVisible(empty)
        self.view.setVisible(not empty)

    def _failed(self, message: str) -> None:
        self.empty.setText(message)
        self.empty.show()


class SearchView(QWidget):
    """The Search screen: the query and its filters, the results, and browsing by tag."""

    reply_requested = Signal(object)
    share_requested = Signal(object)
    thread_requested = Signal(object)
    bookmark_requested = Signal(object)
    add_to_list_requested = Signal(object)
    """Results' actions (PostItem); a tag's posts are a PostListView, see tag_view_created."""
    list_requested = Signal(object)
    """A reading list was opened from the results (its PostItem): show it."""
    searched = Signal()
    """A search's answer (results or an error) has been applied."""
    tag_view_created = Signal(object)
    """The PostListView just made for a tag's posts: the window connects its actions."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._generation = 0
        self._offset = 0
        self._params: SearchParams | None = None
        self._busy = False
        self._authors_stale = True
        self._visible = False

        self.query = QLineEdit()
        self.query.setPlaceholderText("Search posts, replies, shares and reading lists…  (Ctrl+F)")
        self.query.setClearButtonEnabled(True)
        self.author = QComboBox()
        self.author.addItem("Anyone", None)
        self.author.setToolTip("Only posts by this person")
        self.tags = TagsModel(bridge, self)
        self.tag = QLineEdit()
        self.tag.setPlaceholderText("any tag")
        self.tag.setClearButtonEnabled(True)
        completer = QCompleter(self.tags, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionRole(Qt.ItemDataRole.EditRole)
        self.tag.setCompleter(completer)
        self.type = QComboBox()
        for label, value in TYPES:
            self.type.addItem(label, value)
        self.since = OptionalDateEdit()
        self.since.setToolTip("Only posts from this day on")
        self.until = OptionalDateEdit()
        self.until.setToolTip("Only posts up to this day")
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(self.clear_filters)

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.hide()
        self.status = QLabel()
        self.model = SearchResultsModel(self)
        self.results = ResultsView(self.model, self)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.more = QPushButton("Load more")
        self.more.clicked.connect(self.load_more)
        self.more.hide()

        self.tag_list = QListView()
        self.tag_list.setModel(self.tags)
        self.tag_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tag_list.clicked.connect(self._tag_clicked)
        open_tag = QAction("Show the tag's posts", self.tag_list)
        open_tag.setShortcut(QKeySequence("Return"))
        open_tag.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        open_tag.triggered.connect(lambda _=False: self._tag_clicked(self.tag_list.currentIndex()))
        self.tag_list.addAction(open_tag)
        self.tags_empty = QLabel("No tags yet: add tags when you write, or follow someone.")
        self.tags_empty.setWordWrap(True)
        self.tag_page = TagPostsPage(self)
        self.tag_page.back.connect(self.show_search)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TYPING_DELAY_MS)
        self._timer.timeout.connect(self.search_now)
        self.query.textChanged.connect(lambda _t: self._timer.start())
        self.query.returnPressed.connect(self.search_now)
        self.tag.textChanged.connect(lambda _t: self._timer.start())
        self.tag.returnPressed.connect(self.search_now)
        for combo in (self.author, self.type):
            combo.currentIndexChanged.connect(lambda _i: self.search_now())
        for field in (self.since, self.until):
            field.dateChanged.connect(lambda _d: self._timer.start())
        self.results.opened.connect(self._open)
        self.results.reply_requested.connect(self.reply_requested)
        self.results.share_requested.connect(self.share_requested)
        self.results.bookmark_requested.connect(self.bookmark_requested)
        self.results.add_to_list_requested.connect(self.add_to_list_requested)
        self.tags.refreshed.connect(self._update_tags)
        bridge.node_event.connect(self._on_event)
        self._layout()
        self._show_state()

    def _layout(self) -> None:
        heading = QLabel("<h2>Search</h2>")
        heading.setTextFormat(Qt.TextFormat.RichText)
        # two rows of filters, so that the screen still fits a narrow window
        who, when = QHBoxLayout(), QHBoxLayout()
        for row, label, widget in (
            (who, "&By", self.author),
            (who, "T&ag", self.tag),
            (who, "T&ype", self.type),
            (when, "Fro&m", self.since),
            (when, "&To", self.until),
        ):
            text = QLabel(label)
            text.setBuddy(widget)
            row.addWidget(text)
            row.addWidget(widget, 1 if widget is self.tag else 0)
        when.addWidget(self.clear_button)
        when.addStretch(1)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.query)
        column.addLayout(who)
        column.addLayout(when)
        column.addWidget(self.error)
        column.addWidget(self.status)
        column.addWidget(self.empty)
        column.addWidget(self.results, 1)
        column.addWidget(self.more, 0, Qt.AlignmentFlag.AlignHCenter)
        right = QWidget()
        side = QVBoxLayout(right)
        side.setContentsMargins(0, 0, 0, 0)
        browse = QLabel("<h3>Browse by tag</h3>")
        browse.setTextFormat(Qt.TextFormat.RichText)
        browse.setWordWrap(True)
        side.addWidget(browse)
        side.addWidget(self.tags_empty)
        side.addWidget(self.tag_list, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        search_page = QWidget()
        page = QVBoxLayout(search_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(heading)
        page.addWidget(splitter, 1)
        self.pages = QStackedWidget()
        self.pages.addWidget(search_page)
        self.pages.addWidget(self.tag_page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)

    # --- showing -------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        self._visible = True
        self.tags.active = True
        self.tags.refresh()
        if self._authors_stale:
            self.refresh_authors()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._visible = False
        self.tags.active = False
        super().hideEvent(event)

    def focus_query(self) -> None:
        """Ctrl+F: back to the search, the query selected for typing over."""
        self.show_search()
        self.query.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.selectAll()

    def show_search(self) -> None:
        self.pages.setCurrentIndex(0)

    def _on_event(self, event: object) -> None:
        if isinstance(event, LocalChanged) and event.what in ("following", "profile", "blocked"):
            self._authors_stale = True
            if self._visible:
                self.refresh_authors()

    # --- the author filter -------------------------------------------------------------

    def refresh_authors(self) -> None:
        self._authors_stale = False
        self.bridge.request(lambda desk: (desk.own, desk.following()), self._set_authors)

    def _set_authors(self, answer: tuple[bytes, list[AuthorItem]]) -> None:
        own, authors = answer
        current = self.author.currentData()
        self.author.blockSignals(True)
        try:
            self.author.clear()
            self.author.addItem("Anyone", None)
            # keys as hex: QComboBox.findData does not reliably match arbitrary bytes
            self.author.addItem("Me", own.hex())
            for author in authors:
                self.author.addItem(author.name, author.key.hex())
                self.author.setItemData(
                    self.author.count() - 1, author.key_text, Qt.ItemDataRole.ToolTipRole
                )
            found = self.author.findData(current)
            self.author.setCurrentIndex(max(0, found))
        finally:
            self.author.blockSignals(False)
        if current is not None and self.author.currentData() != current:
            self.search_now()  # the author chosen is no longer followed

    def select_author(self, key: bytes | None) -> bool:
        """Filter by ``key`` (None: anyone), if it is in the list; whether it was."""
        found = self.author.findData(key.hex() if key is not None else None)
        if found < 0:
            return False
        self.author.setCurrentIndex(found)
        return True

    # --- searching ---------------------------------------------------------------------

    def params(self) -> SearchParams:
        """The search the fields describe now."""
        since, until = self.since.value(), self.until.value()
        type_ = self.type.currentData()
        author = self.author.currentData()
        tag = self.tag.text().strip().lstrip("#").strip()
        return SearchParams(
            text=self.query.text().strip(),
            author=bytes.fromhex(author) if isinstance(author, str) else None,
            tag=tag or None,
            type=type_ if isinstance(type_, str) else None,
            since_ms=day_start_ms(since) if since is not None else None,
            until_ms=day_start_ms(until.addDays(1)) - 1 if until is not None else None,
        )

    def search_now(self) -> None:
        """Search for what the fields say (a new search: results start again)."""
        self._timer.stop()
        params = self.params()
        self._generation += 1
        self._params = params
        self._offset = 0
        self.error.hide()
        if params.empty():
            self._busy = False
            self.model.set_results([])
            self.more.hide()
            self._show_state()
            self.searched.emit()
            return
        self._request(params, 0, self._generation)

    def load_more(self) -> None:
        """The next page of the current search's results."""
        if self._params is None or self._busy:
            return
        self._request(self._params, self._offset, self._generation)

    def _request(self, params: SearchParams, offset: int, generation: int) -> None:
        self._busy = True
        self.more.setEnabled(False)
        self.status.setText("Searching…")

        def run(desk: Desk) -> list[SearchResult]:
            return desk.search(
                params.text,
                author=params.author,
                tag=params.tag,
                type=params.type,
                since_ms=params.since_ms,
                until_ms=params.until_ms,
                limit=PAGE,
                offset=offset,
            )

        self.bridge.request(
            run,
            lambda results: self._apply(generation, offset, results),
            lambda error: self._failed(generation, error),
        )

    def _apply(self, generation: int, offset: int, results: list[SearchResult]) -> None:
        if generation != self._generation:
            return  # a newer search has started
        self._busy = False
        self.more.setEnabled(True)
        if offset == 0:
            self.model.set_results(results)
        else:
            self.model.append(results)
        self._offset = offset + len(results)
        self.more.setVisible(len(results) >= PAGE)
        self._show_state()
        self.searched.emit()

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._busy = False
        self.more.setEnabled(True)
        self.more.hide()
        self.model.set_results([])
        self.error.setText(error_text(error))
        self.error.show()
        self._show_state()
        self.searched.emit()

    def _show_state(self) -> None:
        count = self.model.rowCount()
        params = self._params
        if count:
            more = "+" if self.more.isVisible() else ""
            self.status.setText(f"{count}{more} result{'s' if count != 1 else ''}")
        else:
            self.status.clear()
        if params is None or params.empty():
            self.empty.setText(
                "Type words to find posts again: by anyone stored here, yours included. "
                'Use quotes for a phrase ("spaced repetition"), and the filters to narrow it '
                "down. Or browse by tag."
            )
        elif self.error.isVisible():
            self.empty.setText("")
        else:
            self.empty.setText("Nothing found. Try other words, or fewer filters.")
        self.empty.setVisible(count == 0 and bool(self.empty.text()))
        self.results.setVisible(count > 0)

    def clear_filters(self) -> None:
        for widget in (self.author, self.type, self.tag, self.since, self.until):
            widget.blockSignals(True)
        try:
            self.author.setCurrentIndex(0)
            self.type.setCurrentIndex(0)
            self.tag.clear()
            self.since.set_value(None)
            self.until.set_value(None)
        finally:
            for widget in (self.author, self.type, self.tag, self.since, self.until):
                widget.blockSignals(False)
        self.search_now()

    def _open(self, item: PostItem) -> None:
        if item.kind == "readinglist":
            self.list_requested.emit(item)
        else:
            self.thread_requested.emit(item)

    # --- browsing by tag ---------------------------------------------------------------

    def _update_tags(self) -> None:
        empty = self.tags.rowCount() == 0
        self.tags_empty.setVisible(empty)
        self.tag_list.setVisible(not empty)

    def _tag_clicked(self, index: QModelIndex) -> None:
        tag = index.data(Qt.ItemDataRole.EditRole)
        if isinstance(tag, str) and tag:
            self.open_tag(tag)

    def open_tag(self, tag: str) -> PostListView:
        """Show the posts tagged ``tag`` (by me and the people I follow)."""
        view = self.tag_page.show_tag(self.bridge, tag)
        self.pages.setCurrentIndex(1)
        self.tag_view_created.emit(view)
        return view
