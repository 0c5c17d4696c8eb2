"""The inbox's Requests: replies and mentions from people I neither follow nor accepted."""

from __future__ import annotations

from collections.abc import Callable

from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.service import Service
from lndesk.keytext import key_to_text
from lndesk.store import views
from lndesk.store.reading import StoreReader

REQUESTS_CAP = 1000


class Inbox:
    """What waits in Requests, and accepting a person out of it.

    The count is read from the store's read side (``StoreReader``), not through
    :class:`~lndesk.app.service.Service`: a capped count over the index, with no
    invariant to keep; accepting goes through the service.
    """

    def __init__(
        self, service: Service, reader: StoreReader, emit: Callable[[AnyEvent], None]
    ) -> None:
        self._service = service
        self._reader = reader
        self._emit = emit
        self._own = service.public_key

    def requests_count(self) -> int:
        """How many replies and mentions wait in Requests (capped)."""
        query = views.ListQuery(
            views.REQUESTS, self._own, self._service.hidden(), self._service.local.accepted()
        )
        return views.count_newer(self._reader, query, -(2**62), REQUESTS_CAP, self._own)

    def accept(self, key: bytes, on: bool = True) -> None:
        """Show ``key``'s replies and mentions of me with the rest from now on."""
        self._service.accept(key_to_text(key), on)
        self._emit(LocalChanged("accepted"))
