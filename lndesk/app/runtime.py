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
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, overload

import trio

from lndesk.app.desk import AnyEvent, Desk, NetworkUnavailable
from lndesk.app.service import PassphraseSource, Service
from lndesk.errors import LndeskError, NodeNotRunningError, sole_error
from lndesk.identity import Identity
from lndesk.p2p.events import NodeStarted
from lndesk.store.space import disk_full_error

logger = logging.getLogger(__name__)

T = TypeVar("T")
LOOPBACK_ONLY: dict[str, Any] = {
    "listen_host": "127.0.0.1",
    "listen_port": 0,
    "mdns": False,
    "dht": False,
    "relay_client": False,
}
"""Network settings for a node that talks over 127.0.0.1 only (tests, demos, benchmarks):
any free port, no LAN announcements, no DHT, no relay slots."""
STOP_TIMEOUT = 10.0
"""Seconds a stopping node may take to close its connections and save its state."""
Listener = Callable[[AnyEvent], None]


class NodeRuntime:
    """One data directory's node, running in its own thread.

    It starts in two steps: the store opens first (a :class:`~lndesk.app.desk.Desk` is then
    available to :meth:`submit`), then the network starts. ``start(wait_network=False)``
    returns after the first step, so a window can show stored posts while libp2p loads;
    a network that cannot start is then reported as :class:`NetworkUnavailable` and the
    store stays usable (publishing works offline).
    """

    def __init__(
        self,
        data_dir: Path,
        passphrase: PassphraseSource = lambda: None,
        *,
        identity: Identity | None = None,
        control: bool = True,
        network: bool = True,
        **overrides: Any,
    ) -> None:
        self.data_dir = data_dir
        self._passphrase = passphrase
        self._identity = identity
        self._control = control
        self._network = network
        self._overrides = overrides
        self._listeners: list[Listener] = []
        self._token: trio.lowlevel.TrioToken | None = None
        self._app: Any = None
        self._desk: Desk | None = None
        self._nursery: trio.Nursery | None = None
        self._stop: trio.Event | None = None
        self._net_stop: trio.Event | None = None
        self._net_done: trio.Event | None = None
        self._stopping = False
        self._defer_network = False
        self._starting: Any = None
        self._network_started = False
        self._wait_network = True
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` on the node thread for every event (add before start)."""
        self._listeners.append(listener)

    def _emit(self, event: AnyEvent) -> None:
        if isinstance(event, NodeStarted) and self._starting is not None:
            # Before anyone hears that the network is up, the desk can use it: a GUI that
            # reacts to this event by asking for addresses must not find it missing.
            self._attach(self._starting)
        if self._desk is not None:
            try:
                self._desk.on_event(event)
            except Exception:
                logger.exception("the desk could not record an event")
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the node
                logger.exception("an event listener failed")

    def start(
        self,
        timeout: float | None = 60.0,
        *,
        wait_network: bool = True,
        defer_network: bool = False,
        waiting: Callable[[float], None] | None = None,
    ) -> None:
        """Open the data directory and start the node; raise what went wrong, if anything.

        With ``wait_network=False`` it returns once the store is open; network errors
        then arrive as :class:`NetworkUnavailable` events instead of being raised. With
        ``defer_network`` as well, the network starts only at :meth:`start_network`: the
        desktop app calls it once its window is drawn, because loading libp2p (a second
        of Python work) on the node thread would otherwise compete with the first paint
        for the interpreter lock.

        ``waiting(seconds_so_far)`` is called about every 50 ms while the store opens (the
        app keeps its event loop turning and, when it takes long, says why: after an
        upgrade the index is rebuilt from the log once, which takes seconds for a big
        store). ``timeout=None`` waits as long as the node thread is alive.
        """
        self._wait_network = wait_network and self._network
        self._defer_network = defer_network and not self._wait_network
        self._thread = threading.Thread(target=self._thread_main, name="lndesk-node", daemon=True)
        self._thread.start()
        started = time.monotonic()
        while not self._ready.wait(0.05 if waiting is not None else timeout):
            elapsed = time.monotonic() - started
            if waiting is None or (timeout is not None and elapsed > timeout):
                raise NodeNotRunningError("the node did not start in time")
            if not self._thread.is_alive():
                break
            waiting(elapsed)
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
            self._desk = None
            self._ready.set()

    async def _main(self) -> None:
        self._stop = trio.Event()
        with Service(self.data_dir, self._passphrase, self._identity) as service:
            service.identity  # noqa: B018 - unlock the key now: errors go to start()
            desk = Desk(service, self._emit)
            self._desk = desk
            try:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    self._token = trio.lowlevel.current_trio_token()
                    nursery.start_soon(desk.feed_reader.run)  # web feeds, polled here
                    if self._wait_network:
                        await nursery.start(self._run_network)
                    elif self._network and not self._defer_network:
                        self._network_started = True
                        nursery.start_soon(self._network_or_report)
                    self._ready.set()
                    await self._stop.wait()
                    self._stopping = True
                    if self._net_stop is not None:
                        self._net_stop.set()
                    if self._net_done is not None:
                        with trio.move_on_after(STOP_TIMEOUT):
                            await self._net_done.wait()
                    # Whatever else runs (a request, a delayed check) has no reason to wait.
                    nursery.cancel_scope.cancel()
            finally:
                self._nursery = None
                desk.close()

    async def _run_network(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        # Imported here: they import libp2p (about a second); the GUI starts before that.
        from lndesk.app.control import ControlServer  # noqa: PLC0415
        from lndesk.app.netlog import route_network_logs  # noqa: PLC0415
        from lndesk.app.node import AppNode, node_config  # noqa: PLC0415

        desk = self._desk
        assert desk is not None
        route_network_logs(desk.service.data_dir)
        self._net_stop = net_stop = trio.Event()
        self._net_done = done = trio.Event()
        if self._stopping:  # stopped while libp2p was still loading
            net_stop.set()
        config = node_config(desk.service.config, **self._overrides)
        self._starting = app = AppNode(desk.service, config, self._emit)
        try:
            async with trio.open_nursery() as nursery:
                stopped = trio.Event()

                async def run_node(*, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
                    try:
                        await app.run(task_status=task_status)
                    finally:
                        stopped.set()

                await nursery.start(run_node)
                if self._control:
                    await nursery.start(ControlServer(app).run)
                # (the desk already has the node: _emit attached it at NodeStarted)
                task_status.started()
                await net_stop.wait()
                app.stop()  # the node says goodbye to its peers and saves what it knows
                with trio.move_on_after(STOP_TIMEOUT):
                    await stopped.wait()
                nursery.cancel_scope.cancel()  # the control socket, and anything left
        finally:
            self._starting = self._app = None
            desk.attach(None)
            done.set()

    def _attach(self, app: Any) -> None:
        self._app = app
        if self._desk is not None:
            self._desk.attach(app, self._nursery)

    async def _network_or_report(self) -> None:
        try:
            await self._run_network()
        except Exception as exc:
            error = sole_error(exc)
            logger.warning("the network could not start: %s", describe(error))
            self._emit(NetworkUnavailable(describe(error)))

    def start_network(self) -> None:
        """Start a deferred network (see :meth:`start`); does nothing if it has started."""
        token = self._token
        if token is None or not self._network or self._network_started:
            return
        self._network_started = True

        def spawn() -> None:
            if self._nursery is not None and not self._stopping:
                self._nursery.start_soon(self._network_or_report)

        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(spawn)

    def restart_network(self) -> None:
        """Stop the network and start it again with the data directory's current settings."""
        token = self._require_token(network=False)
        self._network_started = True  # a deferred network starts now, and only once

        async def restart() -> None:
            if self._net_stop is not None:
                self._net_stop.set()
            if self._net_done is not None:
                await self._net_done.wait()
            await self._network_or_report()

        def spawn() -> None:
            if self._nursery is not None and not self._stopping:
                self._nursery.start_soon(restart)

        token.run_sync_soon(spawn)

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

    @overload
    def submit(
        self,
        function: Callable[[Desk], Awaitable[T]],
        done: Callable[[T], object],
        failed: Callable[[BaseException], object],
    ) -> None: ...

    @overload
    def submit(
        self,
        function: Callable[[Desk], T],
        done: Callable[[T], object],
        failed: Callable[[BaseException], object],
    ) -> None: ...

    def submit(
        self,
        function: Callable[[Desk], object],
        done: Callable[[Any], object],
        failed: Callable[[BaseException], object],
    ) -> None:
        """Run ``function(desk)`` on the node thread without waiting for it.

        ``function`` may return an awaitable, which is awaited there. ``done(result)`` or
        ``failed(error)`` is then called on the node thread (a GUI hands it to its own
        thread with a queued signal). The caller never blocks: this is what a GUI uses.
        The overloads give the result its type: the awaited value of an async function,
        else the function's return value.
        """
        token = self._require_token(network=False)

        async def run() -> None:
            try:
                desk = self._desk
                if desk is None:
                    raise NodeNotRunningError("the data directory is closed")
                result = function(desk)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                error = sole_error(exc)
                # A database or file error from a full disk is told as such.
                failed(disk_full_error(self.data_dir, error) or error)
            else:
                done(result)

        def spawn() -> None:
            if self._nursery is None:
                failed(NodeNotRunningError("the data directory is closed"))
            else:
                self._nursery.start_soon(run)

        try:
            token.run_sync_soon(spawn)
        except trio.RunFinishedError:
            failed(NodeNotRunningError("the data directory is closed"))

    def _require_token(self, *, network: bool = True) -> trio.lowlevel.TrioToken:
        token = self._token
        if token is None or (network and self._app is None):
            raise NodeNotRunningError("the node is not running")
        return token

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
