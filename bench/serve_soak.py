"""Serve soak: one ``lndesk serve`` process serves 50 concurrent readers of a 10k-entry feed.

Builds a data dir holding one feed of ``--entries`` signed ``post`` entries (~500-byte
payloads), starts ``python -m lndesk serve --port 0 --no-mdns`` on it, then starts
``--readers`` fresh reader nodes that follow the feed, ``--per-process`` of them per
``_nodes.py`` child process, and has them all dial the serve node at once. Each reader
syncs the feed on connect. The bench waits until every reader holds the whole feed (or
``--timeout``) and prints: how many readers finished, the refusals (penalties) the serve
node gave (an honest reader must get none), the serve process's peak RSS (``VmHWM``)
and the time from the dials to the last reader done.

    python bench/serve_soak.py                 # 50 readers of 10,000 entries
    python bench/serve_soak.py --quick         # 10 readers of 2,000 entries
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import BASE_MS, DAY_MS, ChainSpec, identity_for, print_setup, print_table
from _net import LOOPBACK, ChildError, LineProcess, build_server, make_reader, vm_status
from many_nodes import Group, Swarm

TARGET_MB = 250


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=50, help="concurrent readers (50)")
    parser.add_argument("--entries", type=int, default=10_000, help="entries of the feed (10000)")
    parser.add_argument("--payload-bytes", type=int, default=500, help="payload size (500)")
    parser.add_argument(
        "--per-process", type=int, default=10, help="reader nodes per child process (10)"
    )
    parser.add_argument("--timeout", type=float, default=900, help="give up after (900 s)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="parent of the temporary dirs (default: system)"
    )
    parser.add_argument("--quick", action="store_true", help="10 readers of 2,000 entries")
    args = parser.parse_args()
    if args.quick:
        args.readers, args.entries, args.per_process = 10, 2_000, 5

    spec = ChainSpec(
        label="soak-author",
        posts=args.entries,
        payload_size=args.payload_bytes,
        first_ms=BASE_MS,
        span_ms=30 * DAY_MS,
    )
    feed = identity_for(spec.label).public_key
    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        server_dir = work / "server"
        print(f"building {args.entries:,} entries and {args.readers} readers ...", flush=True)
        build_server(server_dir, [spec], 1)
        dirs = [work / f"reader{i}" for i in range(args.readers)]
        for path in dirs:
            make_reader(path, [feed])
        print()
        print_setup(
            "serve soak (one lndesk serve, concurrent readers)",
            [
                ("served feed", f"{args.entries:,} entries of ~{args.payload_bytes} B"),
                (
                    "readers",
                    f"{args.readers} nodes in {len(chunks(dirs, args.per_process))} processes,"
                    " all dialling at once",
                ),
            ],
        )
        argv = [sys.executable, "-m", "lndesk", "serve", "--data-dir", str(server_dir)]
        serve = LineProcess([*argv, "--port", "0", "--no-mdns"], work / "serve.log", "serve")
        groups: list[Group] = []
        try:
            _, line = serve.wait_for(lambda text: LOOPBACK in text, timeout=300)
            address = line.strip()
            serve.wait_for(lambda text: "stop with" in text, timeout=30)
            started = vm_status(serve.pid)
            first = 0
            for part in chunks(dirs, args.per_process):
                group = Group(part, first, work / f"readers{first}.log")
                groups.append(group)
                first += len(part)
            for group in groups:
                group.wait_started(timeout=300)
            swarm = Swarm(groups)
            everyone = list(range(args.readers))
            began = time.monotonic()
            redials = 0
            dialling = everyone
            for attempt in range(6):  # a dial times out on a loaded machine: again
                replies = swarm.each(
                    "connect",
                    dialling,
                    120,
                    {i: {"address": address} for i in dialling},
                    errors_ok=True,
                )
                dialling = sorted(i for i, r in replies.items() if "error" in r)
                if not dialling:
                    break
                redials += len(dialling)
                if attempt == 5:
                    raise ChildError(f"{len(dialling)} reader(s) could not connect")
            done_at = wait_done(swarm, feed.hex(), args.entries, everyone, args.timeout)
            ended = vm_status(serve.pid)
            output = drain(serve)
        except ChildError as exc:
            print(f"\nFAILED: {exc}")
            print(f"serve log:\n{serve.log_tail()}")
            return 1
        finally:
            for group in groups:
                group.stop()
            serve.terminate()
        refusals = [text for text in output if " refusing " in f" {text}"]
        finished = len(done_at)
        last = max(done_at.values(), default=began) - began
        peak = max(started.get("VmHWM", 0), ended.get("VmHWM", 0)) / 1024
        print_table(
            "summary",
            ["figure", "value"],
            [
                ["readers that hold the whole feed", f"{finished} of {args.readers}"],
                ["dials tried again (timed out)", str(redials)],
                ["refusals (penalties) by the serve node", str(len(refusals))],
                ["serve RSS at start", f"{started.get('VmRSS', 0) / 1024:,.0f} MB"],
                ["serve peak RSS (VmHWM)", f"{peak:,.0f} MB"],
                ["time from the dials to every reader done", f"{last:.1f} s"],
                [
                    "entries served",
                    f"{finished * args.entries:,} ({finished * args.entries / last:,.0f}/s)"
                    if last > 0
                    else "-",
                ],
                [
                    "target",
                    f"all {args.readers} finish, no refusal, peak RSS < {TARGET_MB} MB",
                ],
                [
                    "result",
                    "meets target"
                    if finished == args.readers and not refusals and peak < TARGET_MB
                    else "MISSES TARGET",
                ],
            ],
        )
        for text in refusals[:5]:
            print(f"  {text}")
        if finished < args.readers:
            print("\nthe readers' most frequent log lines (warnings of libp2p and lndesk):")
            for count, text in frequent_lines(sorted(work.glob("readers*.log")))[:8]:
                print(f"  {count:5d}  {text[:150]}")
    return 0


def frequent_lines(paths: list[Path]) -> list[tuple[int, str]]:
    counts: Counter[str] = Counter()
    for path in paths:
        for text in path.read_text(errors="replace").splitlines():
            counts[re.sub(r"12D3Koo\w+|\d{6,}", "*", text)] += 1
    return [(count, text) for text, count in counts.most_common()]


def drain(process: LineProcess) -> list[str]:
    """The lines the process printed that have not been read yet."""
    lines = []
    while not process.lines.empty():
        _, line = process.lines.get_nowait()
        if line is not None:
            lines.append(line)
    return lines


def chunks(items: list[Path], size: int) -> list[list[Path]]:
    return [items[n : n + size] for n in range(0, len(items), size)]


def wait_done(
    swarm: Swarm, feed: str, height: int, nodes: list[int], timeout: float
) -> dict[int, float]:
    """Poll until every node in ``nodes`` stored ``feed`` up to ``height`` (or
    ``timeout``); returns when each was first seen done (monotonic seconds)."""
    started = last = time.monotonic()
    deadline = started + timeout
    done: dict[int, float] = {}
    waiting = list(nodes)
    while waiting and time.monotonic() < deadline:
        replies = swarm.each("arrivals", waiting, 120, {i: {"feed": feed} for i in waiting})
        now = time.monotonic()
        for node, reply in replies.items():
            if max((h for _, _, _, h, _ in reply["stored"]), default=0) >= height:
                done[node] = now
        waiting = [node for node in waiting if node not in done]
        if waiting and int(now - started) // 15 != int(last - started) // 15:
            print(f"  {now - started:.0f} s: {len(done)} of {len(nodes)} done", flush=True)
        last = now
        if waiting:
            time.sleep(3)
    return done


if __name__ == "__main__":
    raise SystemExit(main())
