"""The web feeds I follow, as the Following screen lists them: name, when each was last
fetched, its error or why it is paused, and how many of its items are unread.

Every string here comes from a web feed or its server (titles, addresses, error texts)
and is hostile: rows are plain text, cleaned and cut to one line each
(:mod:`lndesk.ui.plain_text`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QFont

from lndesk.app.events import LocalChanged
from lndesk.app.feed_reader import WEB_FEEDS, WebFeedRow
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import relative_time
from lndesk.ui.models.live import Index, LiveListModel
from lndesk.ui.plain_text import one_line
from lndesk.wording import counted

_NAME_CHARS = 80
_DETAIL_CHARS = 160


def web_feed_state(row: WebFeedRow) -> str:
    """The row's second line: paused, failing, or when it was fetched and what is unread."""
    if row.paused:
        return one_line(f"Paused: {row.paused}", _DETAIL_CHARS)
    if row.error:
        return one_line(f"Not fetched: {row.error}", _DETAIL_CHARS)
    if row.last_ok_ms is None:
        return "Not fetched yet"
    unread = f", {counted(row.unread, 'unread item')}" if row.unread else ", all read"
    return f"Fetched {relative_time(row.last_ok_ms)} ago · {counted(row.items, 'item')}{unread}"


def describe_web_feed(row: WebFeedRow) -> str:
    return f"{one_line(row.title, _NAME_CHARS)}\n{web_feed_state(row)}"


class WebFeedsModel(LiveListModel[WebFeedRow]):
    """The web feeds I follow (rows: :class:`WebFeedRow`, sorted by title)."""

    def __init__(self, bridge: Bridge | None, parent: QObject | None = None) -> None:
        super().__init__(
            bridge,
            parent,
            query=lambda desk: desk.feed_reader.rows(),
            key=lambda row: row.sub,
            display=describe_web_feed,
            tooltip=lambda row: f"{describe_web_feed(row)}\n{one_line(row.url, 200)}",
        )

    def _on_event(self, event: object) -> None:
        if isinstance(event, LocalChanged) and event.what == WEB_FEEDS:
            self.refresh()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.FontRole:
            row = self.row_at(index)
            if row is not None and row.unread > 0:
                font = QFont()
                font.setBold(True)
                return font
            return None
        return super().data(index, role)
