"""Questions and answers in the app: marking an answer to my question as helpful, and
taking the mark back (docs/protocol.md 10.12). Lists show the marks through
:class:`~lndesk.app.desk_items.PostItems` (``answered``, ``helpful``), and a thread puts
the helpful answers first (:meth:`lndesk.app.desk_reading.Reading.thread`)."""

from __future__ import annotations

from collections.abc import Callable

from lndesk.app import answers
from lndesk.app.answers import QuestionState
from lndesk.app.desk_items import PostItems
from lndesk.app.desk_publish import Publisher
from lndesk.app.items import PostItem
from lndesk.entry_refs import PostKey
from lndesk.store.reading import StoreReader


class Answers:
    """Marks answers to my questions (each action appends one entry to my log).

    It reads the index through the store's read side for the marks already there: a
    bounded lookup of one answer's marks, with nothing for the service to keep."""

    def __init__(
        self,
        reader: StoreReader,
        publisher: Publisher,
        items: PostItems,
        own: bytes,
        hidden: Callable[[], frozenset[bytes]],
    ) -> None:
        self._reader = reader
        self._publisher = publisher
        self._items = items
        self._own = own
        self._hidden = hidden
        """The feeds no list shows, asked at each call (:meth:`Service.hidden`)."""

    async def mark_helpful(self, answer: PostKey, on: bool = True) -> int:
        """Mark the reply ``answer`` to my question as helpful (``on``), or take my
        newest mark of it back; the seq of the entry appended."""
        stored = self._items.find(answer)
        if on:
            mark = answers.answer_to_mark(stored, self._own)
            entry = await self._publisher.publish(lambda s: s.publish(mark))
        else:
            tombstone = answers.unmarks(self._reader, stored, self._own)[-1]
            entry = await self._publisher.publish(lambda s: s.publish(tombstone))
        return entry.seq

    def questions(self, state: QuestionState = "all", limit: int = 50) -> list[PostItem]:
        """The newest stored questions, only open or answered ones if ``state`` says so;
        those of muted and blocked people are left out, as in every other list."""
        found = answers.questions(self._reader, state, limit, hidden=self._hidden())
        return self._items.items([question.stored for question in found])
