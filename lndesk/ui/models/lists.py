"""The Reading lists screen's lists: every reading list, and the items of one.

A reading list is identified by its first version (``PostItem.list_of``); each update is
a new entry, and the desk answers with each list's current state. Rows are keyed by the
list, so a list keeps its place and its selection while new states of it arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from PySide6.QtCore import QObject, Qt, Signal

from lndesk.app.events import EntriesStored, LocalChanged
from lndesk.app.items import ListEntry, PostItem
from lndesk.entry_refs import PostKey
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text
from lndesk.ui.models.live import Index, ItemRole, LiveListModel, RowsModel
from lndesk.ui.plain_text import plain_tooltip

__all__ = [
    "EntryRole",
    "ItemRole",
    "ListEntriesModel",
    "ListKey",
    "ReadingListsModel",
    "entry_lines",
    "list_key",
    "list_line",
]

EntryRole = Qt.ItemDataRole.UserRole + 2
"""A list item's :class:`ListEntry`."""
TITLE_CHARS = 200
NOTE_CHARS = 300
LISTS_DELAY_MS = 300
"""The lists are read again this long after the first of a burst of changes."""
REFRESH_ON = ("lists", "published", "following", "muted", "blocked", "profile")

ListKey = PostKey
"""What names a reading list across its versions: its first version's (author, seq)."""


def list_key(item: PostItem) -> ListKey:
    """The :data:`ListKey` of the list ``item`` is a state of."""
    if item.list_of is not None:
        return (item.list_of[0], item.list_of[1])
    return item.post_key


def one_line(text: str, limit: int) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def list_title(item: PostItem) -> str:
    return one_line(item.text, TITLE_CHARS) or "(untitled list)"


def count_text(count: int) -> str:
    return f"{count} item{'s' if count != 1 else ''}"


def list_line(item: PostItem) -> str:
    """A list as the lists column shows it: title, then author and item count."""
    author = "you" if item.mine else item.author_name
    return f"{list_title(item)}\n{author} · {count_text(len(item.list_items))}"


def entry_lines(entry: ListEntry) -> str:
    """A list item as the items column shows it: title or link, note, where it is from."""
    if entry.link is not None and entry.ref is None:
        first = one_line(entry.link, TITLE_CHARS)
        source = "link"
    else:
        first = one_line(entry.title, TITLE_CHARS) or "(no text)"
        name = entry.author_name or "someone"
        source = f"post by {name}" if entry.stored else f"post by {name}, not stored here yet"
    lines = [first]
    note = one_line(entry.note, NOTE_CHARS)
    if note:
        lines.append(f"“{note}”")
    lines.append(source)
    return "\n".join(lines)


class ReadingListsModel(LiveListModel[PostItem]):
    """Every reading list by me and the people I follow: mine first, then newest first
    (rows: the :class:`PostItem` of each list's current state)."""

    failed = Signal(str)
    """The lists could not be read (what to tell the user)."""

    def __init__(self, bridge: Bridge | None, parent: QObject | None = None) -> None:
        super().__init__(
            bridge,
            parent,
            query=lambda desk: sorted(desk.lists.reading_lists(), key=lambda item: not item.mine),
            key=list_key,
            display=list_line,
            tooltip=lambda item: f"{list_title(item)} — by {item.author_name}",
        )
        self.active = False
        """Refresh on events only while the screen shows (else note that it is stale)."""
        self.stale = True
        self._timer = bridge.timer(self, self.refresh) if bridge is not None else None

    def _on_event(self, event: object) -> None:
        relevant = isinstance(event, EntriesStored) or (
            isinstance(event, LocalChanged) and event.what in REFRESH_ON
        )
        if not relevant:
            return
        if not self.active:
            self.stale = True
        elif self._timer is not None and not self._timer.isActive():
            self._timer.start(LISTS_DELAY_MS)

    def refresh(self) -> None:
        self.stale = False
        super().refresh()

    def _failed(self, error: BaseException) -> None:
        self.failed.emit(error_text(error))
        super()._failed(error)

    def settled(self) -> bool:
        """No refresh is in flight or waiting (the rows are the latest answer)."""
        return not self._busy and not self._again

    def row_of(self, of: ListKey) -> int | None:
        for row, item in enumerate(self._rows):
            if list_key(item) == of:
                return row
        return None


class ListEntriesModel(RowsModel[ListEntry]):
    """The items of one reading list, in order (rows: :class:`ListEntry`)."""

    ROLES: ClassVar[dict[int, bytes]] = {EntryRole: b"entry"}

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        entry = self.row_at(index)
        if entry is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return entry_lines(entry)
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [entry.link or entry.title]
            if entry.note:
                parts.append(entry.note[:2000])
            return plain_tooltip("\n\n".join(parts))
        if role == EntryRole:
            return entry
        return None

    def entries(self) -> list[ListEntry]:
        return list(self._rows)

    def entry(self, row: int) -> ListEntry:
        return self._rows[row]

    def set_entries(self, entries: Sequence[ListEntry]) -> None:
        """Show ``entries`` (a list's state, or nothing)."""
        entries = list(entries)
        if entries == self._rows:
            return
        self.beginResetModel()
        self._rows = entries
        self.endResetModel()
