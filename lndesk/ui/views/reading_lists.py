"""Reading lists: titled, ordered recommendations of posts and links.

The screen lists every reading list by me and the people I follow (mine first) and shows
the selected one's items in order. My own lists can be edited: each change (a new list,
a new title, a link added, an item removed or moved) is published as a new state of the
list, and the screen waits until it shows that state before it takes the next change, so
two quick changes never undo each other.

The "Add to reading list…" action for a post anywhere in the app is
:func:`lndesk.ui.views.add_to_list.choose_list_and_add`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QItemSelectionModel, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QHideEvent, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lndesk.app.items import ListEntry, PostItem
from lndesk.content import MAX_LIST_ITEMS, MAX_NOTE_CHARS, MAX_TITLE_CHARS
from lndesk.entry_refs import Ref
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text, relative_time
from lndesk.ui.models.lists import (
    ListEntriesModel,
    ListKey,
    ReadingListsModel,
    count_text,
    list_key,
    list_title,
)
from lndesk.ui.views.cards import LinesDelegate
from lndesk.ui.views.widgets import (
    add_action,
    bare_column,
    card_list,
    current_item,
    error_label,
    heading,
    side_by_side,
)

__all__ = ["ReadingListsView", "open_web_link"]

WEB = ("http://", "https://")


def open_web_link(link: str) -> bool:
    """Hand a web link to the browser (http and https only: a peer's list must not make
    the app open files or other programs); whether it was one."""
    if not link.lower().startswith(WEB):
        return False
    QDesktopServices.openUrl(QUrl(link))
    return True


class ReadingListsView(QWidget):
    """The Reading lists screen."""

    thread_requested = Signal(object)
    """The PostItem of a list item to open in its thread."""
    link_activated = Signal(str)
    """A web link in a list was opened (and handed to the browser)."""
    lndesk_link_requested = Signal(str)
    """An ``lndesk://`` link in a list was opened (the window offers to follow it)."""
    published = Signal(int)
    """A change to one of my lists was published (its seq) and the screen shows it."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._busy = False
        self._waiting: int | None = None
        """The seq of my list's new state, published, not yet shown."""
        self._want_list: ListKey | None = None
        self._want_entry: int | None = None
        self._after: Callable[[], None] | None = None

        self.model = ReadingListsModel(bridge, self)
        self.lists = card_list(self.model)
        self.lists_empty = QLabel(
            "No reading lists yet. Start one with “New list…”, or add a post to a list "
            "from the post's menu. Lists by people you follow show here too."
        )
        self.lists_empty.setWordWrap(True)
        self.new_button = QPushButton("New list…")
        self.new_button.clicked.connect(lambda _=False: self.new_list())

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.meta = QLabel()
        self.meta.setTextFormat(Qt.TextFormat.PlainText)
        self.meta.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # details, dimmed
        self.meta.setWordWrap(True)
        self.entries_model = ListEntriesModel(self)
        self.entries = card_list(self.entries_model)
        # an item: its title or link, its note, then where it comes from (dimmed)
        self.entries.setItemDelegate(
            LinesDelegate(self.entries, dim=lambda line, count: count > 1 and line == count - 1)
        )
        self.entries.doubleClicked.connect(lambda index: self.open_entry(index.row()))
        self.entries_empty = QLabel()
        self.entries_empty.setWordWrap(True)

        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the post's thread, or the link (Enter)")
        self.open_button.clicked.connect(lambda _=False: self.open_entry())
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(lambda _=False: self.rename())
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the item from the list (Delete)")
        self.remove_button.clicked.connect(self.remove_entry)
        self.up_button = QPushButton("Move up")
        self.up_button.setToolTip("Ctrl+Up")
        self.up_button.clicked.connect(lambda: self.move_entry(-1))
        self.down_button = QPushButton("Move down")
        self.down_button.setToolTip("Ctrl+Down")
        self.down_button.clicked.connect(lambda: self.move_entry(1))
        self.link_field = QLineEdit()
        self.link_field.setPlaceholderText("https://… a link to add")
        self.note_field = QLineEdit()
        self.note_field.setPlaceholderText("note (optional): why read it")
        self.note_field.setMaxLength(MAX_NOTE_CHARS)
        self.add_button = QPushButton("Add link")
        self.add_button.clicked.connect(lambda _=False: self.add_link())
        self.link_field.returnPressed.connect(self.add_link)
        self.note_field.returnPressed.connect(self.add_link)
        self.error = error_label()
        self.status = QLabel()
        self.status.setWordWrap(True)

        self._add_shortcuts()
        self._layout()
        self.model.refreshed.connect(self._refreshed)
        self.model.dataChanged.connect(lambda *_: self._update())
        self.model.rowsInserted.connect(lambda *_: self._update())
        self.model.rowsRemoved.connect(lambda *_: self._update())
        self.model.failed.connect(self.show_error)
        self.lists.selectionModel().currentChanged.connect(lambda *_: self._list_changed())
        self.entries.selectionModel().currentChanged.connect(lambda *_: self._update_controls())
        self._update()

    def _layout(self) -> None:
        left = QWidget()
        column = bare_column(left)
        column.addWidget(self.lists_empty)
        column.addWidget(self.lists, 1)
        column.addWidget(self.new_button)
        self.editing = QWidget()
        """What only my own lists offer: renaming, moving, removing, adding a link."""
        edit = bare_column(self.editing)
        buttons = QHBoxLayout()
        for button in (self.rename_button, self.up_button, self.down_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        edit.addLayout(buttons)
        add = QHBoxLayout()
        add.addWidget(self.link_field, 2)
        add.addWidget(self.note_field, 2)
        add.addWidget(self.add_button)
        edit.addLayout(add)
        right = QWidget()
        details = bare_column(right)
        details.addWidget(self.title)
        details.addWidget(self.meta)
        details.addWidget(self.entries_empty)
        details.addWidget(self.entries, 1)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addStretch(1)
        details.addLayout(row)
        details.addWidget(self.editing)
        details.addWidget(self.error)
        details.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Reading lists"))
        split = side_by_side(left, right, (1, 2))
        split.setSizes([1000, 2000])  # a third for the lists, the rest for the one open
        layout.addWidget(split, 1)

    def _add_shortcuts(self) -> None:
        for text, shortcut, slot in (
            ("Open", "Return", self.open_entry),
            ("Remove from list", "Delete", self.remove_entry),
            ("Move up", "Ctrl+Up", lambda: self.move_entry(-1)),
            ("Move down", "Ctrl+Down", lambda: self.move_entry(1)),
        ):
            add_action(self.entries, text, shortcut, slot)

    # --- showing -------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        self.model.active = True
        if self.model.stale:
            self.model.refresh()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.model.active = False
        super().hideEvent(event)

    def refresh(self) -> None:
        self.model.refresh()

    def selected_list(self) -> PostItem | None:
        return current_item(self.lists, PostItem)

    def selected_row(self) -> int:
        index = self.entries.currentIndex()
        return index.row() if index.isValid() else -1

    def select_list(self, of: ListKey) -> bool:
        """Select the list named by ``key`` (its first version's author and seq)."""
        row = self.model.row_of(of)
        if row is None:
            return False
        self.lists.setCurrentIndex(self.model.index(row))
        return True

    def show_list(self, item: PostItem) -> None:
        """Select the list ``item`` is a state of (when it has loaded, if it has not)."""
        key = list_key(item)
        if not self.select_list(key):
            self._want_list = key
            self.model.refresh()

    def select_entry(self, row: int) -> None:
        if 0 <= row < self.entries_model.rowCount():
            self.entries.selectionModel().setCurrentIndex(
                self.entries_model.index(row),
                QItemSelectionModel.SelectionFlag.ClearAndSelect,
            )

    def _refreshed(self) -> None:
        if self._waiting is not None:
            seq = self._waiting
            found = next(
                (row for row, i in enumerate(self.model.items()) if i.mine and i.seq == seq),
                None,
            )
            if found is None and not self.model.settled():
                return  # a refresh from before the change; the one after it is coming
            self._waiting = None
            self._busy = False
            if found is not None:
                self.lists.setCurrentIndex(self.model.index(found))
                self._update()
                if self._want_entry is not None:
                    self.select_entry(self._want_entry)
            self._want_entry = None
            after, self._after = self._after, None
            if after is not None:
                after()
            self.status.setText(self.bridge.connectivity.published())
            self._update_controls()
            self.published.emit(seq)
        elif self._want_list is not None and self.select_list(self._want_list):
            self._want_list = None
        if self.selected_list() is None and self.model.rowCount():
            self.lists.setCurrentIndex(self.model.index(0))
        self._update()

    def _list_changed(self) -> None:
        self.entries_model.set_entries([])  # another list: no item of the last one selected
        self.error.hide()
        if not self._busy:
            self.status.clear()
        self._update()

    def _update(self) -> None:
        """Show the selected list's current state."""
        item = self.selected_list()
        self.lists_empty.setVisible(self.model.rowCount() == 0)
        if item is None:
            self.title.setText("")
            self.meta.setText(
                "Select a list." if self.model.rowCount() else "Your lists will show here."
            )
            self.entries_model.set_entries([])
        else:
            self.title.setText(list_title(item))
            author = "you" if item.mine else item.shown_name
            self.meta.setText(
                f"By {author} · {count_text(len(item.list_items))} · "
                f"updated {relative_time(item.claimed_ms)}"
                + ("" if item.mine else " · only its author can change it")
            )
            row = self.selected_row()
            if list(item.list_items) != self.entries_model.entries():
                self.entries_model.set_entries(item.list_items)
                if row >= 0:
                    self.select_entry(min(row, self.entries_model.rowCount() - 1))
        count = self.entries_model.rowCount()
        if item is None:
            self.entries_empty.setText("")
        elif item.mine:
            self.entries_empty.setText(
                "This list is empty. Add a link below, or a post from its menu "
                "(Add to reading list…)."
            )
        else:
            self.entries_empty.setText("This list is empty.")
        self.entries_empty.setVisible(item is not None and count == 0)
        self.entries.setVisible(count > 0)
        self.editing.setVisible(item is not None and item.mine)
        self._update_controls()

    def _update_controls(self) -> None:
        item = self.selected_list()
        row = self.selected_row()
        count = self.entries_model.rowCount()
        mine = item is not None and item.mine and not self._busy
        self.new_button.setEnabled(not self._busy)
        self.open_button.setEnabled(row >= 0)
        self.rename_button.setEnabled(mine)
        self.add_button.setEnabled(mine)
        self.remove_button.setEnabled(mine and row >= 0)
        self.up_button.setEnabled(mine and row > 0)
        self.down_button.setEnabled(mine and 0 <= row < count - 1)

    # --- opening an item -----------------------------------------------------------

    def open_entry(self, row: int | None = None) -> None:
        """Open the item at ``row`` (default: the selected one): its thread, or its link."""
        row = self.selected_row() if row is None else row
        if not 0 <= row < self.entries_model.rowCount():
            return
        entry = self.entries_model.entry(row)
        self.error.hide()
        if entry.ref is None:
            link = entry.link or ""
            if open_web_link(link):
                self.link_activated.emit(link)
            elif link.lower().startswith("lndesk://"):
                self.lndesk_link_requested.emit(link)
            else:
                self.show_error("This item's link cannot be opened here.")
            return
        if not entry.stored:
            self.show_error("That post is not stored here yet: it arrives once a peer has it.")
            return
        ref = entry.ref
        self.bridge.request(
            lambda desk: desk.reading.thread(ref), lambda items: self._open(ref, items)
        )

    def _open(self, ref: Ref, items: Sequence[PostItem]) -> None:
        item = next((i for i in items if i.post_key == (ref[0], ref[1])), None)
        if item is None:
            self.show_error("That post is no longer stored here.")
            return
        self.thread_requested.emit(item)

    # --- changing my lists ---------------------------------------------------------

    def _publish(
        self,
        item: PostItem | None,
        title: str,
        entries: Sequence[ListEntry],
        *,
        select_entry: int | None = None,
        after: Callable[[], None] | None = None,
    ) -> bool:
        """Publish a new list (``item`` None) or a new state of my list ``item``."""
        if self._busy:
            return False
        title = title.strip()
        if not title:
            self.show_error("Give the list a title.")
            return False
        if len(title) > MAX_TITLE_CHARS:
            self.show_error(f"A list's title has at most {MAX_TITLE_CHARS} characters.")
            return False
        if len(entries) > MAX_LIST_ITEMS:
            self.show_error(f"A reading list holds at most {MAX_LIST_ITEMS} items.")
            return False
        of = list_key(item) if item is not None else None
        state = tuple(entries)
        self._busy = True
        self._want_entry = select_entry
        self._after = after
        self.error.hide()
        self.status.setText("Publishing…")
        self._update_controls()
        self.bridge.request_async(
            lambda desk: desk.lists.publish_list(title, state, of), self._published, self._failed
        )
        return True

    def _published(self, seq: int) -> None:
        self._waiting = seq
        self.model.refresh()

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self._want_entry = None
        self._after = None
        self.status.clear()
        self.show_error(error_text(error))
        self._update_controls()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _my_list(self) -> PostItem | None:
        item = self.selected_list()
        return item if item is not None and item.mine else None

    def new_list(self, title: str | None = None) -> bool:
        """Start a new, empty list (``title`` None: ask for one); whether it went out."""
        if self._busy:
            return False
        if title is None:
            title, ok = QInputDialog.getText(self, "New reading list", "Title of the list:")
            if not ok:
                return False
        return self._publish(None, title, ())

    def rename(self, title: str | None = None) -> bool:
        item = self._my_list()
        if item is None or self._busy:
            return False
        if title is None:
            title, ok = QInputDialog.getText(
                self, "Rename reading list", "New title:", text=item.text
            )
            if not ok:
                return False
        if title.strip() == item.text:
            return False
        row = self.selected_row()
        return self._publish(item, title, item.list_items, select_entry=row if row >= 0 else None)

    def add_link(self, link: str | None = None, note: str | None = None) -> bool:
        """Add a link (default: the one in the field) with a note to the end of my list."""
        item = self._my_list()
        if item is None or self._busy:
            return False
        from_fields = link is None
        link = (self.link_field.text() if link is None else link).strip()
        note = (self.note_field.text() if note is None else note).strip()
        if not link:
            self.show_error("Paste a link to add first (https://…).")
            return False
        entries = [*item.list_items, ListEntry(link, note, link=link)]

        def clear_fields() -> None:
            if from_fields:
                self.link_field.clear()
                self.note_field.clear()

        return self._publish(
            item, item.text, entries, select_entry=len(entries) - 1, after=clear_fields
        )

    def remove_entry(self) -> bool:
        item, row = self._my_list(), self.selected_row()
        if item is None or self._busy or not 0 <= row < len(item.list_items):
            return False
        entries = [e for n, e in enumerate(item.list_items) if n != row]
        select = min(row, len(entries) - 1) if entries else None
        return self._publish(item, item.text, entries, select_entry=select)

    def move_entry(self, delta: int) -> bool:
        """Move the selected item ``delta`` places (-1: up, 1: down)."""
        item, row = self._my_list(), self.selected_row()
        if item is None or self._busy or not 0 <= row < len(item.list_items):
            return False
        to = row + delta
        if not 0 <= to < len(item.list_items):
            return False
        entries = list(item.list_items)
        entries.insert(to, entries.pop(row))
        return self._publish(item, item.text, entries, select_entry=to)
