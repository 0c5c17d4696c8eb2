"""The one place where Qt meets the node thread.

The node (store, network, trio) runs in its own thread (see :mod:`lndesk.app.runtime`
for why). Widgets and view-models never call it: they ask the :class:`Bridge` to run a
function of the :class:`~lndesk.app.desk.Desk` there, and get the result back later, on
the GUI thread, through a queued signal. Nothing on the GUI thread ever waits for the
node, so a long sync or a slow disk cannot freeze a window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from shiboken6 import isValid

from lndesk.app.connectivity import Connectivity
from lndesk.app.desk import Desk
from lndesk.app.runtime import NodeRuntime, describe

logger = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class Bridge(QObject):
    """Carries requests to the node thread and results and events back."""

    node_event = Signal(object)
    """Every node and desk event (lndesk.app.events), on the GUI thread."""
    error = Signal(str)
    """A readable message for a failed request that had no error handler of its own."""
    _result = Signal(object, object, object)

    def __init__(self, runtime: NodeRuntime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.pending = 0
        self._closed = False
        self._result.connect(self._deliver)
        self.connectivity = Connectivity()
        """Whether the app is online: the one account every widget reads. Connected
        first, so it is up to date when any other widget hears of an event."""
        self.node_event.connect(self._track)
        # Emitted on the node thread; Qt queues it to this object's (the GUI) thread.
        runtime.add_listener(self.node_event.emit)

    def _track(self, event: object) -> None:
        self.connectivity.apply(event)

    def request(
        self,
        function: Callable[[Desk], Any],
        done: Done | None = None,
        failed: Failed | None = None,
    ) -> None:
        """Run ``function(desk)`` on the node thread; then ``done(result)`` or
        ``failed(error)`` here. Errors without a handler are emitted as :attr:`error`."""
        if self._closed:
            return
        self.pending += 1
        callbacks = (done, failed)
        try:
            self.runtime.submit(function, lambda r, e: self._result.emit(callbacks, r, e))
        except Exception as exc:
            self._result.emit(callbacks, None, exc)

    @Slot(object, object, object)
    def _deliver(
        self, callbacks: tuple[Done | None, Failed | None], result: Any, error: Any
    ) -> None:
        self.pending -= 1
        if self._closed:
            return
        done, failed = callbacks
        if not (_alive(done) and _alive(failed)):
            # The widget or model that asked was deleted while the node worked (a page
            # closed, a tag's list replaced): its answer has nobody to go to.
            logger.debug("a result arrived for a deleted object; dropped")
            return
        if error is not None:
            if failed is not None:
                failed(error)
            else:
                logger.info("a request failed: %s", describe(error))
                self.error.emit(describe(error))
        elif done is not None:
            done(result)

    def close(self) -> None:
        """Stop delivering results (the window is going away)."""
        self._closed = True


def _alive(callback: Callable[..., None] | None) -> bool:
    """False if ``callback`` is a method of a Qt object whose C++ side was deleted."""
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, QObject) or isValid(owner)
