"""The main window: navigation, the screens, the status bar and the shortcuts.

It wires views to the bridge and to each other; it holds no application logic of its
own (that is the desk's, on the node thread) and draws no post itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from lndesk.app.desk_webitems import WEB_ITEM
from lndesk.app.events import EntriesStored, LocalChanged
from lndesk.app.items import PostItem
from lndesk.ui.bridge import Bridge
from lndesk.ui.identity_view import IdentityView
from lndesk.ui.models.posts import PostListModel
from lndesk.ui.network_view import NetworkView
from lndesk.ui.notifier import Notifier
from lndesk.ui.plain_text import shown_url
from lndesk.ui.restore_panel import RestoreBanner
from lndesk.ui.settings import CLOSE_TO_TRAY, GEOMETRY, flag, ui_settings
from lndesk.ui.settings_view import SettingsView
from lndesk.ui.sidebar import Sidebar
from lndesk.ui.status import StatusTracker
from lndesk.ui.tray import Tray
from lndesk.ui.views.add_to_list import AddToListMenu, choose_list_and_add
from lndesk.ui.views.compose import POST, REPLY, SHARE, ComposeBox, ComposeDialog
from lndesk.ui.views.edit import EditDialog
from lndesk.ui.views.feed_files import AtomFileBox
from lndesk.ui.views.following import FollowDialog, FollowingView
from lndesk.ui.views.inbox import InboxPage
from lndesk.ui.views.posts import PostListPanel, PostListView
from lndesk.ui.views.reading_lists import ReadingListsView, open_web_link
from lndesk.ui.views.search import SearchView
from lndesk.ui.views.thread import ThreadDialog
from lndesk.ui.views.widgets import heading, present

logger = logging.getLogger(__name__)

TIMELINE, REPLIES, MINE, FOLLOWING, BOOKMARKS = range(5)
SEARCH, LISTS, IDENTITY, NETWORK, SETTINGS = range(5, 10)
PAGES = (
    "Timeline",
    "Mentions & replies",
    "My posts",
    "Following",
    "Bookmarks",
    "Search",
    "Reading lists",
    "Identity",
    "Network",
    "Settings",
)
PAGE_ICONS = (
    "timeline",
    "replies",
    "mine",
    "following",
    "bookmarks",
    "search",
    "lists",
    "identity",
    "network",
    "settings",
)
MARK_READ_AFTER_MS = 1500
UNREAD_DELAY_MS = 400
"""The unread count is read again this long after the first of a burst of changes."""
# The smallest window whose every screen shows its labels whole.
MINIMUM_SIZE = (800, 560)
"""The newest post must stay in view this long (window active) before it counts as read."""


class PostPage(QWidget):
    """A titled post list, optionally with a compose box on top (the timeline)."""

    def __init__(
        self, bridge: Bridge, title: str, kind: str, empty: str, *, compose: bool = False
    ) -> None:
        super().__init__()
        self.model = PostListModel(bridge, kind, self)
        self.view = PostListView(self.model, self)
        self.compose = ComposeBox(bridge, POST, None, self, compact=True) if compose else None
        self.panel = PostListPanel(self.view, empty)
        self.empty = self.panel.empty
        layout = QVBoxLayout(self)
        layout.addWidget(heading(title))
        if self.compose is not None:
            layout.addWidget(self.compose)
        layout.addWidget(self.panel, 1)


class MainWindow(QMainWindow):
    first_paint = Signal()
    """The timeline's first page has been painted (cold-start measurement, smoke test)."""
    quit_requested = Signal()

    def __init__(
        self,
        bridge: Bridge,
        data_dir: Path,
        restart_network: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.bridge = bridge
        self.data_dir = data_dir
        self.settings = ui_settings(data_dir)
        self.setWindowTitle("lndesk")
        self.status = StatusTracker(bridge, self)
        self._quitting = False
        self._painted = False
        self._dialogs: list[QWidget] = []
        self.tags_dialog: QInputDialog | None = None
        """The last "Tags…" dialog of an item of a web feed."""

        self.nav = Sidebar(tuple(zip(PAGES, PAGE_ICONS, strict=True)))
        self.stack = QStackedWidget()
        self.timeline = PostPage(
            bridge,
            "Timeline",
            "timeline",
            "Nothing here yet. Write your first post above, or follow someone (Ctrl+L).",
            compose=True,
        )
        self.replies = InboxPage(bridge, "Mentions & replies")
        self.mine = PostPage(
            bridge,
            "My posts",
            "mine",
            "You have not published anything yet. Write a post (Ctrl+N): a note, a link "
            "with a comment or a question.",
        )
        self.following = FollowingView(bridge)
        self.bookmarks = PostPage(
            bridge, "Bookmarks", "bookmarks", "Bookmark a post (B) to keep it here."
        )
        self.search = SearchView(bridge)
        self.reading_lists = ReadingListsView(bridge)
        self.identity = IdentityView(bridge)
        self.network = NetworkView(bridge, restart_network, status=self.status)
        self.preferences = SettingsView(self.settings, data_dir)  # applies the theme itself
        self.atom_file = AtomFileBox(bridge)
        self.preferences.add_section(self.atom_file)
        for page in (
            self.timeline,
            self.replies,
            self.mine,
            self.following,
            self.bookmarks,
            self.search,
            self.reading_lists,
            self.identity,
            self.network,
            self.preferences,
        ):
            self.stack.addWidget(page)
        self.nav.currentRowChanged.connect(self.show_page)
        self.restore_banner = RestoreBanner(bridge)
        self.restore_banner.open_identity.connect(lambda: self.show_page(IDENTITY))
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.nav)
        right = QVBoxLayout()
        right.addWidget(self.restore_banner)
        right.addWidget(self.stack, 1)
        layout.addLayout(right, 1)
        self.setCentralWidget(central)

        self.connection_label = QLabel()
        self.sync_label = QLabel()
        self.unread_label = QLabel()
        bar = self.statusBar()
        bar.addPermanentWidget(self.sync_label)
        bar.addPermanentWidget(self.unread_label)
        bar.addPermanentWidget(self.connection_label)
        self.status.changed.connect(self._update_status)
        self.status.message.connect(lambda text: bar.showMessage(text, 15_000))
        bridge.error.connect(lambda text: bar.showMessage(text, 15_000))
        self._update_status()

        for page in (self.timeline, self.replies, self.mine, self.bookmarks):
            self._connect_posts(page.view)
            page.model.failed.connect(lambda text: bar.showMessage(text, 15_000))
        self._connect_posts(self.replies.requests_view)
        self.replies.message.connect(lambda text: bar.showMessage(text, 10_000))
        self.replies.requests_counted.connect(self._show_requests)
        self._connect_search_and_lists()
        self.timeline.view.seen_top.connect(self._seen_top)
        self.timeline.model.loaded.connect(self._after_first_page)
        self._read_timer = bridge.timer(self, self._mark_seen_read)
        self._seen_ms = 0
        self.unread = 0
        self._unread_timer = bridge.timer(self, self.refresh_unread)
        bridge.node_event.connect(self._on_event)

        self._add_actions()
        self.tray = self._make_tray()
        self.notifier = self._make_notifier()
        self.setMinimumSize(*MINIMUM_SIZE)
        self._restore_geometry()
        self.nav.setCurrentRow(TIMELINE)
        self.timeline.model.start()
        self.refresh_unread()
        self.restore_banner.refresh()

    # --- screens -------------------------------------------------------------------

    def show_page(self, row: int) -> None:
        if row < 0:
            return
        if self.nav.currentRow() != row:
            self.nav.setCurrentRow(row)
            return
        self.stack.setCurrentIndex(row)
        page = self.stack.widget(row)
        if isinstance(page, PostPage):
            page.model.start()

    def _connect_posts(self, view: PostListView) -> None:
        view.reply_requested.connect(self.reply)
        view.share_requested.connect(self.share)
        view.thread_requested.connect(self._thread_requested)
        view.bookmark_requested.connect(self.toggle_bookmark)
        view.mute_requested.connect(self.mute_author)
        if isinstance(view, PostListView):  # edit, add to a list, follow a shared author
            view.edit_requested.connect(self.edit_post)
            view.add_to_list_requested.connect(self.add_to_reading_list)
            view.tags_requested.connect(self.tag_item)
            view.link_hovered.connect(self.show_link)
            view.posts.followed.connect(
                lambda a: self.statusBar().showMessage(f"Now following {a.name}.", 10_000)
            )
        view.delete_requested.connect(self.delete_post)

    def show_link(self, link: str) -> None:
        """Say in the status bar where the link under the pointer goes."""
        if link:
            self.statusBar().showMessage(f"Opens {shown_url(link, 200)}")
        else:
            self.statusBar().clearMessage()

    def _connect_search_and_lists(self) -> None:
        search = self.search
        search.reply_requested.connect(self.reply)
        search.share_requested.connect(self.share)
        search.thread_requested.connect(self._thread_requested)
        search.bookmark_requested.connect(self.toggle_bookmark)
        search.add_to_list_requested.connect(self.add_to_reading_list)
        search.list_requested.connect(self.show_list)
        search.tag_view_created.connect(self._connect_posts)  # a tag's posts
        self.reading_lists.thread_requested.connect(self._thread_requested)
        self.reading_lists.lndesk_link_requested.connect(self.open_url)

    def find_posts(self) -> None:
        """Ctrl+F: the Search screen, its field ready for typing."""
        self.show_page(SEARCH)
        self.search.focus_query()

    def show_list(self, item: PostItem) -> None:
        """A reading list (found by search, say) on the Reading lists screen."""
        self.show_page(LISTS)
        self.reading_lists.show_list(item)

    def _add_actions(self) -> None:
        def add(
            text: str,
            shortcut: str | QKeySequence | QKeySequence.StandardKey,
            slot: Callable[[], object],
        ) -> QAction:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _=False: slot())
            self.addAction(action)
            return action

        self.compose_action = add("New post", "Ctrl+N", self.compose)
        self.follow_action = add("Follow someone", "Ctrl+L", self.follow)
        add("Mark all read", "Ctrl+Shift+A", self.mark_all_read)
        add("Quit", QKeySequence.StandardKey.Quit, self.quit)
        add("Keyboard shortcuts", "F1", self.show_shortcuts)
        self.find_action = add("Search posts", "Ctrl+F", self.find_posts)
        for row, title in enumerate(PAGES):
            # Ctrl+1 … Ctrl+9, then Ctrl+0 for the tenth screen
            add(title, f"Ctrl+{(row + 1) % 10}" if row < 10 else "", partial(self.show_page, row))

    def shortcut_lines(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every window shortcut, then the ones on a post."""
        lines = [
            (action.shortcut().toString(QKeySequence.SequenceFormat.NativeText), action.text())
            for action in self.actions()
            if not action.shortcut().isEmpty()
        ]
        lines += [
            (action.shortcut().toString(QKeySequence.SequenceFormat.NativeText), action.text())
            for action in self.timeline.view.actions()
        ]
        lines.append(("Ctrl+Return", "Publish what you are writing"))
        return lines

    def show_shortcuts(self) -> None:
        rows = "".join(
            f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{text}</td></tr>"
            for keys, text in self.shortcut_lines()
        )
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(f"<table>{rows}</table><p>Post shortcuts work in a list of posts.</p>")
        self._dialog(box)

    # --- post actions --------------------------------------------------------------

    def _dialog(self, dialog: QWidget) -> None:
        self._dialogs = [d for d in self._dialogs if isValid(d) and d.isVisible()]
        self._dialogs.append(dialog)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        present(dialog)

    def compose(self) -> None:
        self.activate()
        self._dialog(ComposeDialog(self.bridge, POST, None, self))

    def reply(self, item: PostItem) -> None:
        self._dialog(ComposeDialog(self.bridge, REPLY, item, self))

    def share(self, item: PostItem) -> None:
        self._dialog(ComposeDialog(self.bridge, SHARE, item, self))

    def _thread_requested(self, item: PostItem) -> None:
        if item.kind != WEB_ITEM:
            self.open_thread(item)
        elif item.links:  # an item of a web feed has no thread: its page opens, as a click
            open_web_link(item.links[0])

    def open_thread(self, item: PostItem) -> ThreadDialog:
        dialog = ThreadDialog(self.bridge, item, self)
        dialog.share_requested.connect(self.share)
        self._dialog(dialog)
        return dialog

    def follow(self, text: str = "", source: str = "pasted key") -> FollowDialog:
        self.activate()
        dialog = FollowDialog(self.bridge, text, source, self)
        self._dialog(dialog)
        return dialog

    def open_url(self, url: str) -> None:
        """An ``lndesk:`` link opened from a browser or another app."""
        self.follow(url, "lndesk: link")

    def toggle_bookmark(self, item: PostItem) -> None:
        key, on = item.post_key, not item.bookmarked
        if item.kind == WEB_ITEM:
            self.bridge.request(lambda desk: desk.feed_reader.set_bookmark(key[1], on))
            return
        self.bridge.request(lambda desk: desk.reading.set_bookmark(key, on))

    def mute_author(self, item: PostItem) -> None:
        if item.mine or item.kind == WEB_ITEM:  # a web feed is removed under Following
            return
        key = item.author
        self.bridge.request(lambda desk: desk.people.set_muted(key, True))
        self.statusBar().showMessage(
            f"Muted {item.shown_name}: their posts are hidden (unmute under Following).", 10_000
        )

    def edit_post(self, item: PostItem) -> EditDialog | None:
        if not (item.mine and item.kind in ("post", "reply") and item.problem is None):
            return None
        dialog = EditDialog(self.bridge, item, self)
        self._dialog(dialog)
        return dialog

    def tag_item(self, item: PostItem, text: str | None = None) -> None:
        """Tag an item of a web feed (``text``: the tags, as typed; None: ask, showing
        its tags now). Tags stay on this device, as lndesk feeds tag N TAG... does."""
        if item.kind != WEB_ITEM:
            return
        number = item.seq
        if text is None:
            self.bridge.request(
                lambda desk: desk.feed_reader.tags(number),
                lambda tags: self._ask_tags(item, tags),
            )
            return
        words = text.replace(",", " ").split()
        self.bridge.request(
            lambda desk: desk.feed_reader.set_tags(number, words),
            lambda tags: self.statusBar().showMessage(
                "Tags: " + " ".join(f"#{t}" for t in tags) if tags else "No tags.", 10_000
            ),
        )

    def _ask_tags(self, item: PostItem, tags: tuple[str, ...]) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Tags")
        dialog.setLabelText("Tags for this item, separated by spaces:")
        dialog.setTextValue(" ".join(tags))
        dialog.textValueSelected.connect(lambda text: self.tag_item(item, text))
        self.tags_dialog = dialog
        self._dialog(dialog)

    def add_to_reading_list(self, item: PostItem) -> AddToListMenu:
        """A post goes in as a reference, an item of a web feed as its link."""
        return choose_list_and_add(self.bridge, self, item)

    def delete_post(self, item: PostItem, *, confirm: bool = True) -> None:
        if not item.mine:
            return
        if confirm and (
            QMessageBox.question(
                self,
                "Delete post",
                "Delete this post? Peers that honour deletions hide it too; "
                "anyone who already read it may have kept a copy.",
            )
            != QMessageBox.StandardButton.Yes
        ):
            return
        key = item.post_key
        self.bridge.request_async(lambda desk: desk.posting.delete(key))

    # --- unread, status ------------------------------------------------------------

    def _on_event(self, event: object) -> None:
        if isinstance(event, EntriesStored) or (
            isinstance(event, LocalChanged)
            and event.what in ("read", "following", "muted", "webfeeds")
        ):
            self._unread_timer.start(UNREAD_DELAY_MS)

    def refresh_unread(self) -> None:
        self.bridge.request(lambda desk: desk.reading.unread_count(), self._set_unread)

    def _set_unread(self, count: int) -> None:
        self.unread = count
        text = "" if count == 0 else (f"{count} unread" if count < 1000 else "999+ unread")
        self.unread_label.setText(text)
        self.nav.set_count(TIMELINE, count)
        self.setWindowTitle("lndesk" if count == 0 else f"lndesk ({min(count, 999)})")
        self.tray.set_unread(count)

    def _show_requests(self, count: int) -> None:
        """Requests waiting are counted in the navigation, not notified (anyone can reply)."""
        self.nav.set_count(REPLIES, count)

    def _seen_top(self, claimed_ms: int) -> None:
        self._seen_ms = claimed_ms
        if self.isActiveWindow() or QGuiApplication.platformName() == "offscreen":
            self._read_timer.start(MARK_READ_AFTER_MS)

    def _mark_seen_read(self) -> None:
        view = self.timeline.view
        if view.isVisible() and view.verticalScrollBar().value() == 0 and self._seen_ms:
            mark = self._seen_ms
            self.bridge.request(lambda desk: desk.reading.mark_read(mark))

    def mark_all_read(self) -> None:
        self.bridge.request(lambda desk: desk.reading.mark_read())

    def _update_status(self) -> None:
        self.connection_label.setText(self.status.connection_text())
        self.sync_label.setText(self.status.sync_text())

    def _after_first_page(self) -> None:
        """Emit first_paint once the first page of the timeline has been drawn."""
        if self._painted:
            return
        self._painted = True
        if self.timeline.model.rowCount() == 0:
            # After this paint event (zero delay, no time involved): the empty-timeline message.
            QTimer.singleShot(0, self, self.first_paint.emit)
            return
        self.timeline.view.painted.connect(self._drawn)
        self.timeline.view.viewport().update()

    def _drawn(self) -> None:
        self.timeline.view.painted.disconnect(self._drawn)
        self.first_paint.emit()

    # --- desktop integration -------------------------------------------------------

    def _make_tray(self) -> Tray:
        tray = Tray(self)
        tray.open_requested.connect(self.activate)
        tray.notification_clicked.connect(self.open_notified)
        tray.compose_requested.connect(self.compose)
        tray.quit_requested.connect(self.quit)
        tray.show()
        return tray

    def _make_notifier(self) -> Notifier:
        return Notifier(self.bridge, self.settings, self.tray, self)

    def open_notified(self, target: object) -> ThreadDialog | None:
        """A notification was clicked: the window comes forward on the screen of what it
        told, ``target`` = (list, post): Mentions & replies for "replies", else the
        timeline, with that post's thread open."""
        self.activate()
        if not isinstance(target, tuple) or len(target) != 2:
            return None
        where, item = target
        if not isinstance(item, PostItem):
            return None
        self.show_page(REPLIES if where == "replies" else TIMELINE)
        return self.open_thread(item)

    def activate(self) -> None:
        """Bring the window to the front (a second launch, the tray, a link)."""
        if self.isMinimized():
            self.showNormal()
        present(self)

    def _restore_geometry(self) -> None:
        geometry = self.settings.value(GEOMETRY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 760)

    def quit(self) -> None:
        self._quitting = True
        self.close()
        self.quit_requested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        tray_ok = self.tray.available()
        if not self._quitting and tray_ok and flag(self.settings, CLOSE_TO_TRAY, False):
            self.hide()
            event.ignore()
            return
        self.settings.setValue(GEOMETRY, self.saveGeometry())
        self.settings.sync()
        self.bridge.close()
        event.accept()
        self.quit_requested.emit()
