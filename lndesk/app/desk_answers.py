"""Questions and answers in the app: marking an answer to my question as helpful, and
taking the mark back (docs/protocol.md 10.12). Lists show the marks through
:class:`~lndesk.app.desk_items.PostItems` (``answered``, ``helpful``), and a thread puts
the helpful answers first (:meth:`lndesk.app.desk_reading.Reading.thread`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lndesk.app import answers, pseudonym_marks
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
        *,
        data_dir: Path,
        pseudonyms: Callable[[], frozenset[bytes]],
    ) -> None:
        self._reader = reader
        self._publisher = publisher
        self._items = items
        self._own = own
        self._hidden = hidden
        """The feeds no list shows, asked at each call (:meth:`Service.hidden`)."""
        self._data_dir = data_dir
        self._pseudonyms = pseudonyms
        """My pseudonyms' keys as their files say now (:attr:`Service.pseudonyms`)."""

    def sealed_signer(self, answer: PostKey) -> str | None:
        """The name of my pseudonym that asked the question ``answer`` answers when its
        key file is sealed (marking it then needs the passphrase); None otherwise."""
        signer = pseudonym_marks.signer_in(self._data_dir, self._own, self._items.find(answer))
        return signer.pseudonym if signer.sealed else None

    async def mark_helpful(
        self, answer: PostKey, on: bool = True, passphrase: str | None = None
    ) -> int:
        """Mark the reply ``answer`` to my question as helpful (``on``), or take my
        newest mark of it back; the seq of the entry appended. An answer to a question
        one of my pseudonyms asked is marked by that pseudonym, in its log
        (:mod:`lndesk.app.pseudonym_marks`; ``passphrase`` opens its key if sealed)."""
        stored = self._items.find(answer)
        if pseudonym_marks.asking_pseudonym(self._data_dir, self._own, stored) is not None:
            _name, entry, _still = await self._publisher.publish(
                lambda s: pseudonym_marks.mark(s, stored, undo=not on, passphrase=passphrase)
            )
            return entry.seq
        mine = self._pseudonyms() | {self._own}
        answers.check_unlinked(stored, self._own, mine)
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
