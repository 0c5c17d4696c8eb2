"""Sync over real links: the same whole sync over loopback and over 50 ms and 200 ms RTT.

This kernel has no netem, so a link is a delaying TCP proxy on loopback
(``_delay_proxy.py``: each direction delayed by half the RTT, no bandwidth cap). The
setup is ``sync_throughput.py``'s (``_sync.py``): signed chains ingested into a server
data dir, a server node in a child process, and per run a fresh reader node (another
child) that dials the server, directly or through a proxy, and holds every entry when
the clock stops. Runs are interleaved (every link and protocol once per round) so that the
shared machine's noise falls on all of them alike.

Each link is run with a reader keeping 8 gets in flight (``/lndesk/sync/2``) and, for
comparison, with one (``--gets 1``: ``/lndesk/sync/1``, one request at a time).
Reported per link and protocol: the median seconds, entries/s and the ratio to the
same protocol's loopback time; target: ``/2`` at 200 ms RTT within 1.5x of loopback.

    python bench/sync_links.py                  # 100,000 entries, 2 rounds
    python bench/sync_links.py --quick          # 10,000 entries, 1 round
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _common import print_setup, print_table
from _delay_proxy import DelayProxy
from _net import ChildError, NodeProcess
from _sync import add_sync_options, parse_sync_args, prepare_sync_server, reader_node, sync_all

TARGET = 1.5
RTTS_MS = (0, 50, 200)


def through(address: str, port: int) -> str:
    """``address`` (``/ip4/127.0.0.1/tcp/P/p2p/ID``) with the TCP port ``port``."""
    parts = address.split("/")
    parts[parts.index("tcp") + 1] = str(port)
    return "/".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every run (2)")
    parser.add_argument(
        "--oldest-first", action="store_true", help="the reader asks oldest entries first"
    )
    add_sync_options(parser, timeout=900, logs="authors' feeds")
    args = parse_sync_args(parser)
    if args.quick:
        args.rounds = 1

    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        data = prepare_sync_server(work / "server", args)
        total = data.total
        print_setup(
            "sync over links (two nodes, loopback and a delaying proxy, full authentication)",
            [
                ("entries", f"{total:,} in {len(data.feeds)} feeds ({data.how})"),
                ("order", "oldest first" if args.oldest_first else "newest first"),
                ("links", ", ".join(f"{rtt} ms RTT" for rtt in RTTS_MS)),
                ("rounds", f"{args.rounds}, interleaved"),
            ],
        )
        server = None
        proxies: dict[int, DelayProxy] = {}
        seconds: dict[tuple[int, int], list[float]] = {}
        cpu: dict[tuple[int, int], list[float]] = {}
        try:
            server = NodeProcess(work / "server", work / "server.log", "server")
            port = int(server.address.split("/")[4])
            proxies = {rtt: DelayProxy(port, rtt / 2000) for rtt in RTTS_MS if rtt}
            number = 0
            for _round in range(args.rounds):
                for gets in (8, 1):
                    for rtt in RTTS_MS:
                        number += 1
                        address = (
                            server.address
                            if not rtt
                            else through(server.address, proxies[rtt].port)
                        )
                        with reader_node(
                            work,
                            f"reader-{number}",
                            data.feeds,
                            newest_first=not args.oldest_first,
                            gets=gets,
                        ) as reader:
                            result = sync_all(reader, address, data, args.timeout)
                        if result["held"] < total:
                            print(f"WARNING: the reader holds {result['held']:,} of {total:,}")
                        seconds.setdefault((gets, rtt), []).append(result["seconds"])
                        cpu.setdefault((gets, rtt), []).append(result["cpu"])
                        print(
                            f"  round {_round + 1}: {'/2, 8 gets' if gets > 1 else '/1, 1 get '}"
                            f" {rtt:>3} ms RTT  {result['seconds']:7.2f} s"
                            f"  {total / result['seconds']:>8,.0f} entries/s",
                            flush=True,
                        )
        except ChildError as exc:
            print(f"\nFAILED: {exc}")
            return 1
        finally:
            for proxy in proxies.values():
                proxy.close()
            if server is not None:
                server.stop()

        rows = []
        for gets in (8, 1):
            base = statistics.median(seconds[(gets, 0)])
            for rtt in RTTS_MS:
                median = statistics.median(seconds[(gets, rtt)])
                rows.append(
                    [
                        "/lndesk/sync/2, 8 gets" if gets > 1 else "/lndesk/sync/1, 1 get",
                        f"{rtt} ms",
                        f"{median:.2f}",
                        f"{total / median:,.0f}",
                        f"{median / base:.2f}x",
                        f"{statistics.median(cpu[(gets, rtt)]) / total * 1e6:.1f}",
                    ]
                )
        print_table(
            "medians",
            ["protocol", "RTT", "seconds", "entries/s", "/ loopback", "reader CPU us/entry"],
            rows,
        )
        worst = statistics.median(seconds[(8, RTTS_MS[-1])]) / statistics.median(seconds[(8, 0)])
        print(
            f"\ntarget: /2 at {RTTS_MS[-1]} ms RTT <= {TARGET}x loopback: "
            + ("met" if worst <= TARGET else f"NOT MET ({worst:.2f}x)")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
