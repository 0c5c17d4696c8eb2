"""The one place where Qt meets the node thread.

The node (store, network, trio) runs in its own thread (see :mod:`lndesk.app.runtime`
for why). Widgets and view-models never call it: they ask the :class:`Bridge` to run a
function of the :class:`~lndesk.app.desk.Desk` there, and get the result back later, on
the GUI thread, through a queued signal. Nothing on the GUI thread ever waits for the
node, so a long sync or a slow disk cannot freeze a window.

A question (``desk.reading.page(...)``) goes through :meth:`Bridge.request`, an action
that publishes or dials (``desk.posting.post(...)``) through :meth:`Bridge.request_async`;
either way the callback is typed with the answer's type, which mypy checks at every call.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from PySide6.QtCore import QObject, Signal, Slot
from shiboken6 import isValid

from lndesk.app.connectivity import Connectivity
from lndesk.app.desk import Desk
from lndesk.app.runtime import NodeRuntime, describe
from lndesk.entry_refs import PostKey
from lndesk.ui.timers import TimerFactory, qt_timer

logger = logging.getLogger(__name__)

T = TypeVar("T")
Failed = Callable[[BaseException], object]


@dataclass(frozen=True, slots=True)
class _Answer(Generic[T]):
    """One request's outcome on its way to the GUI thread, with the callbacks that take it.

    The queued signal carries it as a plain object; its type parameter is fixed where the
    request was made, so ``done`` gets exactly the type the desk function returned.
    """

    done: Callable[[T], object] | None
    failed: Failed | None
    result: tuple[T] | None = None
    """The result, boxed (a result may itself be None); None if the request failed."""
    error: BaseException | None = None

    def alive(self) -> bool:
        return _alive(self.done) and _alive(self.failed)


class Bridge(QObject):
    """Carries requests to the node thread and results and events back."""

    node_event = Signal(object)
    """Every node and desk event (lndesk.app.events), on the GUI thread."""
    error = Signal(str)
    threads_counted = Signal()
    """Peers answered a thread fetch: :attr:`replies_reported` changed."""
    """A readable message for a failed request that had no error handler of its own."""
    _result = Signal(object)

    def __init__(
        self,
        runtime: NodeRuntime,
        parent: QObject | None = None,
        *,
        timer: TimerFactory = qt_timer,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.timer = timer
        """Makes the timers of the view-models fed from here (a burst of events costs one
        refresh after a short delay): tests pass a ManualTime's, and move time themselves."""
        self.pending = 0
        self._closed = False
        self._result.connect(self._deliver)
        self.connectivity = Connectivity()
        """Whether the app is online: the one account every widget reads. Connected
        first, so it is up to date when any other widget hears of an event."""
        self.node_event.connect(self._track)
        self.replies_reported: dict[PostKey, int] = {}
        """Per thread's first post: the most replies a peer reported under it (a thread
        view fills it from its fetch; every list's question cards read it, so they say
        how many answers are not fetched yet)."""
        # Emitted on the node thread; Qt queues it to this object's (the GUI) thread.
        runtime.add_listener(self.node_event.emit)

    def _track(self, event: object) -> None:
        self.connectivity.apply(event)

    def request(
        self,
        function: Callable[[Desk], T],
        done: Callable[[T], object] | None = None,
        failed: Failed | None = None,
    ) -> None:
        """Run ``function(desk)`` on the node thread; then ``done(result)`` or
        ``failed(error)`` here. Errors without a handler are emitted as :attr:`error`.

        ``done`` takes what ``function`` returns, so mypy checks each callback against
        the question asked. A function that returns a coroutine (an action that
        publishes or dials) goes through :meth:`request_async`, which awaits it; here it
        fails, so that no result ever arrives typed as a coroutine it is not."""

        def answer(desk: Desk) -> T:
            result = function(desk)
            if inspect.iscoroutine(result):
                result.close()
                raise TypeError("an async desk function was given to request, not request_async")
            return result

        self._submit(answer, done, failed)

    def request_async(
        self,
        function: Callable[[Desk], Awaitable[T]],
        done: Callable[[T], object] | None = None,
        failed: Failed | None = None,
    ) -> None:
        """Like :meth:`request` for an async ``function``: it is awaited on the node
        thread and ``done`` gets the awaited result."""
        self._submit(function, done, failed)

    def _submit(
        self,
        function: Callable[[Desk], T] | Callable[[Desk], Awaitable[T]],
        done: Callable[[T], object] | None,
        failed: Failed | None,
    ) -> None:
        if self._closed:
            return
        self.pending += 1

        def succeeded(result: T) -> None:
            self._result.emit(_Answer(done, failed, (result,)))

        def went_wrong(error: BaseException) -> None:
            self._result.emit(_Answer(done, failed, None, error))

        try:
            self.runtime.submit(function, succeeded, went_wrong)
        except Exception as exc:
            went_wrong(exc)

    @Slot(object)
    def _deliver(self, answer: _Answer[object]) -> None:
        self.pending -= 1
        if self._closed:
            return
        if not answer.alive():
            # The widget or model that asked was deleted while the node worked (a page
            # closed, a tag's list replaced): its answer has nobody to go to.
            logger.debug("a result arrived for a deleted object; dropped")
            return
        if answer.result is None:
            error = answer.error
            assert error is not None
            if answer.failed is not None:
                answer.failed(error)
            else:
                logger.info("a request failed: %s", describe(error))
                self.error.emit(describe(error))
        elif answer.done is not None:
            answer.done(answer.result[0])

    def close(self) -> None:
        """Stop delivering results (the window is going away)."""
        self._closed = True


def _alive(callback: Callable[..., object] | None) -> bool:
    """False if ``callback`` is a method of a Qt object whose C++ side was deleted."""
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or isValid(owner)
