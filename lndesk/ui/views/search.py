"""Search: find a post again by its words, narrowed by author, tag, type and date, and
browse by tag.

Searching runs on the node thread like everything else; the field searches as you type
(after a short pause) and on Enter. Each search carries a number, so an answer that
arrives after a newer search was started is dropped instead of replacing newer results.
A query the search cannot read (an unbalanced quote, say) is explained under the field.

The parts of the screen are in their own modules: the filters (:mod:`.search_filters`),
the results (:mod:`.search_results`) and browsing by tag (:mod:`.tag_browser`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.desk import Desk
from lndesk.app.events import LocalChanged
from lndesk.app.items import AuthorItem, PostItem, SearchQuery, SearchResult
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text
from lndesk.ui.models.search import SearchResultsModel, TagsModel
from lndesk.ui.views.nickname import ask_nickname
from lndesk.ui.views.posts import PostListView
from lndesk.ui.views.search_filters import SearchFilters
from lndesk.ui.views.search_results import ResultsView
from lndesk.ui.views.tag_browser import TagBrowser, TagPostsPage
from lndesk.ui.views.widgets import bare_column, error_label, heading, side_by_side

__all__ = ["BEFORE_SEARCHING", "FIND_MORE", "PAGE", "SHORT_LIST", "TYPING_DELAY_MS", "SearchView"]

PAGE = 50
"""Results asked for at a time ("Load more" asks for the next page)."""
TYPING_DELAY_MS = 250
"""Searching as you type waits for a pause this long."""
SHORT_LIST = 5
"""Fewer results than this (and no more to load): say under them how to find more."""
BEFORE_SEARCHING = (
    "Type words to find posts again, by anyone stored here, yours included. For example:\n"
    'learning  ·  lea (the start of a word)  ·  "spaced repetition" (a phrase, in quotes)\n'
    "Narrow it down with the filters (a person, a tag, a type such as Open questions or "
    "Web feed items, dates), or browse by tag."
)
"""Said before anything is searched: what can be searched, with examples."""
FIND_MORE = (
    "That is all there is. To find more: fewer words, the start of a word (lea finds "
    "learning), a phrase in quotes, or fewer filters."
)
"""Said under a short list of results."""


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
        self._pending = 0
        self._params: SearchQuery | None = None
        self._busy = False
        self._authors_stale = True
        self._visible = False

        self.query = QLineEdit()
        self.query.setPlaceholderText("Search posts, replies, shares and reading lists…  (Ctrl+F)")
        self.query.setClearButtonEnabled(True)
        self.tags = TagsModel(bridge, self)
        self.filters = SearchFilters(self.tags)
        self.error = error_label()
        self.status = QLabel()
        self.model = SearchResultsModel(self)
        self.results = ResultsView(self.model, self)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.find_more = QLabel(FIND_MORE)
        self.find_more.setWordWrap(True)
        self.find_more.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.more = QPushButton("Load more")
        self.more.clicked.connect(self.load_more)
        self.more.hide()
        self.browser = TagBrowser(self.tags)
        self.browser.chosen.connect(self.open_tag)
        self.tag_page = TagPostsPage(self)
        self.tag_page.back.connect(self.show_search)

        self._timer = bridge.timer(self, self.search_now)
        self.query.textChanged.connect(lambda _t: self._timer.start(TYPING_DELAY_MS))
        self.query.returnPressed.connect(self.search_now)
        self.filters.edited.connect(lambda: self._timer.start(TYPING_DELAY_MS))
        self.filters.changed.connect(self.search_now)
        self.results.opened.connect(self._open)
        self.results.reply_requested.connect(self.reply_requested)
        self.results.share_requested.connect(self.share_requested)
        self.results.bookmark_requested.connect(self.bookmark_requested)
        self.results.add_to_list_requested.connect(self.add_to_list_requested)
        self.results.nickname_requested.connect(self.ask_nickname)
        bridge.node_event.connect(self._on_event)
        self._layout()
        self._show_state()

    def _layout(self) -> None:
        left = QWidget()
        column = bare_column(left)
        column.addWidget(self.query)
        column.addWidget(self.filters)
        column.addWidget(self.error)
        column.addWidget(self.status)
        column.addWidget(self.empty)
        # The results take the height they need, up to all there is: a short answer is
        # not a card floating in a big empty box.
        self.results.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        column.addWidget(self.results)
        column.addWidget(self.more, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.find_more)
        column.addStretch(1)
        search_page = QWidget()
        page = bare_column(search_page)
        page.addWidget(heading("Search"))
        page.addWidget(side_by_side(left, self.browser, (3, 1)), 1)
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
            if event.what == "profile" and self.model.rowCount() and self._params is not None:
                self._request(self._params, 0, self._generation)  # names read differently

    def ask_nickname(self, item: PostItem) -> QInputDialog:
        """Open the "Set nickname…" dialog for the author of the result ``item``."""
        return ask_nickname(self, self.bridge, item, self._nickname_failed)

    def _nickname_failed(self, error: BaseException) -> None:
        self.error.setText(error_text(error))
        self.error.show()

    # --- the author filter -------------------------------------------------------------

    def refresh_authors(self) -> None:
        self._authors_stale = False
        self.bridge.request(lambda desk: (desk.own, desk.people.following()), self._set_authors)

    def _set_authors(self, answer: tuple[bytes, list[AuthorItem]]) -> None:
        own, authors = answer
        self.filters.set_authors(own, authors)

    # --- searching ---------------------------------------------------------------------

    def params(self) -> SearchQuery:
        """The search the fields describe now."""
        return self.filters.params(self.query.text().strip())

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

    def _request(self, params: SearchQuery, offset: int, generation: int) -> None:
        self._busy = True
        self.more.setEnabled(False)
        self.status.setText("Searching…")

        def run(desk: Desk) -> list[SearchResult]:
            return desk.search.posts(
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
        self._pending = getattr(results, "pending", 0)
        self.more.setVisible(len(results) >= PAGE)
        self._show_state()
        self.searched.emit()

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._busy = False
        self.more.setEnabled(True)
        self.more.hide()
        self._pending = 0
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
        if self._pending:
            # A big sync just arrived: its text is indexed in the background, search again soon.
            pending = f"still indexing {self._pending} new post{'s' if self._pending != 1 else ''}"
            self.status.setText(f"{self.status.text()} ({pending})".strip())
        if params is None or params.empty():
            self.empty.setText(BEFORE_SEARCHING)
        elif self.error.isVisible():
            self.empty.setText("")
        else:
            self.empty.setText("Nothing found. Try other words, or fewer filters.")
        self.empty.setVisible(count == 0 and bool(self.empty.text()))
        self.results.setVisible(count > 0)
        short = 0 < count < SHORT_LIST and self.more.isHidden() and not self._pending
        self.find_more.setVisible(short)

    def _open(self, item: PostItem) -> None:
        if item.kind == "readinglist":
            self.list_requested.emit(item)
        else:
            self.thread_requested.emit(item)

    # --- browsing by tag ---------------------------------------------------------------

    def open_tag(self, tag: str) -> PostListView:
        """Show the posts tagged ``tag`` (by me and the people I follow)."""
        view = self.tag_page.show_tag(self.bridge, tag)
        self.pages.setCurrentIndex(1)
        self.tag_view_created.emit(view)
        return view
