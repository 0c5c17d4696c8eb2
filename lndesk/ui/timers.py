"""Single-shot timers behind a factory, so that tests drive time instead of waiting on it.

A view-model that delays work (coalescing a burst, debouncing) takes a
:data:`TimerFactory` and a clock. The app passes :func:`qt_timer` and
``time.monotonic``; a test passes a :class:`ManualTime`, whose timers fire only when the
test moves its clock past their deadline, so what the test sees never depends on how fast
the machine is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QTimer
from shiboken6 import isValid


class Timer(Protocol):
    """A single-shot timer: ``start`` (re)arms it, its callback runs once when it expires."""

    def start(self, msec: int) -> None: ...

    def stop(self) -> None: ...

    def isActive(self) -> bool: ...


TimerFactory = Callable[[QObject, Callable[[], None]], Timer]
"""(parent, callback) -> a stopped single-shot timer that calls ``callback`` when it fires."""


def qt_timer(parent: QObject, callback: Callable[[], None]) -> Timer:
    """A real single-shot QTimer, owned by ``parent``.

    This is the one place in the app that makes a timer of its own: every other delay goes
    through a :data:`TimerFactory`, which is this function outside tests."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.timeout.connect(callback)
    return timer


class RepeatingTimer:
    """A timer that fires every ``msec`` until stopped, made of a factory's single-shot
    timer that re-arms itself before each call (so the callback may stop it)."""

    def __init__(
        self, factory: TimerFactory, parent: QObject, callback: Callable[[], None]
    ) -> None:
        self._callback = callback
        self._interval = 0
        self._timer = factory(parent, self._fire)
        if isinstance(self._timer, ManualTimer):
            self._timer.repeating = True

    def start(self, msec: int) -> None:
        self._interval = msec
        self._timer.start(msec)

    def stop(self) -> None:
        self._timer.stop()

    def isActive(self) -> bool:
        return self._timer.isActive()

    def _fire(self) -> None:
        self._timer.start(self._interval)
        self._callback()


class ManualTimer:
    """A timer of a :class:`ManualTime`: it fires when that clock passes its deadline,
    unless its parent was deleted meanwhile (as a QTimer goes with its parent)."""

    def __init__(self, time: ManualTime, parent: QObject, callback: Callable[[], None]) -> None:
        self._time = time
        self._parent = parent
        self._callback = callback
        self.deadline: float | None = None
        self.repeating = False
        """Part of a :class:`RepeatingTimer` (time that jumps to the next deadline by
        itself skips these, or it would never stop jumping)."""

    def start(self, msec: int) -> None:
        self.deadline = self._time.now + msec / 1000

    def stop(self) -> None:
        self.deadline = None

    def isActive(self) -> bool:
        return self.deadline is not None

    def alive(self) -> bool:
        return isValid(self._parent)

    def _fire(self) -> None:
        self.deadline = None
        if self.alive():
            self._callback()


class ManualTime:
    """A clock and timers that move only when told to (:meth:`advance`)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self._timers: list[ManualTimer] = []

    def clock(self) -> float:
        return self.now

    def timer(self, parent: QObject, callback: Callable[[], None]) -> Timer:
        timer = ManualTimer(self, parent, callback)
        self._timers.append(timer)
        return timer

    def next_deadline(self, repeating: bool = True) -> float | None:
        """When the next timer is due (None: no timer is running); with ``repeating``
        False, the next single-shot one."""
        self._timers = [t for t in self._timers if t.alive()]
        deadlines = [
            t.deadline
            for t in self._timers
            if t.deadline is not None and (repeating or not t.repeating)
        ]
        return min(deadlines) if deadlines else None

    def advance(self, seconds: float) -> None:
        """Move the clock forward, firing every timer due by then, earliest first."""
        if seconds < 0:
            raise ValueError("time does not go back")
        target = self.now + seconds
        slack = 1e-9  # steps that add up to a deadline reach it despite rounding
        while True:
            due = [
                t for t in self._timers if t.deadline is not None and t.deadline <= target + slack
            ]
            if not due:
                break
            first = min(due, key=lambda t: t.deadline or 0.0)
            self.now = max(self.now, first.deadline or self.now)
            first._fire()
        self.now = target
