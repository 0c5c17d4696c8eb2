"""Running a node on trio in one worker thread, for callers on other threads (the GUI).

Why a worker thread and not trio's guest mode on Qt's loop: the store's batch ingest is
CPU work (tens of milliseconds per 2,000 entries). In guest mode it would run on the GUI
thread and stall painting; in a worker thread the GUI stays responsive whatever the
node does. The cost is that every call crosses threads, which this module makes safe:

* :meth:`NodeRuntime.call` runs a function on the trio thread and returns its result
  (or raises its exception) in the caller's thread;
* listeners get every :mod:`lndesk.p2p.events` event on the trio thread; they must be
  quick and thread-safe (a Qt bridge emits a queued signal; a CLI puts it in a queue).

The store, the index's SQLite connection and the identity are opened *on* the trio
thread and only ever used there.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import trio

from lndesk.app.service import PassphraseSource, Service
from lndesk.errors import LndeskError, NodeNotRunningError, sole_error
from lndesk.identity import Identity
from lndesk.p2p.events import Event

logger = logging.getLogger(__name__)

T = TypeVar("T")
Listener = Callable[[Event], None]


class NodeRuntime:
    """One data directory's node, running in its own thread."""

    def __init__(
        self,
        data_dir: Path,
        passphrase: PassphraseSource = lambda: None,
        *,
        identity: Identity | None = None,
        control: bool = True,
        **overrides: Any,
    ) -> None:
        self.data_dir = data_dir
        self._passphrase = passphrase
        self._identity = identity
        self._control = control
        self._overrides = overrides
        self._listeners: list[Listener] = []
        self._token: trio.lowlevel.TrioToken | None = None
        self._app: Any = None
        self._stop: trio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` on the node thread for every event (add before start)."""
        self._listeners.append(listener)

    def _emit(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the node
                logger.exception("an event listener failed")

    def start(self, timeout: float = 60.0) -> None:
        """Open the data directory and start the node; raise what went wrong, if anything."""
        self._thread = threading.Thread(target=self._thread_main, name="lndesk-node", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise NodeNotRunningError("the node did not start in time")
        if self._error is not None:
            error, self._error = self._error, None
            self._thread.join(timeout)
            raise error

    def _thread_main(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to start() or logged; the thread must end
            if not self._ready.is_set():
                self._error = sole_error(exc)
            else:
                logger.exception("the node stopped with an error")
        finally:
            self._token = None
            self._ready.set()

    async def _main(self) -> None:
        # Imported here: they import libp2p (about a second); the GUI starts before that.
        from lndesk.app.control import ControlServer  # noqa: PLC0415
        from lndesk.app.node import AppNode, node_config  # noqa: PLC0415

        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        with Service(self.data_dir, self._passphrase, self._identity) as service:
            config = node_config(service.config, **self._overrides)
            app = AppNode(service, config, self._emit)
            async with trio.open_nursery() as nursery:
                await nursery.start(app.run)
                if self._control:
                    await nursery.start(ControlServer(app).run)
                self._app = app
                self._ready.set()
                await self._stop.wait()
                app.stop()
                nursery.cancel_scope.deadline = trio.current_time() + 10
        self._app = None

    @property
    def running(self) -> bool:
        return self._token is not None and self._app is not None

    def call(self, function: Callable[[Any], T]) -> T:
        """Run ``function(app_node)`` on the node thread and return its result here."""
        token = self._require_token()
        return trio.from_thread.run_sync(lambda: function(self._app), trio_token=token)

    def call_async(self, function: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``await function(app_node)`` on the node thread and return its result here."""
        token = self._require_token()

        async def run() -> T:
            return await function(self._app)

        return trio.from_thread.run(run, trio_token=token)

    def _require_token(self) -> trio.lowlevel.TrioToken:
        if self._token is None or self._app is None:
            raise NodeNotRunningError("the node is not running")
        return self._token

    def stop(self, timeout: float = 15.0) -> None:
        token, stop = self._token, self._stop
        if token is not None and stop is not None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the node thread did not stop within %.0f s", timeout)

    def __enter__(self) -> NodeRuntime:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def describe(exc: BaseException) -> str:
    return exc.describe() if isinstance(exc, LndeskError) else f"{type(exc).__name__}: {exc}"
