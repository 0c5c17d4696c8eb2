"""The Search screen's lists: the results of a search, and the tags to browse by.

Search results hold a snippet of the matching text and where the matched words are in
it; :func:`highlight_html` turns both into rich text, escaping everything a peer wrote
so that only the highlight is markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, Qt

from lndesk.app.desk_webitems import WEB_ITEM
from lndesk.app.events import EntriesStored, LocalChanged
from lndesk.app.items import PostItem, SearchResult
from lndesk.entry_refs import PostKey
from lndesk.ui import theme
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import relative_time
from lndesk.ui.models.live import Index, ItemRole, LiveListModel, RowsModel
from lndesk.ui.plain_text import clean_text, one_line, plain_tooltip

__all__ = [
    "HIGHLIGHT_CLOSE",
    "HIGHLIGHT_OPEN",
    "HtmlRole",
    "ItemRole",
    "ResultRole",
    "SearchResultsModel",
    "TagsModel",
    "highlight_html",
    "kind_label",
]

# ItemRole (from the live models): the result's :class:`PostItem` (what opening it opens)
HtmlRole = Qt.ItemDataRole.UserRole + 2
"""The result as rich text: author, time, type and the highlighted snippet."""
ResultRole = Qt.ItemDataRole.UserRole + 3
"""The :class:`SearchResult` itself."""

HIGHLIGHT_OPEN = '<span style="background-color:#ffe58a; color:#111111; font-weight:600">'
HIGHLIGHT_CLOSE = "</span>"
SNIPPET_CHARS = 2000
TAGS_DELAY_MS = 500
"""The tags are counted again this long after the first of a burst of changes."""
"""A snippet longer than this (a peer's post, unabridged) is cut for display."""
KINDS = {
    "post": "post",
    "reply": "reply",
    "share": "share",
    "readinglist": "reading list",
    "webshare": "shared web item",
    WEB_ITEM: "web feed item",
}


def kind_label(item: PostItem) -> str:
    if item.kind == "post" and item.question:
        return "question"
    return KINDS.get(item.kind, item.kind)


def _clean_spans(spans: Iterable[Any], length: int) -> list[tuple[int, int]]:
    """The spans that make sense in a text of ``length`` characters, sorted, without
    overlaps (a span that overlaps the one before it is merged into it)."""
    found: list[tuple[int, int]] = []
    for span in spans:
        try:
            start, end = (int(span[0]), int(span[1]))
        except (TypeError, ValueError, IndexError):
            continue
        start, end = max(0, start), min(length, end)
        if start < end:
            found.append((start, end))
    found.sort()
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight_html(snippet: str, spans: Iterable[Any]) -> str:
    """``snippet`` as rich text with the ``spans`` (character offsets) highlighted.

    Everything in the snippet is escaped: a peer who typed ``<b>`` sees ``<b>``."""
    text = " ".join(str(snippet)[:SNIPPET_CHARS].split("\n"))
    parts = []
    at = 0
    for start, end in _clean_spans(spans, len(text)):
        parts.append(html.escape(clean_text(text[at:start])))
        parts.append(HIGHLIGHT_OPEN + html.escape(clean_text(text[start:end])) + HIGHLIGHT_CLOSE)
        at = end
    parts.append(html.escape(clean_text(text[at:])))
    return "".join(parts)


def result_html(result: SearchResult) -> str:
    item = result.item
    name = html.escape(one_line(item.shown_name, 64) + (" (you)" if item.mine else ""))
    marks = [item.short_key]
    if not item.mine and not item.followed:
        marks.append("not followed")
    meta = " · ".join((*marks, kind_label(item), relative_time(item.claimed_ms)))
    tags = ""
    if item.tags:
        tags = " · " + html.escape(" ".join(f"#{t}" for t in item.tags))
    snippet = highlight_html(result.snippet, result.spans) or "<i>(no text)</i>"
    note = theme.named_colour("note").name()
    return (
        f"<b>{name}</b> <span style='color:{note}'>· {html.escape(meta)}{tags}</span><br>{snippet}"
    )


class SearchResultsModel(RowsModel[SearchResult]):
    """The results of one search, a page at a time (rows: :class:`SearchResult`)."""

    ROLES: ClassVar[dict[int, bytes]] = {
        ItemRole: b"item",
        HtmlRole: b"html",
        ResultRole: b"result",
    }

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._html: list[str] = []
        self._keys: set[PostKey] = set()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        result = self.row_at(index)
        if result is None:
            return None
        item = result.item
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{item.shown_name} · {kind_label(item)}: {result.snippet}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(f"{item.shown_name} ({item.short_key}) — Enter opens the thread")
        if role == HtmlRole:
            return self._html[index.row()]
        if role == ItemRole:
            return item
        if role == ResultRole:
            return result
        return None

    def result(self, row: int) -> SearchResult:
        return self._rows[row]

    def results(self) -> list[SearchResult]:
        return list(self._rows)

    def set_results(self, results: Sequence[SearchResult]) -> None:
        """Show ``results`` instead of what is shown (a new search)."""
        self.beginResetModel()
        self._rows, self._html, self._keys = [], [], set()
        self._extend(results)
        self.endResetModel()

    def append(self, results: Sequence[SearchResult]) -> int:
        """Add the next page of results (any already shown are skipped); how many new."""
        fresh = []
        keys = set(self._keys)
        for result in results:
            if result.item.post_key not in keys:
                keys.add(result.item.post_key)
                fresh.append(result)
        if fresh:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            self._extend(fresh)
            self.endInsertRows()
        return len(fresh)

    def _extend(self, results: Sequence[SearchResult]) -> None:
        for result in results:
            if result.item.post_key in self._keys:
                continue
            self._keys.add(result.item.post_key)
            self._rows.append(result)
            self._html.append(result_html(result))


class TagsModel(LiveListModel[tuple[str, int]]):
    """Tags used by me and the people I follow, most used first (rows: (tag, count))."""

    def __init__(
        self, bridge: Bridge | None, parent: QObject | None = None, limit: int = 100
    ) -> None:
        super().__init__(
            bridge,
            parent,
            query=lambda desk: desk.search.tags(limit),
            key=lambda row: row[0],
            display=lambda row: f"#{row[0]}  ({row[1]})",
            tooltip=lambda row: f"{row[1]} post{'s' if row[1] != 1 else ''} tagged #{row[0]}",
        )
        self.active = False
        """Refresh on events only while shown (the screen refreshes it when it shows)."""
        self._timer = bridge.timer(self, self.refresh) if bridge is not None else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.EditRole:  # what completing a tag field inserts
            row = self.row_at(index)
            return None if row is None else str(row[0])
        return super().data(index, role)

    def _on_event(self, event: object) -> None:
        relevant = isinstance(event, EntriesStored) or (
            isinstance(event, LocalChanged)
            and event.what in ("published", "following", "muted", "blocked")
        )
        if relevant and self.active and self._timer and not self._timer.isActive():
            self._timer.start(TAGS_DELAY_MS)

    def tags(self) -> list[tuple[str, int]]:
        return [(str(tag), int(count)) for tag, count in self._rows]
