"""Reading a backup file for ``lndesk import``: the whole-file decode it used before
against the streamed reader (``lndesk.backup.open_backup`` and its entries, in the
batches ``lndesk.app.importing`` stores), on one signed feed and on a large file that
is no backup. Rounds are interleaved, so both see the same load; figures are printed,
never asserted.

    python bench/backup_read.py                 # 100,000 entries
    python bench/backup_read.py --quick         # 10,000 entries
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from _common import BASE_MS, DAY_MS, ChainSpec, make_chain, print_setup, print_table

from lndesk import canonical
from lndesk.app.importing import _batches
from lndesk.backup import FORMAT, VERSION, encode_backup, open_backup
from lndesk.errors import BackupFileError


def whole_file(path: Path) -> int:
    """The reader before: the file read whole, decoded whole, every pair listed."""
    doc = canonical.decode_document(path.read_bytes(), FORMAT, VERSION, BackupFileError, "backup")
    items = [(item[0], item[1]) for item in doc["entries"]]
    return sum(1 for _ in _batches(items))


def streamed(path: Path) -> int:
    backup = open_backup(path)
    return sum(1 for _ in _batches(backup.entries))


def refused(read: Callable[[Path], int], path: Path) -> int:
    try:
        return read(path)
    except BackupFileError:
        return 0


def measure(fn: Callable[[], int], rounds: int) -> tuple[float, float]:
    """(median seconds, peak MiB traced in one more run)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return statistics.median(times), peak / (1 << 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--junk-mib", type=int, default=512, help="size of the non-backup")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.rounds, args.junk_mib = 10_000, 3, 64
    spec = ChainSpec("backup", args.entries, 400, BASE_MS, 365 * DAY_MS)
    feed, items = make_chain(spec)
    with tempfile.TemporaryDirectory(prefix="lndesk-bench-") as temp:
        backup = Path(temp) / "feed.backup"
        backup.write_bytes(encode_backup(bytes(100), feed, items))
        junk = Path(temp) / "video.mp4"
        junk.write_bytes(b"\x00\x00\x00\x18ftypmp42")
        os.truncate(junk, args.junk_mib << 20)  # sparse
        print_setup(
            "backup read",
            [
                ("entries", args.entries),
                ("backup file", f"{backup.stat().st_size / (1 << 20):.1f} MiB"),
                ("non-backup file", f"{args.junk_mib} MiB (sparse)"),
                ("load average", " ".join(f"{x:.2f}" for x in os.getloadavg())),
            ],
        )
        rows = []
        cases = [
            ("feed, whole file", lambda: whole_file(backup)),
            ("feed, streamed", lambda: streamed(backup)),
            ("non-backup, whole file", lambda: refused(whole_file, junk)),
            ("non-backup, streamed", lambda: refused(streamed, junk)),
        ]
        results = {name: measure(fn, args.rounds) for name, fn in cases}
        for name, (seconds, peak) in results.items():
            rows.append([name, f"{seconds * 1000:.1f}", f"{peak:.1f}"])
        print_table("reading (median of rounds)", ["case", "ms", "peak MiB"], rows)


if __name__ == "__main__":
    main()
