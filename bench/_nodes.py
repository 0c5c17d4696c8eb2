"""A child process running several benchmark nodes, driven by JSON lines (many_nodes.py).

Not part of lndesk. ``python bench/_nodes.py [--always-on] DIR [DIR ...]`` runs one whole
:class:`lndesk.app.node.AppNode` per data dir in one trio loop, on 127.0.0.1, any
port, without mDNS, DHT or relay (``--always-on``: with ``lndesk serve``'s connection
limits). Like ``_net.py``, it prints ``{"event": "started",
"nodes": [{"key", "address"}...]}`` once every node listens and answers each command
line with one ``{"reply": <cmd>, ...}`` line. Commands name a node by its index
(``"node"``); ``rusage`` is the whole process's.

Commands: ``connect``, ``wait_topic_peers``, ``wait_mesh``, ``publish_series``,
``arrivals``, ``rusage``, ``wait_synced``, ``profile`` (start; with ``path``: stop and write),
``status``, ``rounds`` (the node's anti-entropy rounds so far), ``stop``.
"""

from __future__ import annotations

import cProfile
import json
import logging
import os
import resource
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import trio

from lndesk.app.node import AppNode
from lndesk.app.service import Service
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.events import EntriesStored
from lndesk.p2p.gossip import feed_topic
from lndesk.p2p.watch import watch_connections

_log = logging.getLogger("bench.nodes")


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class _Arrivals:
    """Every EntriesStored event of one node: (wall-clock ns, feed hex, count, height, via)."""

    def __init__(self) -> None:
        self.stored: list[tuple[int, str, int, int, str]] = []

    def __call__(self, event: object) -> None:
        if isinstance(event, EntriesStored):
            self.stored.append(
                (time.time_ns(), event.feed.hex(), event.count, event.height, event.via)
            )


async def _run(dirs: list[Path], always_on: bool) -> None:
    config = NodeConfig(
        listen_host="127.0.0.1",
        listen_port=0,
        mdns=False,
        dht=False,
        relay_client=False,
        dht_loopback=True,  # every node of the bench is on this machine
    )
    if always_on:
        config = config.always_on()  # lndesk serve's connection limits
    with ExitStack() as stack:
        services = [stack.enter_context(Service(d)) for d in dirs]
        recorders = [_Arrivals() for _ in dirs]
        # CPU time, not wall time: on a loaded machine a wall-clock profile charges
        # whatever ran when the process was preempted.
        profiler = cProfile.Profile(time.process_time)
        apps = [AppNode(s, config, r) for s, r in zip(services, recorders, strict=True)]

        async def publish_series(app: AppNode, cmd: dict[str, Any]) -> dict[str, Any]:
            count, interval = int(cmd["count"]), float(cmd["interval"])
            posts = []
            next_at = trio.current_time()
            for number in range(count):
                await trio.sleep_until(next_at)
                next_at += interval
                sent_ns = time.time_ns()
                text = f"{cmd.get('label', 'probe')} {number}"
                entry = await app.publish(lambda s, text=text: s.post(text))
                posts.append([entry.seq, sent_ns])
            return {"posts": posts}

        async def handle(cmd: dict[str, Any]) -> None:
            name = cmd.get("cmd", "")
            try:
                index = int(cmd.get("node", 0))
                app = apps[index]
                if name == "connect":
                    key = await app.node.connect(cmd["address"])
                    reply: dict[str, Any] = {"key": key.hex() if key else None}
                elif name == "wait_topic_peers":
                    with trio.fail_after(float(cmd.get("timeout", 60))):
                        await app.node.gossip.wait_for_topic_peers(
                            bytes.fromhex(cmd["feed"]), int(cmd["n"])
                        )
                    reply = {}
                elif name == "wait_mesh":
                    topic = feed_topic(bytes.fromhex(cmd["feed"]))
                    gossip = app.node.gossip
                    with trio.fail_after(float(cmd.get("timeout", 60))):
                        while not gossip.router.mesh.get(topic):
                            await trio.sleep(0.05)
                    reply = {"mesh": len(gossip.router.mesh.get(topic, ()))}
                elif name == "publish_series":
                    reply = await publish_series(app, cmd)
                elif name == "arrivals":
                    feed = cmd["feed"]
                    reply = {"stored": [e for e in recorders[index].stored if e[1] == feed]}
                elif name == "rusage":
                    usage = resource.getrusage(resource.RUSAGE_SELF)
                    reply = {"cpu": usage.ru_utime + usage.ru_stime}
                elif name == "profile":
                    # The whole process (one trio thread): start, or stop and write to "path".
                    if cmd.get("path"):
                        profiler.disable()
                        profiler.dump_stats(cmd["path"])
                    else:
                        profiler.enable()
                    reply = {}
                elif name == "wait_synced":
                    # No sync session of the node running (e.g. a publish's holder checks).
                    await app.node.wait_synced(float(cmd.get("seconds", 60)))
                    reply = {}
                elif name == "status":
                    feed = bytes.fromhex(cmd["feed"])
                    reply = {
                        "peers": len(app.node.host.get_connected_peers()),
                        "topic_peers": app.node.gossip.topic_peers(feed),
                    }
                elif name == "rounds":
                    # The node's anti-entropy rounds so far (lndesk.p2p.visit.VisitCounts).
                    reply = asdict(app.node.visits.counts)
                else:
                    reply = {"error": f"unknown command {name!r}"}
            except Exception as exc:  # reported to the parent, which stops the benchmark
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            _emit({"reply": name, "node": cmd.get("node", 0), **reply})

        async with trio.open_nursery() as nursery:
            for app in apps:
                await nursery.start(app.run)
                if os.environ.get("LNDESK_BENCH_LOG"):
                    me = app.node.peer_id[-6:]
                    watch_connections(
                        app.node.host,
                        lambda peer, _a, me=me: _log.info("%s: connected %s", me, str(peer)[-6:]),
                        lambda peer, _a, me=me: _log.info("%s: lost %s", me, str(peer)[-6:]),
                    )
            nodes = []
            for app, service in zip(apps, services, strict=True):
                address = next(a for a in app.node.addresses() if "/ip4/127.0.0.1/" in a)
                nodes.append({"key": service.public_key.hex(), "address": address})
            _emit({"event": "started", "nodes": nodes})
            stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
            buffer = b""
            stopping = False
            while not stopping:
                chunk = await stdin.receive_some(65536)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not line.strip():
                        continue
                    cmd = json.loads(line)
                    if cmd.get("cmd") == "stop":
                        stopping = True
                        break
                    nursery.start_soon(handle, cmd)
            for app in apps:
                app.stop()
            nursery.cancel_scope.cancel()


def main() -> int:
    if os.environ.get("LNDESK_BENCH_LOG"):
        # Which side closes a connection, and why: liveness, pruning, dials.
        logging.basicConfig(
            level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
        for name in os.environ["LNDESK_BENCH_LOG"].split(","):
            logging.getLogger(name).setLevel(logging.DEBUG if name.endswith("!") else logging.INFO)
    args = sys.argv[1:]
    always_on = "--always-on" in args
    dirs = [Path(arg) for arg in args if arg != "--always-on"]
    if not dirs:
        print("usage: _nodes.py [--always-on] DATA_DIR [DATA_DIR ...]", file=sys.stderr)
        return 2
    try:
        trio.run(_run, dirs, always_on)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
