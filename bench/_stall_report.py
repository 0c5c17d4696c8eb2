"""What ``gui_stall.py`` prints, and where the GUI thread's stalls are spent (``--why``).

Not part of lndesk. A sampler thread records the GUI thread's Python stack whenever the
probe is overdue, and a call timer wraps the post list's model, view and delegate
methods (in this process only) to add up the time spent in them.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import ms, print_table, rate
from _gui import STALL_HEADER, stall_row, stalls, worst
from PySide6.QtGui import QTextDocument

from lndesk.ui import main_window as main_window_module
from lndesk.ui.models.posts import PostListModel
from lndesk.ui.views import post_delegate
from lndesk.ui.views.posts import PostListView

PROBE_MS = 5
INTERVAL = PROBE_MS / 1000
TARGET = 0.100
"""The issue's target: the worst stall while syncing stays under 100 ms."""
PHASES = (
    ("idle", "idle, window shown"),
    ("sync", "sync: dial -> all stored"),
    ("catchup", "catch-up: -> timeline current"),
    ("while", "sync + catch-up"),
    ("after", "after, scrolling only"),
)
OVERDUE = 0.020
"""A tick this late (past its interval) makes the sampler take the GUI thread's stack."""


class StallSampler(threading.Thread):
    """Samples the GUI thread's Python stack while the probe is overdue."""

    def __init__(self, probe: Any, gui_thread: int) -> None:
        super().__init__(daemon=True, name="stall-sampler")
        self.probe = probe
        self.gui = gui_thread
        self.samples: list[tuple[str, ...]] = []
        self.active = False
        self.running = True

    def run(self) -> None:
        while self.running:
            time.sleep(0.002)
            ticks = self.probe.ticks
            if not self.active or not ticks:
                continue
            if time.perf_counter() - ticks[-1] < OVERDUE + INTERVAL:
                continue
            self.samples.append(python_stack(self.gui))


def python_stack(thread_id: int) -> tuple[str, ...]:
    """The thread's Python frames, outermost first, as ``module.function``."""
    frame = sys._current_frames().get(thread_id)
    stack = []
    while frame is not None:
        code = frame.f_code
        stack.append(f"{Path(code.co_filename).stem}.{code.co_name}")
        frame = frame.f_back
    return tuple(reversed(stack))


class CallTimer:
    """Wraps methods to add up how long the GUI thread spends in them (while ``on``)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.longest: dict[str, float] = {}
        self.documents = 0
        self.refreshes: list[dict[str, Any]] = []
        self.on = False
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, cls: type, name: str) -> None:
        original = cls.__dict__[name]
        label = f"{cls.__name__}.{name}"
        timer = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if not timer.on:
                return original(*args, **kwargs)
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - began
                timer.calls[label] += 1
                timer.seconds[label] += spent
                timer.longest[label] = max(timer.longest.get(label, 0.0), spent)

        timed.__name__ = name
        self._replace(cls, name, timed)

    def watch_refreshes(self) -> None:
        """Before the model applies a refresh: its new rows and how many runs they form.

        Each run is one beginInsertRows/endInsertRows, i.e. one pass of the view's
        place-keeping (``_before_refresh`` / ``_after_refresh``).
        """
        timer = self
        original = PostListModel.__dict__["_apply"]

        def apply(model: PostListModel, refresh: Any) -> None:
            if not timer.on:
                return original(model, refresh)
            new = {item.post_key for item in refresh.new} - set(model._rows)
            runs = 0
            previous_new = False
            for key in refresh.post_keys:
                is_new = key in new
                runs += is_new and not previous_new
                previous_new = is_new
            shape = {"rows": model.rowCount(), "new": len(new), "runs": runs, "seconds": None}
            timer.refreshes.append(shape)
            began = time.perf_counter()
            original(model, refresh)
            shape["seconds"] = time.perf_counter() - began
            return None

        self._replace(PostListModel, "_apply", apply)

    def count_documents(self) -> None:
        """Count the QTextDocuments the post delegate builds (each one a markdown layout)."""
        timer = self

        class CountedDocument(QTextDocument):
            def __init__(self, *args: Any) -> None:
                super().__init__(*args)
                if timer.on:
                    timer.documents += 1

        self._replace(post_delegate, "QTextDocument", CountedDocument)

    def _replace(self, owner: Any, name: str, value: Any) -> None:
        self._undo.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


def instrument() -> CallTimer:
    timer = CallTimer()
    timer.watch_refreshes()
    for cls, name in (
        (PostListModel, "_apply"),
        (PostListModel, "_insert"),
        (PostListModel, "_append_page"),
        (PostListView, "_before_refresh"),
        (PostListView, "_after_refresh"),
        (post_delegate.PostDelegate, "sizeHint"),
        (post_delegate.PostDelegate, "paint"),
        (post_delegate.PostDelegate, "_document"),
        (main_window_module.MainWindow, "_set_unread"),
    ):
        timer.wrap(cls, name)
    timer.count_documents()
    return timer


def print_why(run: Any) -> None:
    calls = run.calls
    late = stalls(run.ticks.get("while", []), INTERVAL)
    span = run.ticks["while"][-1] - run.ticks["while"][0] if run.ticks.get("while") else 0
    if calls is not None and span > 0:
        rows = [
            [
                label,
                f"{calls.calls[label]:,}",
                f"{seconds:.2f}",
                f"{seconds / span * 100:.0f}%",
                ms(calls.longest[label]),
            ]
            for label, seconds in calls.seconds.most_common()
        ]
        rows.append(["QTextDocument built by the delegate", f"{calls.documents:,}", "", "", ""])
        print_table(
            f"GUI thread time during sync + catch-up ({span:.1f} s; inclusive, nested calls "
            "overlap)",
            ["method", "calls", "total s", "of span", "longest ms"],
            rows,
        )
    if calls is not None and calls.refreshes:
        print_table(
            "timeline refreshes during sync + catch-up, in order",
            ["refresh", "rows before", "new rows", "insert runs", "seconds to apply"],
            [
                [
                    str(number),
                    f"{shape['rows']:,}",
                    f"{shape['new']:,}",
                    f"{shape['runs']:,}",
                    "unfinished" if shape["seconds"] is None else f"{shape['seconds']:.2f}",
                ]
                for number, shape in enumerate(calls.refreshes, 1)
            ],
        )
    samples = run.sampler.samples if run.sampler is not None else []
    if not samples:
        return
    inside: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for stack in samples:
        for frame in set(stack):
            inside[frame] += 1
        leaves[stack[-1] if stack else "(no Python frame)"] += 1
    title = (
        f"where the GUI thread was while a tick was {OVERDUE * 1000:.0f} ms overdue "
        f"({len(samples):,} samples, ~2 ms apart; {sum(late):.1f} s stalled in total)"
    )
    print_table(
        title,
        ["function on the stack", "samples", "share"],
        [
            [name, f"{count:,}", f"{count / len(samples) * 100:.0f}%"]
            for name, count in inside.most_common(16)
        ],
    )
    print_table(
        "innermost Python frame of those samples",
        ["function", "samples", "share"],
        [
            [name, f"{count:,}", f"{count / len(samples) * 100:.0f}%"]
            for name, count in leaves.most_common(8)
        ],
    )


def report(runs: list[Any], total: int) -> None:
    for number, run in enumerate(runs, 1):
        suffix = f" (run {number} of {len(runs)})" if len(runs) > 1 else ""
        print_table(
            f"GUI thread stalls{suffix}",
            STALL_HEADER,
            [
                stall_row(label, run.ticks[key], INTERVAL)
                for key, label in PHASES
                if key in run.ticks
            ],
        )
        state = run.state
        rows = [
            ["entries stored (EntriesStored)", f"{state['stored']:,} of {total:,}"],
            [
                "held by the reader (feed heights"
                + (f", {state['held_when']})" if "held_when" in state else ")"),
                "-" if state["held"] is None else f"{state['held']:,} of {total:,}",
            ],
        ]
        if state["seconds"] is not None:
            rows += [
                ["sync seconds (dial -> all stored)", f"{state['seconds']:.2f}"],
                ["sync rate", f"{rate(state['stored'], state['seconds'])} entries/s"],
            ]
        if state["catchup_seconds"] is not None:
            rows.append(["catch-up seconds", f"{state['catchup_seconds']:.2f}"])
        rows += [
            ["EntriesStored events", f"{state['events']:,}"],
            ["timeline refreshes applied", f"{state['refreshes']:,}"],
            ["timeline rows inserted live", f"{state['inserted']:,}"],
        ]
        rows += [[f"timeline rows, {when}", f"{n:,}"] for when, n in state["rows"].items()]
        rows.append(["scroll steps during sync", f"{state['scroll_steps']:,}"])
        print_table(f"sync and timeline{suffix}", ["figure", "value"], rows)
        if run.gave_up is not None:
            reason, stack = run.gave_up
            print()
            print(f"GAVE UP: {reason}; the open stall is counted as ending then.")
            print(f"GUI thread at that moment: {stack}")
        if run.args.why:
            print_why(run)

    worst_idle = max(worst(run.ticks.get("idle", []), INTERVAL) for run in runs)
    worst_sync = max(worst(run.ticks.get("sync", []), INTERVAL) for run in runs)
    worst_while = max(worst(run.ticks.get("while", []), INTERVAL) for run in runs)
    gave_up = any(run.gave_up for run in runs)
    at_least = ">= " if gave_up else ""
    print_table(
        "summary",
        ["figure", "value"],
        [
            ["worst stall, idle", f"{ms(worst_idle)} ms"],
            ["worst stall, sync (to all stored)", f"{at_least}{ms(worst_sync)} ms"],
            ["worst stall, sync + catch-up", f"{at_least}{ms(worst_while)} ms"],
            [
                "worst sync + catch-up / worst idle",
                f"{at_least}{worst_while / worst_idle:,.0f}x" if worst_idle > 0 else "-",
            ],
            ["target", f"worst stall while syncing < {TARGET * 1000:.0f} ms"],
        ],
    )
    print()
    print(f"target < {TARGET * 1000:.0f} ms: {'met' if worst_while < TARGET else 'NOT MET'}")
