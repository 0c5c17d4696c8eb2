"""The store's lists: the timeline and one feed's entries, newest first, with
future-dated entries held back (the queries are :mod:`lndesk.store.views`'s).

:class:`lndesk.store.store.Store` builds on this; a store opened read-only offers it too.
"""

from __future__ import annotations

from lndesk.store.reading import StoredEntry, StoreReader
from lndesk.store.shown import visible_until
from lndesk.store.views import NEWEST, TIMELINE, ListQuery, page


class StoreLists(StoreReader):
    """What every open store can list."""

    def timeline(
        self,
        own: bytes,
        limit: int = 50,
        before_ms: int | None = None,
        older_than: StoredEntry | None = None,
    ) -> list[StoredEntry]:
        """Newest first: my entries and those of feeds I follow; future-dated ones held back.

        Page with ``older_than`` (the last entry of the previous page); ``before_ms`` jumps
        to a point in time.
        """
        # One definition of the timeline, shared with the app's lists.
        cursor = NEWEST
        if before_ms is not None:
            cursor = (before_ms, -1, -1)
        if older_than is not None:
            cursor = min(cursor, older_than.cursor)
        return page(self, ListQuery(TIMELINE, own), cursor, limit)

    def feed_entries(
        self, key: bytes, limit: int = 50, before_seq: int | None = None
    ) -> list[StoredEntry]:
        """One feed's entries, newest first; future-dated ones held back as in the timeline."""
        before = before_seq if before_seq is not None else 2**63 - 1
        rows = self.index.feed_entries(key, limit, before, visible_until())
        return self.load_listed(rows)
