"""The people I follow, as the Following screen lists them."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from lndesk.app.events import EntriesStored, FeedForked, FeedSynced, LocalChanged
from lndesk.app.items import AuthorItem
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import relative_time
from lndesk.ui.models.live import ItemRole, LiveListModel

__all__ = ["FollowingModel", "ItemRole", "describe_author"]


def describe_author(author: AuthorItem) -> str:
    """One line per author: what a reader checks when deciding whom to read."""
    last = (
        "no posts yet"
        if author.last_post_ms is None
        else f"last post {relative_time(author.last_post_ms)}"
    )
    synced = (
        "never synced"
        if author.last_synced_ms is None
        else f"synced {relative_time(author.last_synced_ms)} ago"
    )
    if synced.endswith("now ago"):
        synced = "synced just now"
    held = f"{author.height:,} entries held"
    if author.max_seq > author.height:
        held = f"{author.height:,} of {author.max_seq:,}+ entries held"
    parts = [last, held, synced, f"followed via {author.source}"]
    if author.muted:
        parts.append("muted")
    if author.forked_at is not None:
        parts.append(f"feed forked at entry {author.forked_at} (frozen)")
    return " · ".join(parts)


class FollowingModel(LiveListModel):
    """The people I follow (rows: :class:`AuthorItem`, sorted by name)."""

    def __init__(self, bridge: Bridge | None, parent: QObject | None = None) -> None:
        super().__init__(
            bridge,
            parent,
            query=lambda desk: desk.following(),
            key=lambda item: item.key,
            display=lambda item: f"{item.name}\n{describe_author(item)}",
            tooltip=lambda item: item.key_text,
        )
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.refresh)

    def _on_event(self, event: object) -> None:
        relevant = isinstance(event, EntriesStored | FeedSynced | FeedForked) or (
            isinstance(event, LocalChanged)
            and event.what in ("following", "muted", "profile", "published")
        )
        # bursts during a sync: one refresh per half second is plenty
        if relevant and not self._timer.isActive():
            self._timer.start()

    def item(self, row: int) -> AuthorItem:
        item: AuthorItem = self._rows[row]
        return item

    def items(self) -> list[AuthorItem]:
        return list(self._rows)
