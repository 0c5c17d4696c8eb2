"""Finding things again: full-text search over everything stored, and the tags in use."""

from __future__ import annotations

from lndesk.app.desk_items import PostItems
from lndesk.app.items import SearchResult, SearchResults
from lndesk.app.service import Service
from lndesk.search_query import SearchQuery
from lndesk.store import views
from lndesk.store.reading import StoreReader

SEARCH_LIMIT = 50


class Search:
    """Search goes through :class:`~lndesk.app.service.Service` (it also serves
    ``lndesk search``); the tag counts are read from the store's read side, a capped
    aggregate over the index with no invariant to keep."""

    def __init__(self, service: Service, reader: StoreReader, items: PostItems) -> None:
        self._service = service
        self._reader = reader
        self._items = items
        self._own = service.public_key

    def posts(
        self,
        text: str,
        *,
        author: bytes | None = None,
        tag: str | None = None,
        type: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = SEARCH_LIMIT,
        offset: int = 0,
    ) -> SearchResults:
        """Full-text search over everything stored, with the matched words' positions."""
        query = SearchQuery(text, author, tag, type, since_ms, until_ms, frozenset())
        hits = self._service.search(query, limit, offset)
        items = self._items.items([hit.entry for hit in hits])
        return SearchResults(
            (
                SearchResult(item, hit.snippet, tuple(hit.spans))
                for item, hit in zip(items, hits, strict=True)
            ),
            hits.pending,
        )

    def tags(self, limit: int = 100) -> list[tuple[str, int]]:
        """Tags used by me and the people I follow, most used first."""
        return views.tag_counts(self._reader, self._own, limit)
