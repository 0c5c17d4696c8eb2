"""Helpers shared by the desktop-app benchmarks (gui_stall.py, gui_cold_start.py).

Not part of lndesk. Nothing here imports Qt: gui_cold_start.py times the app in child
processes and must not pay for Qt in the parent before it has to.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from _common import BASE_MS, DAY_MS, ChainSpec, ms, percentile

from lndesk.app.datadir import CONFIG_NAME, Config

CACHE_NAME = "sync"
"""Cache file prefix; with :func:`chain_specs` the same file as sync_throughput.py's."""


def offscreen() -> None:
    """Run Qt without a display, unless the caller chose a platform (set before Qt loads)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def chain_specs(entries: int, feeds: int, payload: int) -> list[ChainSpec]:
    """``entries`` posts spread over ``feeds`` authors across one year.

    The labels, sizes and times are sync_throughput.py's, so a shared ``--cache``
    directory signs the chains once for all three scripts.
    """
    per_feed, extra = divmod(entries, feeds)
    return [
        ChainSpec(
            label=f"sync-author-{i}",
            posts=per_feed + (1 if i < extra else 0),
            payload_size=payload,
            first_ms=BASE_MS,
            span_ms=365 * DAY_MS,
        )
        for i in range(feeds)
    ]


def quiet_network(data_dir: Path) -> None:
    """Listen on a port the system picks and do not announce on the LAN (no mDNS).

    The app then neither collides with an lndesk running on the default port nor talks
    to other machines; it still starts libp2p, as a launch normally does.
    """
    path = data_dir / CONFIG_NAME
    config = Config.load(path)
    config.port = 0
    config.mdns = False
    config.bootstrap = []
    config.save(path)


def stalls(ticks: Sequence[float], interval: float) -> list[float]:
    """How late each probe tick was: the gap to the previous tick minus the interval."""
    return [max(0.0, b - a - interval) for a, b in itertools.pairwise(ticks)]


STALL_HEADER = ["phase", "seconds", "ticks", "worst ms", "p99 ms", "p999 ms", ">50 ms", ">100 ms"]


def stall_row(label: str, ticks: Sequence[float], interval: float) -> list[str]:
    late = stalls(ticks, interval)
    if not late:
        return [label, "0", "0", "-", "-", "-", "-", "-"]
    return [
        label,
        f"{ticks[-1] - ticks[0]:.1f}",
        f"{len(late):,}",
        ms(max(late)),
        ms(percentile(late, 99)),
        ms(percentile(late, 99.9)),
        str(sum(1 for s in late if s > 0.050)),
        str(sum(1 for s in late if s > 0.100)),
    ]


def worst(ticks: Sequence[float], interval: float) -> float:
    late = stalls(ticks, interval)
    return max(late) if late else 0.0


def quiet_qt() -> None:
    """Drop Qt's offscreen-platform notices (not ours to fix); show every other message."""
    from PySide6.QtCore import qInstallMessageHandler  # noqa: PLC0415

    def handler(_kind: object, _context: object, message: str) -> None:
        if "propagateSizeHints" not in message:
            sys.stderr.write(message + "\n")

    qInstallMessageHandler(handler)
