"""Cold start of the desktop app: from launching the process to the timeline's first paint.

Setup (not timed): a data dir whose identity follows ``--feeds`` feeds holding
``--entries`` posts (~500-byte payloads, the chains of sync_throughput.py, so a
``--cache`` directory is shared), ingested locally in batches of 2,000, plus ``--own``
posts of the user's own (the newest, so the first page mixes them with the others);
and an empty data dir (an identity, nothing stored). Both listen on a port the system
picks, without mDNS, so launches neither collide with a running lndesk nor talk to the
LAN; libp2p still loads on the node thread as in any launch.

Each launch is the real command, ``python -m lndesk app --data-dir D --ready-file
FIFO``, with ``QT_QPA_PLATFORM=offscreen``. The app writes ``{"painted": unix time,
"since_import": s}`` into the FIFO when the timeline's first page has been painted
(``MainWindow.first_paint``); this script blocks on the FIFO (no polling). Reported:
first paint = ``painted`` minus the wall clock just before ``Popen``; of that, the part
after ``lndesk.ui.app`` was imported (``since_import``); then SIGTERM, and the time
until the process exited and its exit code. Baselines in the same run, launched the same
way: ``python -c pass`` and ``python -c "import PySide6.QtWidgets"`` (what any Qt app
pays before its first line), and the app on the empty data dir (what the stored entries
add). Launches are interleaved (baselines, empty, full; then again), ``--runs`` times;
the target is judged on the median first paint of the full data dir.

The page cache: the data dir was just written, so the first launch is already warm, as
is every later one. ``--drop-caches`` (needs root: writes ``/proc/sys/vm/drop_caches``
after ``sync``) adds a second series with the cache dropped before every launch, so
Python, Qt's libraries and the store are read from disk.

``--explain`` adds a launch of the full data dir per round with the app's network
started 2 s late (patched in that child only): libp2p loads on the node thread while
the GUI thread builds the window, and both need the GIL, so the difference is what
loading the network at once costs the first paint.

Finally, in this process and without the network, the same MainWindow on each data
dir, ``--runs`` times: when ``first_paint`` is emitted, how many timeline rows are
loaded, how many posts the delegate has drawn, whether the window was exposed yet, and
when the first post was actually drawn.

    python bench/gui_cold_start.py                  # 100,000 entries, target < 1.5 s
    python bench/gui_cold_start.py --drop-caches    # and with the page cache dropped
    python bench/gui_cold_start.py --explain        # and with the network started late
    python bench/gui_cold_start.py --quick          # 10,000 entries, 2 runs
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import ROOT, add_store_options, load_or_generate, print_setup, print_table, rate
from _gui import CACHE_NAME, chain_specs, offscreen, quiet_network, quiet_qt
from _net import ingest_chains, make_reader

from lndesk.app.service import Service, create_identity

TARGET = 1.5
DROP_CACHES = Path("/proc/sys/vm/drop_caches")


class LaunchError(RuntimeError):
    pass


# --- launching ----------------------------------------------------------------------


def app_env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = env.get("QT_QPA_PLATFORM") or "offscreen"
    env.pop("LNDESK_PASSPHRASE", None)
    env.pop("LNDESK_DATA_DIR", None)
    return env


def drop_caches() -> None:
    os.sync()
    DROP_CACHES.write_text("3\n")


def can_drop_caches() -> bool:
    try:
        drop_caches()
    except OSError:
        return False
    return True


def wait_for_fifo(fd: int, timeout: float) -> bytes:
    """Block until a whole line has been written into the FIFO."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        readable, _, _ = select.select([fd], [], [], max(0.0, left))
        if not readable:
            raise LaunchError(f"no first paint within {timeout:.0f} s")
        chunk = os.read(fd, 4096)
        if not chunk:
            # No writer yet (or it closed): wait for the next open, without spinning.
            time.sleep(0.001)
            continue
        data += chunk
    return data


def launch_app(
    data_dir: Path, work: Path, timeout: float, program: tuple[str, ...] = ("-m", "lndesk")
) -> dict[str, Any]:
    """One launch: seconds to first paint, the part after the UI module's import, exit."""
    fifo = work / "ready.fifo"
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    log = (work / "app.log").open("wb")
    argv = [sys.executable, *program, "app", "--data-dir", str(data_dir)]
    argv += ["--ready-file", str(fifo)]
    try:
        started = time.time()
        process = subprocess.Popen(
            argv, cwd=ROOT, env=app_env(), stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            line = json.loads(wait_for_fifo(fd, timeout))
            stopping = time.perf_counter()
            process.send_signal(signal.SIGTERM)
            rc = process.wait(timeout)
            exit_seconds = time.perf_counter() - stopping
        except (LaunchError, subprocess.TimeoutExpired, ValueError) as exc:
            process.kill()
            process.wait()
            log.flush()
            tail = (work / "app.log").read_text(errors="replace").splitlines()[-15:]
            raise LaunchError(f"{exc}\n" + "\n".join(tail)) from None
    finally:
        os.close(fd)
        log.close()
    return {
        "paint": line["painted"] - started,
        "since_import": line["since_import"],
        "exit": exit_seconds,
        "rc": rc,
    }


def launch_python(code: str) -> float:
    """Seconds from ``Popen`` until ``python -c code`` has exited."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=app_env(), check=True, timeout=120)
    return time.perf_counter() - started


# --- what the first paint shows (in this process, after the launches) -------------


def first_paint_content(data_dirs: dict[str, Path], trials: int) -> dict[str, list[Any]]:
    """What MainWindow's ``first_paint`` coincides with, ``trials`` times per data dir.

    Per trial: timeline rows loaded, posts drawn by the delegate and whether the window
    was exposed when the signal was emitted, and when the first post was drawn relative
    to it (negative: before).
    The node runs without its network here.
    """
    offscreen()
    from PySide6.QtCore import QTimer  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from lndesk.app.runtime import NodeRuntime  # noqa: PLC0415
    from lndesk.ui.bridge import Bridge  # noqa: PLC0415
    from lndesk.ui.main_window import MainWindow  # noqa: PLC0415
    from lndesk.ui.views import post_delegate  # noqa: PLC0415

    app = QApplication.instance() or QApplication(sys.argv[:1])
    quiet_qt()
    drawn: list[float] = []
    original = post_delegate.PostDelegate.paint

    def paint(self: Any, painter: Any, option: Any, index: Any) -> None:
        drawn.append(time.perf_counter())
        original(self, painter, option, index)

    post_delegate.PostDelegate.paint = paint  # type: ignore[method-assign]
    out: dict[str, list[Any]] = {name: [] for name in data_dirs}
    try:
        for _ in range(trials):
            for name, data_dir in data_dirs.items():
                drawn.clear()
                runtime = NodeRuntime(data_dir, network=False, control=False)
                runtime.start(wait_network=False)
                bridge = Bridge(runtime)
                seen: dict[str, Any] = {}
                try:
                    window = MainWindow(bridge, data_dir)

                    def at_first_paint(window: Any = window, seen: dict[str, Any] = seen) -> None:
                        seen["at"] = time.perf_counter()
                        seen["rows"] = window.timeline.model.rowCount()
                        seen["drawn"] = len(drawn)
                        handle = window.windowHandle()
                        seen["exposed"] = handle is not None and handle.isExposed()

                    window.first_paint.connect(at_first_paint)
                    QTimer.singleShot(1000, app.quit)
                    window.show()
                    app.exec()
                    if drawn and "at" in seen:
                        seen["first drawn"] = drawn[0] - seen["at"]
                    window.quit()
                    window.deleteLater()
                finally:
                    bridge.close()
                    runtime.stop()
                    app.processEvents()
                out[name].append(seen)
    finally:
        post_delegate.PostDelegate.paint = original  # type: ignore[method-assign]
    return out


def content_row(name: str, trials: list[dict[str, Any]]) -> list[str]:
    def span(values: list[float], fmt: str) -> str:
        if not values:
            return "-"
        low, high = min(values), max(values)
        return fmt.format(low) if low == high else f"{fmt.format(low)} - {fmt.format(high)}"

    signalled = [t for t in trials if "at" in t]
    later = [t["first drawn"] * 1000 for t in signalled if "first drawn" in t]
    return [
        name,
        f"{len(signalled)} of {len(trials)}",
        span([t["rows"] for t in signalled], "{:d}"),
        span([t["drawn"] for t in signalled], "{:d}"),
        str(sum(1 for t in signalled if t["drawn"] == 0)),
        str(sum(1 for t in signalled if not t["exposed"])),
        span(later, "{:+.1f}"),
    ]


# Launched as ``python -c EXPLAIN app ...``: the app with its network started 2 s late.
EXPLAIN = """
import sys, trio
import lndesk.app.runtime as runtime
start = runtime.NodeRuntime._network_or_report
async def later(self):
    await trio.sleep(2)
    await start(self)
runtime.NodeRuntime._network_or_report = later
from lndesk.cli.main import main
sys.argv[0] = "lndesk"
sys.exit(main())
"""


# --- main ---------------------------------------------------------------------------


def build(args: argparse.Namespace, work: Path) -> tuple[Path, Path, list[tuple[str, object]]]:
    cache_dir = args.cache if args.cache is not None else work / "cache"
    specs = chain_specs(args.entries, args.feeds, args.payload)
    chains, gen_seconds, how = load_or_generate(specs, args.workers, cache_dir, CACHE_NAME)
    total = sum(len(items) for _, items in chains)
    full = work / "full"
    make_reader(full, [author for author, _ in chains])
    stored, ingest_seconds = ingest_chains(full, chains)
    del chains
    with Service(full) as service:
        for number in range(args.own):
            service.post(f"My note number {number}: what I read this week, and a question.")
    quiet_network(full)
    empty = work / "empty"
    create_identity(empty)
    quiet_network(empty)
    size = sum(p.stat().st_size for p in full.iterdir() if p.is_file())
    setup: list[tuple[str, object]] = [
        (
            "full data dir",
            f"{stored:,} entries in {args.feeds} followed feeds + {args.own} own posts, "
            f"{size / 1e6:,.0f} MB",
        ),
        ("empty data dir", "an identity, nothing stored"),
        (
            "signed chains",
            f"{how} in {gen_seconds:.1f} s"
            + (f" ({rate(total, gen_seconds)} entries/s)" if how == "generated" else ""),
        ),
        ("store ingest", f"{ingest_seconds:.2f} s"),
    ]
    return full, empty, setup


def series(
    args: argparse.Namespace, work: Path, full: Path, empty: Path, drop: bool
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"python": [], "qt": [], "empty": [], "full": [], "late": []}
    kinds: list[tuple[str, Callable[[], Any]]] = [
        ("python", lambda: launch_python("pass")),
        ("qt", lambda: launch_python("import PySide6.QtWidgets")),
        ("empty", lambda: launch_app(empty, work, args.timeout)),
        ("full", lambda: launch_app(full, work, args.timeout)),
    ]
    if args.explain:
        kinds.append(("late", lambda: launch_app(full, work, args.timeout, ("-c", EXPLAIN))))
    for _ in range(args.runs):
        for key, action in kinds:
            if drop:
                drop_caches()
            out[key].append(action())
    return out


def summary_row(label: str, values: list[float]) -> list[str]:
    return [
        label,
        str(len(values)),
        f"{statistics.median(values):.3f}",
        f"{min(values):.3f}",
        f"{max(values):.3f}",
    ]


def report(title: str, result: dict[str, list[Any]], entries: int) -> float:
    full, empty, late = result["full"], result["empty"], result["late"]
    header = ["launch", "python", "+Qt import", "empty: paint", "full: paint", "after import"]
    header += ["full: exit"] + (["net late: paint"] if late else [])
    rows = []
    for number in range(len(full)):
        row = [
            str(number + 1),
            f"{result['python'][number]:.3f}",
            f"{result['qt'][number]:.3f}",
            f"{empty[number]['paint']:.3f}",
            f"{full[number]['paint']:.3f}",
            f"{full[number]['since_import']:.3f}",
            f"{full[number]['exit']:.2f} (rc {full[number]['rc']})",
        ]
        if late:
            row.append(f"{late[number]['paint']:.3f}")
        rows.append(row)
    print_table(f"{title}: every launch, in order (s)", header, rows)
    print_table(
        f"{title}: summary (s)",
        ["measure", "n", "median", "min", "max"],
        [
            summary_row("python -c pass (process, start to exit)", result["python"]),
            summary_row("python -c 'import PySide6.QtWidgets'", result["qt"]),
            summary_row("app, empty data dir: first paint", [r["paint"] for r in empty]),
            summary_row(f"app, {entries:,} entries: first paint", [r["paint"] for r in full]),
            summary_row("  of which after lndesk.ui.app import", [r["since_import"] for r in full]),
            summary_row("  SIGTERM to exit (full)", [r["exit"] for r in full]),
            summary_row("  SIGTERM to exit (empty)", [r["exit"] for r in empty]),
        ]
        + (
            [summary_row("app, full, network started 2 s late", [r["paint"] for r in late])]
            if late
            else []
        ),
    )
    median_full = statistics.median(r["paint"] for r in full)
    median_empty = statistics.median(r["paint"] for r in empty)
    codes = sorted({r["rc"] for r in full + empty + late})
    rows = [
        ["first paint, full (median)", f"{median_full:.3f} s"],
        ["cost of the stored entries (full - empty)", f"{median_full - median_empty:+.3f} s"],
    ]
    if late:
        median_late = statistics.median(r["paint"] for r in late)
        rows.append(
            [
                "cost of starting the network at once (full - late)",
                f"{median_full - median_late:+.3f} s",
            ]
        )
    rows += [
        ["exit codes after SIGTERM", ", ".join(map(str, codes))],
        ["target", f"< {TARGET} s"],
    ]
    print_table(f"{title}: figures", ["figure", "value"], rows)
    print()
    print(f"{title}: target < {TARGET} s: {'met' if median_full < TARGET else 'NOT MET'}")
    return median_full


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="entries (default 100000)")
    parser.add_argument("--feeds", type=int, default=10, help="followed feeds (default 10)")
    parser.add_argument("--payload", type=int, default=500, help="payload bytes (default 500)")
    parser.add_argument("--own", type=int, default=20, help="own posts (default 20)")
    parser.add_argument("--runs", type=int, default=5, help="launches of each kind (5)")
    parser.add_argument("--timeout", type=float, default=60, help="wait for a paint (60 s)")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="also launch the full data dir with the app's network started 2 s late",
    )
    parser.add_argument(
        "--drop-caches",
        action="store_true",
        help="also a series with the page cache dropped before each launch (root)",
    )
    add_store_options(parser)
    parser.add_argument("--quick", action="store_true", help="small smoke run (10,000 entries)")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.runs = 10_000, 2

    work = Path(tempfile.mkdtemp(prefix="lndesk-bench-", dir=args.dir))
    try:
        full, empty, setup = build(args, work)
        dropping = args.drop_caches and can_drop_caches()
        setup += [
            ("launch", "python -m lndesk app --data-dir D --ready-file FIFO (offscreen)"),
            ("runs", f"{args.runs} of each, interleaved"),
            (
                "page cache",
                "warm (the data dir was just written)"
                + (
                    "; then a series with it dropped before each launch"
                    if dropping
                    else (
                        "; --drop-caches: not possible here (needs root)"
                        if args.drop_caches
                        else ""
                    )
                ),
            ),
        ]
        print_setup("desktop app cold start (first paint of the timeline)", setup)
        sys.stdout.flush()
        modes = [("warm page cache", False)] + ([("page cache dropped", True)] if dropping else [])
        medians = []
        for title, drop in modes:
            result = series(args, work, full, empty, drop)
            medians.append(report(title, result, args.entries))
            sys.stdout.flush()
        seen = first_paint_content({"full": full, "empty": empty}, args.runs)
    except LaunchError as exc:
        print(f"\nFAILED: {exc}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print_table(
        "what first_paint coincides with (MainWindow in this process, no network; per trial)",
        [
            "data dir",
            "signalled",
            "timeline rows",
            "posts drawn by then",
            "none drawn",
            "window not exposed",
            "first post drawn, ms after",
        ],
        [content_row(name, trials) for name, trials in seen.items()],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
