"""Penalties end, and ended ones are not kept: peer ids cost nothing to make, so a box
that kept every id it ever penalised would grow for the life of the node."""

from __future__ import annotations

from lndesk.p2p.penalty import SWEEP_FLOOR, PenaltyBox


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_penalty_ends_after_its_seconds() -> None:
    clock = Clock()
    box = PenaltyBox(600, clock)
    box.penalise("a", "sent garbage")
    penalty = box.penalty("a")
    assert penalty is not None and penalty.reason == "sent garbage"
    clock.now += 599.9
    assert box.is_penalised("a")
    clock.now += 0.1
    assert not box.is_penalised("a")
    assert len(box) == 0


def test_ended_penalties_of_peers_never_seen_again_are_swept() -> None:
    clock = Clock()
    box = PenaltyBox(600, clock)
    for round_ in range(20):
        clock.now += 601  # none of the round before comes back
        for n in range(1000):
            box.penalise(f"{round_}-{n}", "sent garbage")
    # What is kept is the last round (still penalised) and at most as many ended.
    assert len(box) <= 2 * 1000
    assert all(box.is_penalised(f"19-{n}") for n in range(1000))
    assert not box.is_penalised("18-0")


def test_penalties_that_have_not_ended_are_kept_however_many() -> None:
    clock = Clock()
    box = PenaltyBox(600, clock)
    for n in range(10 * SWEEP_FLOOR):
        box.penalise(str(n), "sent garbage")
        clock.now += 0.01
    assert len(box) == 10 * SWEEP_FLOOR
    assert all(box.is_penalised(str(n)) for n in range(10 * SWEEP_FLOOR))
