"""Finding things again: full-text search over everything stored (posts and the items of
followed web feeds), and the tags in use."""

from __future__ import annotations

from collections.abc import Sequence

from lndesk.app.answers import QuestionState
from lndesk.app.desk_items import PostItems
from lndesk.app.desk_webitems import WEB_ITEM, web_post_item
from lndesk.app.items import SearchResult, SearchResults
from lndesk.app.service import Service
from lndesk.errors import ContentError
from lndesk.search_query import ANSWERED_QUESTIONS, OPEN_QUESTIONS, SearchQuery
from lndesk.store import views
from lndesk.store.feedstore import FeedStore, StoredItem
from lndesk.store.questions import QuestionFilter, question_page
from lndesk.store.reading import StoreReader
from lndesk.store.search import MAX_LIMIT, SearchHit, match_expression

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
        self.web: FeedStore | None = None
        """The web feeds whose items are found beside posts (set by the desk)."""

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
        with_items = self.web is not None and author is None and type in (None, WEB_ITEM)
        if type == WEB_ITEM:
            return self._web_items(query, limit, offset)
        if not with_items:
            hits = self._service.search(query, limit, offset)
            return self._results(hits, hits.pending)
        return self._merged(query, limit, offset)

    def _results(self, hits: Sequence[SearchHit], pending: int) -> SearchResults:
        items = self._items.items([hit.entry for hit in hits])
        return SearchResults(
            (
                SearchResult(item, hit.snippet, tuple(hit.spans))
                for item, hit in zip(items, hits, strict=True)
            ),
            pending,
        )

    def _found_items(self, query: SearchQuery, limit: int, offset: int) -> list[StoredItem]:
        assert self.web is not None
        tag = query.tag.strip().lstrip("#") if query.tag else None
        try:
            return self.web.search(
                query.text,
                limit,
                offset=offset,
                tag=tag or None,
                since_ms=query.since_ms,
                until_ms=query.until_ms,
            )
        except ContentError:
            return []  # not a tag an item can carry: none has it

    def _web_items(self, query: SearchQuery, limit: int, offset: int) -> SearchResults:
        """Only items of web feeds (the type filter's "Web feed items")."""
        if query.empty():
            return SearchResults()
        found = self._found_items(query, limit, offset)
        return SearchResults(_item_result(i, query.text) for i in found)

    def _merged(self, query: SearchQuery, limit: int, offset: int) -> SearchResults:
        """Posts and items, newest first. The first ``n`` of the merge depend only on the
        first ``n`` of each kind, so a page at ``offset`` merges the first ``offset +
        limit`` of each (read in chunks the store allows) and keeps its own part."""
        need = offset + limit
        hits: list[SearchHit] = []
        pending = 0
        while len(hits) < need:
            want = min(MAX_LIMIT, need - len(hits))
            chunk = self._service.search(query, want, len(hits))
            pending = chunk.pending
            hits.extend(chunk)
            if len(chunk) < want:
                break
        found = self._found_items(query, need, 0)
        order: list[SearchHit | StoredItem] = []
        at_hit = at_item = 0
        while len(order) < need and (at_hit < len(hits) or at_item < len(found)):
            if at_item >= len(found) or (
                at_hit < len(hits)
                and hits[at_hit].entry.cursor > (found[at_item].published_ms, -1, 0)
            ):
                order.append(hits[at_hit])
                at_hit += 1
            else:
                order.append(found[at_item])
                at_item += 1
        page = order[offset:need]
        posts = self._results([h for h in page if isinstance(h, SearchHit)], pending)
        by_hit = iter(posts)
        return SearchResults(
            (
                next(by_hit) if isinstance(one, SearchHit) else _item_result(one, query.text)
                for one in page
            ),
            pending,
        )

    def _questions(self, query: SearchQuery, limit: int, offset: int) -> SearchResults:
        """Open or answered questions, newest first. With words, a full-text search of
        the questions (the index's question rows joined to the words' matches: a page
        costs what a page of any search does); without, a page of the index's questions,
        with the author, tag and time filters in the query."""
        state: QuestionState = "open" if query.type == OPEN_QUESTIONS else "answered"
        if match_expression(query.text) is not None:
            words = SearchQuery(
                query.text, query.author, query.tag, None, query.since_ms, query.until_ms
            )
            hits = self._service.search(words, limit, offset, asked=state)
            return self._results(hits, hits.pending)
        tag = query.tag.strip().lstrip("#") if query.tag else None
        which = QuestionFilter(
            state,
            self._service.hidden(),
            query.author,
            views.index_tag(tag) if tag else None,
            query.since_ms,
            query.until_ms,
        )
        page = question_page(self._reader, which, views.NEWEST, offset + limit)[offset:]
        return SearchResults(
            SearchResult(item, item.text[:SNIPPET_CHARS], ()) for item in self._items.items(page)
        )

    def tags(self, limit: int = 100) -> list[tuple[str, int]]:
        """Tags used by me and the people I follow, most used first."""
        return views.tag_counts(self._reader, self._own, limit)


def _item_result(item: StoredItem, text: str) -> SearchResult:
    """An item found by search: its title and text as the snippet, the words marked."""
    shown = web_post_item(item)
    snippet = " — ".join(p for p in (item.title, item.text) if p)[:SNIPPET_CHARS]
    folded = snippet.casefold()
    spans = []
    for word in text.replace('"', " ").replace("*", " ").split():
        at = folded.find(word.casefold())
        if at >= 0:
            spans.append((at, at + len(word)))
    return SearchResult(shown, snippet, tuple(sorted(spans)))
