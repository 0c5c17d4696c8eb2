"""GUI stalls while syncing: the desktop app's main thread must keep turning its event loop.

The reader is the real desktop app, in this process: a ``QApplication`` (offscreen
unless ``QT_QPA_PLATFORM`` says otherwise), a ``NodeRuntime`` on its node thread
(127.0.0.1, any port, no mDNS, DHT or relay), the ``Bridge`` and a shown ``MainWindow``
(1100 x 760), so the timeline's view-model refreshes itself live as entries arrive and
the view lays out and paints them. Its data dir follows the feeds. The server is a
``bench/_net.py`` node in a child process holding ``--entries`` posts (~500-byte
payloads) in ``--feeds`` feeds, signed as in sync_throughput.py (the same chains, so a
``--cache`` directory is shared with it).

Probe: a precise ``QTimer`` on the GUI thread, every 5 ms, records ``perf_counter()``;
a tick's stall is its gap to the previous tick minus 5 ms. A simulated reader scrolls
the timeline meanwhile: every 50 ms its vertical scroll bar moves down 150 px, back to
the top once at the bottom, so posts are laid out and painted under load.

Phases of one run (a fresh reader each run):

1. idle: the window shown, nothing to sync, for ``--idle`` seconds (the timeline is
   still empty, so the scrolling does nothing yet);
2. sync: from ``desk.network.connect(server)`` (asked through the bridge, as the app does)
   until the reader has stored every entry (the sum of ``EntriesStored.count`` seen on
   the GUI thread; the feeds' heights are read from the store afterwards to confirm);
3. catch-up: from there until the timeline model has applied its refresh for the last
   entries (no refresh scheduled or in flight), plus 0.5 s for the view's delayed
   layout and paint. The probe runs through 2 and 3; the target is judged on both
   together, as the stalls of 3 are the sync's arrivals being shown;
4. after: the timeline filled, scrolling only, for ``--idle`` seconds.

A watchdog thread gives up when one stall has lasted ``--give-up`` seconds (default
120, 20 with ``--quick``), or sync + catch-up has run 30 s past ``--timeout`` without
the event loop's own timeout firing: a stall cannot be interrupted from outside the GUI
thread, so it prints the figures so far (counting the open stall as ending then), the
entries the reader's store holds by then (asked on the node thread), the timeline's
rows and where the GUI thread was, stops the server and exits. The worst stall is then
reported as at least that long.

Reported: stall figures per phase (worst, p99, p99.9, ticks late by more than 50 and
100 ms), entries/s of the sync, timeline rows, refreshes applied and rows inserted.
``--why`` adds a sampler thread that records the GUI thread's Python stack whenever a
tick is 20 ms overdue, counts ``QTextDocument`` layouts made by the post delegate and
times the model's refresh and the view's and delegate's calls, and prints where the
stalls were spent. ``--switch-interval S`` sets ``sys.setswitchinterval`` (how long a
thread may hold the GIL while another waits; Python's default 0.005 s).

    python bench/gui_stall.py            # 100,000 entries in 10 feeds, target < 100 ms
    python bench/gui_stall.py --why      # and where the stalls were spent
    python bench/gui_stall.py --quick    # 10,000 entries
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import add_store_options, load_or_generate, print_setup, rate
from _gui import (
    CACHE_NAME,
    chain_specs,
    offscreen,
    quiet_qt,
)
from _net import ChildError, NodeProcess, ingest_chains, make_reader

offscreen()

from _stall_report import (  # noqa: E402
    PROBE_MS,
    CallTimer,
    StallSampler,
    instrument,
    python_stack,
    report,
)
from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from lndesk.app.events import EntriesStored  # noqa: E402
from lndesk.app.runtime import LOOPBACK_ONLY, NodeRuntime  # noqa: E402
from lndesk.ui.bridge import Bridge  # noqa: E402
from lndesk.ui.main_window import MainWindow  # noqa: E402
from lndesk.ui.models.posts import PostListModel  # noqa: E402

SCROLL_MS = 50
SCROLL_PX = 150
GRACE_MS = 500
"""The probe runs this long after the model is current: the view's layout and paint."""


# --- the probe and the simulated reader -------------------------------------------


class Probe(QObject):
    """A timer on the GUI thread that records when it actually fired."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks: list[float] = []
        self.running = False
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.running = True
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        self.running = False
        return list(self.ticks)


class Scroller(QObject):
    """A reader scrolling down the timeline, back to the top at the end."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.bar = window.timeline.view.verticalScrollBar()
        self.steps = 0
        self.timer = QTimer(self)
        self.timer.setInterval(SCROLL_MS)
        self.timer.timeout.connect(self._step)

    def _step(self) -> None:
        bar = self.bar
        if bar.maximum() <= 0:
            return
        self.steps += 1
        bar.setValue(0 if bar.value() >= bar.maximum() else bar.value() + SCROLL_PX)


class Waiter:
    """Run the event loop until :meth:`done` is called or a timeout passes."""

    def __init__(self) -> None:
        self.loop = QEventLoop()
        self.finished = False

    def done(self) -> None:
        self.finished = True
        self.loop.quit()

    def run(self, timeout: float) -> bool:
        """True if :meth:`done` was called in time."""
        if self.finished:
            return True
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(self.loop.quit)
        timer.start(int(timeout * 1000))
        self.loop.exec()
        timer.stop()
        return self.finished


def spin(seconds: float) -> None:
    Waiter().run(seconds)


def ask(bridge: Bridge, function: Callable[[Any], Any], timeout: float = 60) -> Any:
    """``function(desk)`` on the node thread; the event loop runs meanwhile."""
    box: dict[str, Any] = {}
    waiter = Waiter()

    def keep(key: str, value: Any) -> None:
        box[key] = value
        waiter.done()

    async def run(desk: Any) -> Any:
        result = function(desk)
        return await result if inspect.isawaitable(result) else result

    bridge.request_async(run, lambda r: keep("ok", r), lambda e: keep("error", e))
    if not waiter.run(timeout):
        raise ChildError("the reader's node did not answer in time")
    if "error" in box:
        raise box["error"]
    return box["ok"]


def settled(model: PostListModel) -> bool:
    """No refresh scheduled or in flight (the model's own flags; read, never written)."""
    return not model._timer.isActive() and not model._refreshing and not model._again


# --- giving up on a stall that does not end ----------------------------------------


class Watchdog(threading.Thread):
    """Ends the benchmark, with what it has, if the GUI thread is stuck for too long."""

    def __init__(
        self, give_up: float, gui_thread: int, on_give_up: Callable[[str, str], None]
    ) -> None:
        super().__init__(daemon=True, name="watchdog")
        self.give_up = give_up
        self.gui = gui_thread
        self.on_give_up = on_give_up
        self.probe: Probe | None = None
        self.deadline = float("inf")
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            probe = self.probe
            now = time.perf_counter()
            reason = ""
            ticks = probe.ticks if probe is not None and probe.running else []
            if ticks and now - ticks[-1] > self.give_up:
                reason = f"one stall reached {self.give_up:.0f} s"
            if now > self.deadline:
                reason = "the phase ran past --timeout"
            if reason:
                stack = " > ".join(python_stack(self.gui)[-12:])
                self.on_give_up(reason, stack)
                return


# --- one run ------------------------------------------------------------------------


class Run:
    """One reader: its window, its phases and what they measured."""

    def __init__(
        self,
        app: QApplication,
        reader_dir: Path,
        feeds: list[bytes],
        total: int,
        args: argparse.Namespace,
        watchdog: Watchdog,
    ) -> None:
        self.app = app
        self.reader_dir = reader_dir
        self.feeds = feeds
        self.total = total
        self.args = args
        self.watchdog = watchdog
        self.probe: Probe | None = None
        self.phase = "setup"
        self.ticks: dict[str, list[float]] = {}
        self.state: dict[str, Any] = {
            "stored": 0,
            "events": 0,
            "refreshes": 0,
            "inserted": 0,
            "rows": {},
            "held": None,
            "seconds": None,
            "catchup_seconds": None,
            "scroll_steps": 0,
        }
        self.sampler: StallSampler | None = None
        self.calls: CallTimer | None = None
        self.gave_up: tuple[str, str] | None = None
        self.runtime: NodeRuntime | None = None
        self.model: PostListModel | None = None

    def partial(self, reason: str, stack: str) -> None:
        """Called by the watchdog: close the open phase as of now."""
        self.gave_up = (reason, stack)
        runtime = self.runtime
        if runtime is not None and runtime.running:
            feeds = self.feeds
            with contextlib.suppress(Exception):
                self.state["held"] = runtime.call(
                    lambda app: sum(app.service.store.feed_state(f).height for f in feeds)
                )
                self.state["held_when"] = "read on the node thread at give-up"
        if self.model is not None:
            self.state["rows"]["at give-up"] = len(self.model.items())
        if self.probe is not None and self.probe.running:
            ticks = [*self.probe.ticks, time.perf_counter()]
            self._split(self.phase, ticks)

    def _split(self, phase: str, ticks: list[float]) -> None:
        if phase not in ("sync", "catchup"):
            self.ticks[phase] = ticks
            return
        boundary = self.state.get("boundary")
        if boundary is None:
            self.ticks["sync"] = ticks
        else:
            self.ticks["sync"] = ticks[:boundary]
            self.ticks["catchup"] = ticks[boundary - 1 :]
        self.ticks["while"] = ticks

    def execute(self, server_address: str) -> None:
        args = self.args
        make_reader(self.reader_dir, self.feeds)
        runtime = NodeRuntime(self.reader_dir, control=False, **LOOPBACK_ONLY)
        runtime.start(wait_network=True)
        self.runtime = runtime
        bridge = Bridge(runtime)
        window = None
        try:
            window = MainWindow(bridge, self.reader_dir)
            window.resize(1100, 760)
            window.show()
            self.model = model = window.timeline.model
            first = Waiter()
            model.loaded.connect(first.done)
            if not first.run(30):
                raise ChildError("the timeline's first page did not load")
            model.loaded.disconnect(first.done)
            spin(0.5)  # the window settles: first paint, unread count, notifier baseline

            self.probe = probe = Probe()
            self.watchdog.probe = probe
            scroller = Scroller(window)
            if args.why:
                self.sampler = StallSampler(probe, threading.get_ident())
                self.sampler.start()
                self.calls = instrument()

            # 1. idle
            self.phase = "idle"
            scroller.timer.start()
            self.timed_phase(probe, args.idle)

            # 2. sync and 3. catch-up
            self.sync(bridge, model, probe, scroller, server_address)
            self.state["held"] = ask(
                bridge,
                lambda desk: sum(desk.service.store.feed_state(f).height for f in self.feeds),
            )

            # 4. after
            self.phase = "after"
            self.timed_phase(probe, args.idle)
            scroller.timer.stop()
            self.state["rows"]["after"] = model.rowCount()
        finally:
            self.watchdog.probe = None
            self.watchdog.deadline = float("inf")
            self.model = None
            if self.sampler is not None:
                self.sampler.running = False
            if self.calls is not None:
                self.calls.restore()
            if window is not None:
                window.quit()
                window.deleteLater()
            bridge.close()
            self.runtime = None
            runtime.stop()
            self.app.processEvents()

    def timed_phase(self, probe: Probe, seconds: float) -> None:
        probe.start()
        spin(seconds)
        self.ticks[self.phase] = probe.stop()

    def sync(
        self,
        bridge: Bridge,
        model: PostListModel,
        probe: Probe,
        scroller: Scroller,
        server_address: str,
    ) -> None:
        state = self.state
        wanted = set(self.feeds)
        caught_up = Waiter()

        def check_settled() -> None:
            if "stored_at" in state and "settled_at" not in state and settled(model):
                state["settled_at"] = time.perf_counter()
                state["rows"]["caught up"] = model.rowCount()
                # The view lays the new rows out and paints them in later events.
                QTimer.singleShot(GRACE_MS, caught_up.done)

        def on_event(event: object) -> None:
            if isinstance(event, EntriesStored) and event.feed in wanted:
                state["stored"] += event.count
                state["events"] += 1
                if state["stored"] >= self.total and "stored_at" not in state:
                    state["stored_at"] = time.perf_counter()
                    state["boundary"] = len(probe.ticks)
                    state["rows"]["all stored"] = model.rowCount()
                    self.phase = "catchup"
                    QTimer.singleShot(0, check_settled)

        def on_loaded() -> None:
            state["refreshes"] += 1
            QTimer.singleShot(0, check_settled)

        def on_inserted(_parent: object, first_row: int, last_row: int) -> None:
            state["inserted"] += last_row - first_row + 1

        bridge.node_event.connect(on_event)
        model.loaded.connect(on_loaded)
        model.rowsInserted.connect(on_inserted)
        steps = scroller.steps
        if self.calls is not None and self.sampler is not None:
            self.calls.on = self.sampler.active = True
        self.phase = "sync"
        # Past the event loop's own timeout: the watchdog only acts if that cannot fire.
        self.watchdog.deadline = time.perf_counter() + self.args.timeout + 30
        probe.start()
        began = time.perf_counter()
        bridge.request_async(
            lambda desk: desk.network.connect(server_address),
            None,
            lambda error: state.setdefault("error", error),
        )
        finished = caught_up.run(self.args.timeout)
        ticks = probe.stop()
        self.watchdog.deadline = float("inf")
        if self.calls is not None and self.sampler is not None:
            self.calls.on = self.sampler.active = False
        bridge.node_event.disconnect(on_event)
        model.loaded.disconnect(on_loaded)
        model.rowsInserted.disconnect(on_inserted)
        state["scroll_steps"] = scroller.steps - steps
        self._split("sync", ticks)
        if "stored_at" in state:
            state["seconds"] = state["stored_at"] - began
        if not finished:
            raise ChildError(
                f"the reader stored {state['stored']:,} of {self.total:,} entries in "
                f"{self.args.timeout:.0f} s" + (f" ({state['error']})" if "error" in state else "")
            )
        state["catchup_seconds"] = state["settled_at"] - state["stored_at"]


# --- report -------------------------------------------------------------------------


# --- main ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="entries (default 100000)")
    parser.add_argument("--feeds", type=int, default=10, help="authors' feeds (default 10)")
    parser.add_argument("--payload", type=int, default=500, help="payload bytes (default 500)")
    parser.add_argument("--runs", type=int, default=1, help="runs, fresh reader each (1)")
    parser.add_argument("--idle", type=float, default=3.0, help="idle and after phases (3 s)")
    parser.add_argument(
        "--timeout", type=float, default=600, help="give up sync + catch-up after (600 s)"
    )
    parser.add_argument(
        "--give-up",
        type=float,
        default=None,
        help="give up when one stall lasts this long (120 s; 20 s with --quick)",
    )
    parser.add_argument("--why", action="store_true", help="sample where the stalls are spent")
    parser.add_argument(
        "--switch-interval", type=float, default=None, help="sys.setswitchinterval (s)"
    )
    add_store_options(parser)
    parser.add_argument("--quick", action="store_true", help="small smoke run (10,000 entries)")
    args = parser.parse_args()
    if args.quick:
        args.entries = 10_000
    if args.give_up is None:
        args.give_up = 20 if args.quick else 120
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    quiet_qt()
    from lndesk.ui.theme import apply_theme  # noqa: PLC0415

    apply_theme(app, "system")

    work = Path(tempfile.mkdtemp(prefix="lndesk-bench-", dir=args.dir))
    server: NodeProcess | None = None
    runs: list[Run] = []
    lock = threading.Lock()
    total = 0

    def give_up(reason: str, stack: str) -> None:
        # On the watchdog thread, while the GUI thread is stuck in one long callback.
        with lock:
            if runs:
                runs[-1].partial(reason, stack)
            try:
                report(runs, total)
            except Exception:
                traceback.print_exc()
            sys.stdout.flush()
            if server is not None:
                server.terminate()
            shutil.rmtree(work, ignore_errors=True)
            os._exit(0)

    watchdog = Watchdog(args.give_up, threading.get_ident(), give_up)
    try:
        cache_dir = args.cache if args.cache is not None else work / "cache"
        specs = chain_specs(args.entries, args.feeds, args.payload)
        chains, gen_seconds, how = load_or_generate(specs, args.workers, cache_dir, CACHE_NAME)
        feeds = [author for author, _ in chains]
        total = sum(len(items) for _, items in chains)
        server_dir = work / "server"
        make_reader(server_dir, feeds)
        stored, ingest_seconds = ingest_chains(server_dir, chains)
        del chains
        if stored != total:
            print(f"WARNING: the server stored {stored:,} of {total:,} entries")
        print_setup(
            "GUI stalls while syncing (the desktop app's main thread, QTimer probe)",
            [
                ("entries", f"{total:,} in {len(feeds)} feeds, {args.payload}-byte payloads"),
                ("reader", "MainWindow 1100x760 + NodeRuntime thread, in this process"),
                ("Qt platform", QApplication.platformName()),
                ("probe", f"QTimer every {PROBE_MS} ms (stall = gap - {PROBE_MS} ms)"),
                ("scrolling", f"{SCROLL_PX} px every {SCROLL_MS} ms, wrapping to the top"),
                ("GIL interval", f"{sys.getswitchinterval() * 1000:g} ms"),
                (
                    "signed chains",
                    f"{how} in {gen_seconds:.1f} s"
                    + (f" ({rate(total, gen_seconds)} entries/s)" if how == "generated" else ""),
                ),
                ("server ingest", f"{ingest_seconds:.2f} s"),
            ],
        )
        sys.stdout.flush()
        server = NodeProcess(server_dir, work / "server.log", "server")
        watchdog.start()
        for number in range(args.runs):
            run = Run(app, work / f"reader-{number}", feeds, total, args, watchdog)
            with lock:
                runs.append(run)
            run.execute(server.address)
    except ChildError as exc:
        if any(run.ticks for run in runs):
            report(runs, total)
        print(f"\nFAILED: {exc}")
        return 1
    finally:
        watchdog.stopped.set()
        with lock:
            if server is not None:
                server.stop()
            shutil.rmtree(work, ignore_errors=True)
    report(runs, total)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
