"""Finding things again: full-text search over everything stored, and the tags in use."""

from __future__ import annotations

from lndesk.app import answers
from lndesk.app.answers import QUESTION_SCAN, QuestionState
from lndesk.app.desk_items import PostItems
from lndesk.app.items import SearchResult, SearchResults
from lndesk.app.service import Service
from lndesk.search_query import ANSWERED_QUESTIONS, OPEN_QUESTIONS, SearchQuery
from lndesk.store import views
from lndesk.store.reading import StoreReader

SEARCH_LIMIT = 50
SNIPPET_CHARS = 200


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
        """Full-text search over everything stored, with the matched words' positions.
        ``type`` OPEN_QUESTIONS or ANSWERED_QUESTIONS lists those questions instead,
        newest first, narrowed by the words (each in the text) and the other filters."""
        if type in (OPEN_QUESTIONS, ANSWERED_QUESTIONS):
            query = SearchQuery(text, author, tag, type, since_ms, until_ms)
            return self._questions(query, limit, offset)
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

    def _questions(self, query: SearchQuery, limit: int, offset: int) -> SearchResults:
        state: QuestionState = "open" if query.type == OPEN_QUESTIONS else "answered"
        words = [word.casefold() for word in query.text.split()]
        tag = query.tag.strip().lstrip("#").casefold() if query.tag else None
        found = answers.questions(self._reader, state, QUESTION_SCAN, hidden=self._service.hidden())
        items = self._items.items([question.stored for question in found])
        results = []
        for item in items:
            folded = item.text.casefold()
            if (
                (query.author is not None and item.author != query.author)
                or (tag is not None and tag not in item.tags)
                or (query.since_ms is not None and item.claimed_ms < query.since_ms)
                or (query.until_ms is not None and item.claimed_ms > query.until_ms)
                or any(word not in folded for word in words)
            ):
                continue
            snippet = item.text[:SNIPPET_CHARS]
            spans = []
            for word in words:
                at = snippet.casefold().find(word)
                if at >= 0:
                    spans.append((at, at + len(word)))
            results.append(SearchResult(item, snippet, tuple(sorted(spans))))
        return SearchResults(results[offset : offset + limit])

    def tags(self, limit: int = 100) -> list[tuple[str, int]]:
        """Tags used by me and the people I follow, most used first."""
        return views.tag_counts(self._reader, self._own, limit)
