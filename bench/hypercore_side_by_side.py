"""lndesk and Hypercore side by side: the same replication, two processes, one machine.

Both replicate 100,000 entries of 500 bytes in 10 logs from a server process to a
fresh reader process over a plain TCP socket on 127.0.0.1, with full verification:
lndesk's nodes as in ``sync_throughput.py`` (libp2p, Noise, every batch authenticated
by ``Store.ingest``), and Hypercore 11 (pinned in ``peers/package.json``, installed
here with ``npm install``; no Corestore, no Hyperswarm: ``peers/hypercore_peer.js``
pipes the cores' replication stream through the socket, and Hypercore verifies each
block against its signed Merkle tree). Setup is not timed; the clock runs from the
reader's dial until it holds every entry.

Runs are interleaved, A B A B (lndesk newest first, lndesk oldest first, Hypercore per
pair, ``--pairs`` pairs), first on the machine as it is ("quiet") and then with two
busy loops running ("loaded"), since a shared 2-core machine is noisy. Printed: each
run, then per machine state the medians in entries/s, the ratios lndesk/Hypercore and
the reader's CPU per entry, with the load average. Without Node.js the bench says so
and stops.

    python bench/hypercore_side_by_side.py              # 3 pairs quiet, 3 loaded
    python bench/hypercore_side_by_side.py --quick      # 10,000 entries, 1 pair each
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import print_setup, print_table
from _net import ChildError, NodeProcess
from _sync import add_sync_options, parse_sync_args, prepare_sync_server, reader_node, sync_all

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
PEER_JS = PEERS / "hypercore_peer.js"
KINDS = ("lndesk newest first", "lndesk oldest first", "Hypercore")
STARTUP_SECONDS = 300
BEFORE = "lndesk /1 newest first"
"""With ``--before``: a reader that speaks only /lndesk/sync/1 (one get in flight), as
every reader did before pipelining."""


def npm_ready() -> str | None:
    """None when Node.js and the pinned Hypercore are ready, else why not."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "Node.js (node and npm) is not installed: the Hypercore side cannot run"
    if not (PEERS / "node_modules" / "hypercore").is_dir():
        print("installing the pinned Hypercore (npm install in bench/peers) ...", flush=True)
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=PEERS,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"npm install failed in bench/peers:\n{done.stderr[-2000:]}"
    return None


def node_json(argv: list[str], timeout: float) -> dict:
    done = subprocess.run(
        ["node", str(PEER_JS), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise ChildError(f"hypercore_peer.js {argv[0]} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def busy() -> None:
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="interleaved pairs per state (3)")
    parser.add_argument("--busy", type=int, default=2, help="busy loops when loaded (2)")
    parser.add_argument(
        "--before", action="store_true", help="also run a /lndesk/sync/1 reader in every pair"
    )
    parser.add_argument(
        "--states",
        default="quiet,loaded",
        help="machine states to run, of quiet and loaded (default both)",
    )
    add_sync_options(parser, timeout=900, logs="logs")
    args = parse_sync_args(parser)
    if args.quick:
        args.pairs = 1
    kinds = (BEFORE, *KINDS) if args.before else KINDS
    states = [state for state in ("quiet", "loaded") if state in args.states.split(",")]
    why = npm_ready()
    if why is not None:
        print(f"SKIPPED: {why}.\nInstall Node.js 20 or newer (with npm) to compare with Hypercore.")
        return 0

    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        data = prepare_sync_server(work / "server", args)
        total = data.total
        written = node_json(
            ["write", str(work / "hc-server"), str(args.feeds), str(total), str(args.payload)],
            args.timeout,
        )
        keys = ",".join(written["keys"])
        print_setup(
            "lndesk and Hypercore side by side (two processes each, loopback)",
            [
                ("entries", f"{total:,} x {args.payload} B in {len(data.feeds)} logs ({data.how})"),
                ("Hypercore", "11.37.1 (bench/peers/package.json), plain TCP"),
                ("pairs", f"{args.pairs} per machine state, interleaved"),
                ("cores", str(os.cpu_count())),
            ],
        )
        server = None
        hc_server = None
        results: dict[tuple[str, str], list[dict]] = {}
        loads: dict[str, list[float]] = {}
        try:
            server = NodeProcess(work / "server", work / "server.log", "server")
            hc_server = subprocess.Popen(
                ["node", str(PEER_JS), "serve", str(work / "hc-server"), keys],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert hc_server.stdout is not None
            hc_port = json.loads(hc_server.stdout.readline())["port"]
            number = 0
            for state in states:
                loops = []
                if state == "loaded":
                    loops = [
                        multiprocessing.Process(target=busy, daemon=True) for _ in range(args.busy)
                    ]
                    for loop in loops:
                        loop.start()
                    time.sleep(2)
                try:
                    for pair in range(args.pairs):
                        for kind in kinds:
                            number += 1
                            loads.setdefault(state, []).append(os.getloadavg()[0])
                            if kind == "Hypercore":
                                result = node_json(
                                    [
                                        "read",
                                        str(work / f"hc-reader-{number}"),
                                        keys,
                                        str(hc_port),
                                        str(total),
                                    ],
                                    args.timeout,
                                )
                            else:
                                # Importing libp2p beside busy loops can take minutes.
                                with reader_node(
                                    work,
                                    f"reader-{number}",
                                    data.feeds,
                                    newest_first=kind.endswith("newest first"),
                                    gets=1 if kind == BEFORE else None,
                                    startup=STARTUP_SECONDS,
                                ) as reader:
                                    result = sync_all(reader, server.address, data, args.timeout)
                            if result["held"] < total:
                                print(f"WARNING: {kind} holds {result['held']:,} of {total:,}")
                            results.setdefault((state, kind), []).append(result)
                            print(
                                f"  {state} pair {pair + 1}: {kind:<20} {result['seconds']:7.2f} s"
                                f"  {total / result['seconds']:>8,.0f} entries/s"
                                f"  reader CPU {result['cpu'] / total * 1e6:6.1f} us/entry",
                                flush=True,
                            )
                finally:
                    for loop in loops:
                        loop.terminate()
                        loop.join()
        except (ChildError, subprocess.TimeoutExpired) as exc:
            print(f"\nFAILED: {exc}")
            return 1
        finally:
            if hc_server is not None and hc_server.stdin is not None:
                hc_server.stdin.close()
                hc_server.wait(20)
            if server is not None:
                server.stop()

        rows = []
        for state in states:
            rate = {
                kind: total / statistics.median(r["seconds"] for r in results[(state, kind)])
                for kind in KINDS
            }
            cpu = {
                kind: statistics.median(r["cpu"] for r in results[(state, kind)]) / total * 1e6
                for kind in KINDS
            }
            before = (
                f"{total / statistics.median(r['seconds'] for r in results[(state, BEFORE)]):,.0f}"
                if args.before
                else "-"
            )
            rows.append(
                [
                    f"{state} (load {min(loads[state]):.1f}-{max(loads[state]):.1f})",
                    f"{rate[KINDS[0]]:,.0f}",
                    f"{rate[KINDS[1]]:,.0f}",
                    f"{rate[KINDS[2]]:,.0f}",
                    before,
                    f"{rate[KINDS[0]] / rate[KINDS[2]]:.2f}x"
                    f" ({rate[KINDS[1]] / rate[KINDS[2]]:.2f}x)",
                    f"{cpu[KINDS[0]]:.0f} / {cpu[KINDS[1]]:.0f} / {cpu[KINDS[2]]:.0f}",
                ]
            )
        print_table(
            "medians, entries/s",
            [
                "machine state",
                "lndesk newest first",
                "lndesk oldest first",
                "Hypercore",
                "lndesk /1 newest first",
                "lndesk/Hypercore (oldest first)",
                "reader CPU us/entry (lndesk new / old / Hypercore)",
            ],
            rows,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
