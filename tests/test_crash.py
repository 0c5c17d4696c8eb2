"""A real crash test: a writer process is killed with SIGKILL, over and over.

``crash_writer.py`` appends to a store (single-record publishes and multi-record
ingests) and acknowledges each append on stdout once it has returned. The test kills
it at a random point and checks that every acknowledged append survived and that
every feed is still one authentic chain, then starts the next writer on the same
data directory.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from crash_writer import OTHER, OWN
from store_helpers import check_feed, child_env, post_text

from lndesk.store.store import Store

ROUNDS = 32
MAX_LINES_BEFORE_KILL = 40
CHILD_TIMEOUT_S = 60
TESTS_DIR = Path(__file__).resolve().parent
WRITER = TESTS_DIR / "crash_writer.py"
TORN_WRITE_WARNING = "the last write to the log was interrupted"


@dataclass
class Acked:
    own: int = 0
    other: int = 0
    in_batch: bool = False
    kills_mid_batch: int = 0
    kills_mid_write: int = 0


def run_writer_until_killed(
    data_dir: Path, seed: int, kill_after: int, acked: Acked, stderr_path: Path
) -> None:
    """Start a writer, read ``kill_after`` lines of its output, then SIGKILL it."""
    with stderr_path.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(WRITER), str(data_dir), str(seed)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=TESTS_DIR.parent,
            env=child_env(),
            text=True,
        )
    watchdog = threading.Timer(CHILD_TIMEOUT_S, child.kill)  # only if the writer hangs
    watchdog.start()
    try:
        assert child.stdout is not None
        opened = child.stdout.readline().split()
        if not opened:
            child.wait()
            pytest.fail(f"the writer died at start: {stderr_path.read_text()}")
        assert opened[0] == "open"
        assert int(opened[1]) >= acked.own
        assert int(opened[2]) >= acked.other
        last_kind = "open"
        for _ in range(kill_after):
            line = child.stdout.readline()
            if not line:
                child.wait()
                pytest.fail(f"the writer stopped on its own: {stderr_path.read_text()}")
            last_kind = record_line(line, acked)
        child.send_signal(signal.SIGKILL)
        acked.kills_mid_batch += acked.in_batch
        acked.kills_mid_write += last_kind == "write"
        child.wait()
        # Lines the writer printed before the kill landed are acknowledgements too.
        for line in child.stdout.read().splitlines(keepends=True):
            if line.endswith("\n"):
                record_line(line, acked)
        acked.in_batch = False
    finally:
        watchdog.cancel()
        if child.poll() is None:  # a failed check above: do not leave the writer running
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL, stderr_path.read_text()


def record_line(line: str, acked: Acked) -> str:
    kind, *numbers = line.split()
    if kind == "own":
        (seq,) = map(int, numbers)
        assert seq > acked.own
        acked.own = seq
    elif kind == "other":
        (last,) = map(int, numbers)
        assert acked.in_batch
        assert last >= acked.other
        acked.other = last
        acked.in_batch = False
    elif kind == "batch":
        first, last = map(int, numbers)
        assert acked.other < first <= last
        acked.in_batch = True
    else:
        assert kind == "write", line
        assert int(numbers[0]) >= 1
    return kind


def check_after_crash(data_dir: Path, acked: Acked) -> None:
    with Store(data_dir) as store:
        for warning in store.warnings:  # at most a torn last write, cut off
            assert warning.startswith(TORN_WRITE_WARNING), warning
        own = check_feed(store, OWN.public_key)
        other = check_feed(store, OTHER.public_key)
        assert len(own) >= acked.own
        assert len(other) >= acked.other
        for key in (OWN.public_key, OTHER.public_key):
            state = store.feed_state(key)
            assert state.forked_at is None
            assert store.fork_proofs(key) == []
        for prefix, key in (("post", OWN.public_key), ("other", OTHER.public_key)):
            for seq, (_, payload) in enumerate(store.feed_items(key), start=1):
                assert post_text(payload).startswith(f"{prefix} {seq} ")


@pytest.mark.slow
def test_store_survives_repeated_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    rng = random.Random(1_2024_0611)
    acked = Acked()
    for round_number in range(ROUNDS):
        kill_after = rng.randint(1, MAX_LINES_BEFORE_KILL)
        stderr_path = tmp_path / f"writer-{round_number}.stderr"
        run_writer_until_killed(data_dir, rng.randrange(2**32), kill_after, acked, stderr_path)
        check_after_crash(data_dir, acked)

    assert acked.own > ROUNDS
    assert acked.other > ROUNDS
    assert acked.kills_mid_batch > 0
    assert acked.kills_mid_write > 0
    with Store(data_dir) as store:
        before = sorted(store.feeds(), key=lambda feed: feed.key)
        store.reindex()
        assert sorted(store.feeds(), key=lambda feed: feed.key) == before
