"""Thread answers: how long an answer takes to reach a reader who follows only the asker.

Four nodes in one process on 127.0.0.1 (no mDNS, DHT or relay): Ann asks a question;
Bo follows Ann and answers it; Cy follows only Ann (two hops from Bo); Di follows nobody
and holds the question alone. Bo dials Ann, Cy dials Ann, Di dials Ann. Bo publishes
``--answers`` answers ``--interval`` seconds apart; for each one the bench records the
time from just before Bo's ``publish`` to the ``EntriesStored`` event of Cy that stored
it (it travels on Ann's inbox topic: docs/protocol.md 32.5). Then Di opens the thread:
the time of one ``fetch_thread`` that brings every answer (docs/protocol.md 32).

All nodes share one trio loop (and this machine's cores), so the figures include the
other nodes' work; they are an upper bound of what separate processes would show.

    python bench/thread_answers.py               # 20 answers, 200 ms apart
    python bench/thread_answers.py --answers 5   # quicker
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import trio

from lndesk.app.node import AppNode
from lndesk.app.service import Service, create_identity
from lndesk.content import Post, Reply
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.keytext import key_to_text
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.events import EntriesStored, Event

WAIT = 30.0


def config() -> NodeConfig:
    return NodeConfig(
        listen_host="127.0.0.1",
        listen_port=0,
        mdns=False,
        dht=False,
        relay_client=False,
        dht_loopback=True,  # every node of the bench is on this machine
    )


class Arrivals:
    """perf_counter time of every EntriesStored of one node, by (feed, height reached)."""

    def __init__(self) -> None:
        self.seen: dict[bytes, list[tuple[float, int, str]]] = {}
        self.changed = trio.Event()

    def __call__(self, event: Event) -> None:
        if isinstance(event, EntriesStored):
            self.seen.setdefault(event.feed, []).append(
                (time.perf_counter(), event.max_seq, event.via)
            )
            self.changed.set()

    async def wait_seq(self, feed: bytes, seq: int) -> tuple[float, str]:
        with trio.fail_after(WAIT):
            while True:
                for at, max_seq, via in self.seen.get(feed, []):
                    if max_seq >= seq:
                        return at, via
                self.changed = trio.Event()
                await self.changed.wait()


def address(app: AppNode) -> str:
    return next(a for a in app.node.addresses() if "/127.0.0.1/" in a)


async def run(work: Path, answers: int, interval: float) -> None:
    names = ("ann", "bo", "cy", "di")
    for name in names:
        create_identity(work / name)
    with ExitStack() as stack:
        services = [stack.enter_context(Service(work / name)) for name in names]
        arrivals = [Arrivals() for _ in names]
        apps = [AppNode(s, config(), a) for s, a in zip(services, arrivals, strict=True)]
        ann, bo, cy, di = apps
        async with trio.open_nursery() as nursery:
            for app in apps:
                await nursery.start(app.run)
            ann_key = ann.service.public_key
            for reader in (bo, cy):
                await reader.publish(lambda s: s.follow(key_to_text(ann_key)))
            for other in (bo, cy, di):
                await other.node.connect(address(ann))
            with trio.fail_after(WAIT):
                await bo.node.gossip.wait_for_inbox_peers(ann_key, 1)
                await ann.node.gossip.wait_for_inbox_peers(ann_key, 2)
            question: Entry = await ann.publish(lambda s: s.publish(Post("Why?", question=True)))
            for reader in (1, 2):
                await arrivals[reader].wait_seq(ann_key, question.seq)
            root = ref_of(question)
            bo_key = bo.service.public_key
            lags: list[float] = []
            vias: dict[str, int] = {}
            for number in range(answers + 1):  # the first one warms up
                sent = time.perf_counter()
                entry: Entry = await bo.publish(
                    lambda s, n=number: s.publish(Reply(f"answer {n}", root, root))
                )
                at, via = await arrivals[2].wait_seq(bo_key, entry.seq)
                if number:
                    lags.append((at - sent) * 1000)
                    vias[via] = vias.get(via, 0) + 1
                await trio.sleep(interval)
            assert await di.node.fetch_refs([root], ann_key) == 1
            started = time.perf_counter()
            result = await di.node.fetch_thread(root)
            fetch_ms = (time.perf_counter() - started) * 1000
            nursery.cancel_scope.cancel()
    print(f"answers: {answers}, {interval * 1000:.0f} ms apart, 4 nodes in one process")
    print(
        f"answer published -> stored at a reader two hops away who follows only the asker: "
        f"median {statistics.median(lags):.1f} ms, min {min(lags):.1f} ms, "
        f"max {max(lags):.1f} ms (arrived via {vias})"
    )
    print(
        f"thread opened by a reader holding only the question: {result.stored} of "
        f"{result.reported} answers fetched in {fetch_ms:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=20, help="timed answers (default 20)")
    parser.add_argument(
        "--interval", type=float, default=0.2, help="seconds between answers (default 0.2)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lndesk-bench-") as tmp:
        trio.run(run, Path(tmp), args.answers, args.interval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
