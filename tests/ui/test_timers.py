"""Timers behind a factory: the real one is a QTimer, the manual one fires when told."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QObject

from lndesk.ui.timers import ManualTime, RepeatingTimer, qt_timer


def test_manual_timers_fire_in_deadline_order_only_when_time_passes() -> None:
    manual = ManualTime(now=10.0)
    fired: list[tuple[str, float]] = []
    owner = QObject()
    late = manual.timer(owner, lambda: fired.append(("late", manual.clock())))
    early = manual.timer(owner, lambda: fired.append(("early", manual.clock())))
    late.start(300)
    early.start(100)
    assert late.isActive() and early.isActive()
    manual.advance(0.099)
    assert fired == []
    manual.advance(1.0)
    assert fired == [("early", pytest.approx(10.1)), ("late", pytest.approx(10.3))]
    assert manual.clock() == pytest.approx(11.099)
    assert not late.isActive() and not early.isActive()


def test_a_stopped_or_restarted_manual_timer() -> None:
    manual = ManualTime()
    fired: list[str] = []
    timer = manual.timer(QObject(), lambda: fired.append("x"))
    timer.start(100)
    timer.stop()
    manual.advance(1)
    assert fired == []
    timer.start(100)
    manual.advance(0.05)
    timer.start(100)  # restarting moves the deadline
    manual.advance(0.06)
    assert fired == []
    manual.advance(0.04)
    assert fired == ["x"]
    with pytest.raises(ValueError):
        manual.advance(-1)


def test_a_timer_restarted_by_its_own_callback_fires_again_within_one_advance() -> None:
    manual = ManualTime()
    fired: list[float] = []

    def tick() -> None:
        fired.append(manual.clock())
        if len(fired) < 3:
            timer.start(100)

    timer = manual.timer(QObject(), tick)
    timer.start(100)
    manual.advance(1)
    assert fired == [pytest.approx(1000.1), pytest.approx(1000.2), pytest.approx(1000.3)]


def test_the_real_timer_is_a_single_shot_qtimer(qtbot: Any) -> None:
    owner = QObject()
    fired: list[int] = []
    timer = qt_timer(owner, lambda: fired.append(1))
    assert not timer.isActive()
    timer.start(1)
    qtbot.waitUntil(lambda: fired == [1])
    assert not timer.isActive()


def test_a_repeating_timer_fires_every_interval_until_stopped() -> None:
    manual = ManualTime()
    fired: list[float] = []

    def tick() -> None:
        fired.append(manual.clock())
        if len(fired) == 3:
            timer.stop()  # a callback may stop it: it re-armed before calling

    timer = RepeatingTimer(manual.timer, QObject(), tick)
    timer.start(250)
    assert timer.isActive()
    manual.advance(0.2)
    assert fired == []
    manual.advance(2)
    assert fired == [pytest.approx(1000.25), pytest.approx(1000.5), pytest.approx(1000.75)]
    assert not timer.isActive()


def test_time_that_jumps_by_itself_skips_repeating_timers() -> None:
    manual = ManualTime()
    owner = QObject()
    RepeatingTimer(manual.timer, owner, lambda: None).start(100)
    assert manual.next_deadline() == pytest.approx(1000.1)
    assert manual.next_deadline(repeating=False) is None
    manual.timer(owner, lambda: None).start(300)
    assert manual.next_deadline(repeating=False) == pytest.approx(1000.3)
