"""One search, as a person asks it: words and filters.

A plain value, so every layer can hold one: the desktop UI builds it from its filter
fields, the CLI from its options, and the store (:mod:`lndesk.store.search`) checks and
runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN_QUESTIONS, ANSWERED_QUESTIONS = "question-open", "question-answered"
"""Two types beside the entry types, for the app's Search: questions with no helpful
answer, and questions whose asker marked one (docs/protocol.md 10.12)."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to look for: words (may be empty when a filter is given) and filters.

        ``author`` a public key, ``tag`` a tag (any form: compared in normal form), ``type``
        an entry type that lists show (post, reply, share, readinglist) or one of the question
    states above, ``since_ms`` /
        ``until_ms`` claimed times (inclusive), ``hidden`` feeds to leave out (the muted and
        blocked).
    """

    text: str
    author: bytes | None = None
    tag: str | None = None
    type: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    hidden: frozenset[bytes] = frozenset()

    def empty(self) -> bool:
        """No words and no filter: nothing to search for (``hidden`` narrows, it is no
        filter of its own). A front end shows no results instead of asking."""
        return not self.text and self == SearchQuery("", hidden=self.hidden)
