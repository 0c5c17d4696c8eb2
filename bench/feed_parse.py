"""What parsing one fetched web feed costs, here and in the parser's child process.

* in-process: lndesk.feeds.parse.parse_feed called on this thread (what a refresh did
  before parsing moved to a child process);
* child process: lndesk.feeds.worker.ParseWorker.parse, the document sent down a pipe and
  the parsed feed sent back (what every refresh does now), with the child already running;
* child start: one 'spawn' start, paid at the first parse and after a parse was stopped.

The feed is bench/feeds.py's document (50 items of a few lines of HTML), and one of 500
items. p50 / p99 / max over --runs parses each, with the machine's load average.

    python bench/feed_parse.py [--runs 50]
"""

from __future__ import annotations

import argparse
import os
import time

import trio
from _common import LATENCY_HEADER, latency_row, print_setup, print_table
from feeds import feed_document

from lndesk.feeds.parse import parse_feed
from lndesk.feeds.worker import ParseWorker

URL = "https://feed0.example/feed.xml"


async def child_parses(body: bytes, runs: int) -> tuple[list[float], list[float]]:
    starts: list[float] = []
    parses: list[float] = []
    for _ in range(3):
        worker = ParseWorker()
        began = time.perf_counter()
        await worker.parse(body, URL)
        starts.append(time.perf_counter() - began)
        worker.close()
    worker = ParseWorker()
    await worker.parse(body, URL)
    for _ in range(runs):
        began = time.perf_counter()
        await worker.parse(body, URL)
        parses.append(time.perf_counter() - began)
    worker.close()
    return starts, parses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    print_setup(
        "web feed parse cost",
        [("runs", args.runs), ("load average (1 min)", f"{os.getloadavg()[0]:.1f}")],
    )
    rows = []
    for items in (50, 500):
        body = feed_document(0, items)
        here = []
        for _ in range(args.runs):
            began = time.perf_counter()
            parse_feed(body, URL)
            here.append(time.perf_counter() - began)
        starts, child = trio.run(child_parses, body, args.runs)
        label = f"{items} items, {len(body) // 1024} KB"
        rows.append(latency_row(f"{label}: in-process", here))
        rows.append(latency_row(f"{label}: child process", child))
        rows.append(latency_row(f"{label}: child start + first parse", starts))
    print_table("parse one feed", LATENCY_HEADER, rows)


if __name__ == "__main__":
    main()
