"""Event-loop lag and an honest reader's throughput on a node under decoding floods.

Three OS processes on 127.0.0.1, each a real libp2p host: a **server** node (a whole
``AppNode``) holding one feed per phase; an honest **reader** node that connects to
it once at the start and, in each phase, follows that phase's feed and waits until it
holds every entry; and, during a flood phase, an **attacker** process. The server runs
a trio task that sleeps 10 ms in a loop and records how late each wake-up is (its
event-loop lag). Phases, in one run:

* ``before``: no flood (the honest sync alone);
* ``nested-want``: workers with throwaway peer ids, each opening 2 sync streams and
  sending a 2 MiB ``want`` whose feeds array claims 2^31 - 1 items followed by 2 MiB
  of empty arrays; a new id for each round (a refused id is penalised);
* ``want-5000``: workers that keep sending valid ``want`` frames of 5,000 random feeds
  (2 streams each, a new session per want; a new id when refused);
* ``new-ids``: workers that each make a fresh peer id, connect, run one small ``want``
  session and go, as fast as they can.

Printed per phase: the server's lag p50 / p99 / max (ms) over the phase, the reader's
own lag p99 / max (it decodes, checks and stores the batches), how long each of the
reader's ``Store.ingest`` calls held its thread (wall p50 / max and the most thread CPU
one took: the wall time also counts other processes on the cores), the reader's seconds and
entries/s for its feed, and what the attackers achieved (sessions answered, refused,
reset). ``--limit-loopback`` applies the per-address limits (protocol section 24.1) to
the loopback connections too; the honest reader then shares its address with the
attackers, which a real attacker elsewhere on the network does not.

    python bench/flood_lag.py                 # 20,000 entries per phase
    python bench/flood_lag.py --quick         # 5,000 entries per phase, short floods
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import BASE_MS, DAY_MS, ChainSpec, make_chain, percentile, print_setup, print_table
from _net import LineProcess, NodeProcess

from lndesk.app.service import Service, create_identity

HERE = Path(__file__).resolve()
FLOODS = ("nested-want", "want-5000", "new-ids")
MIB = 1024 * 1024


# --- the parent ---------------------------------------------------------------------


class Child(NodeProcess):
    """A child of this script (server or reader role) driven by JSON lines."""

    def __init__(self, argv: list[str], log_path: Path, name: str) -> None:
        LineProcess.__init__(self, argv, log_path, name)
        self.info = {}
        self.address = ""
        self.wait_started()


def role_argv(role: str, *args: str) -> list[str]:
    return [sys.executable, str(HERE), "--role", role, *args]


def build_server(data_dir: Path, entries: int, phases: list[str]) -> list[bytes]:
    """A data dir holding one feed of ``entries`` posts per phase; returns the feeds."""
    create_identity(data_dir)
    feeds = []
    with Service(data_dir) as service:
        for phase in phases:
            spec = ChainSpec(f"flood-{phase}", entries, 300, BASE_MS, DAY_MS)
            author, items = make_chain(spec)
            for start in range(0, len(items), 2000):
                service.store.ingest(author, items[start : start + 2000])
            feeds.append(author)
    return feeds


def lag_cells(samples: list[float]) -> list[str]:
    if not samples:
        return ["-", "-", "-"]
    return [f"{percentile(samples, p) * 1000:.1f}" for p in (50, 99)] + [
        f"{max(samples) * 1000:.0f}"
    ]


def ingest_cells(ingests: list[list[float]]) -> str:
    """The reader's ``Store.ingest`` calls: wall p50/max, then the thread's CPU max (ms)."""
    if not ingests:
        return "-"
    walls = [wall for wall, _ in ingests]
    cpu = max(cpu for _, cpu in ingests)
    return f"{percentile(walls, 50) * 1000:.0f}/{max(walls) * 1000:.0f} cpu {cpu * 1000:.0f}"


def run(args: argparse.Namespace) -> int:
    phases = ["before", *(f for f in FLOODS if f in args.floods)]
    work = Path(tempfile.mkdtemp(prefix="flood-lag-", dir=args.dir))
    print_setup(
        "flood_lag",
        [
            ("entries", f"{args.entries} per phase, 300-byte payloads"),
            ("floods", ", ".join(phases[1:])),
            ("workers", f"{args.workers} attacker tasks, 2 streams each"),
            ("min flood", f"{args.seconds} s"),
            ("limit lo", args.limit_loopback),
        ],
    )
    started = time.perf_counter()
    feeds = build_server(work / "server", args.entries, phases)
    print(f"setup: {len(feeds)} feeds built in {time.perf_counter() - started:.1f} s")
    create_identity(work / "reader")
    server_args = ["--data-dir", str(work / "server")]
    if args.limit_loopback:
        server_args.append("--limit-loopback")
    server = Child(role_argv("server", *server_args), work / "server.log", "server")
    reader = Child(
        role_argv("reader", "--data-dir", str(work / "reader")), work / "reader.log", "reader"
    )
    rows = []
    try:
        reader.call("connect", address=server.address)
        for phase, feed in zip(phases, feeds, strict=True):
            rows.append(run_phase(args, work, server, reader, phase, feed))
    finally:
        reader.stop()
        server.stop()
    print_table(
        "Event-loop lag of the server and the honest reader's sync, per phase",
        [
            "phase",
            "lag p50 ms",
            "lag p99 ms",
            "lag max ms",
            "samples",
            "reader lag p99/max",
            "reader ingest ms",
            "reader s",
            "entries/s",
            "attack sessions",
            "penalties",
        ],
        rows,
    )
    print(f"\nlogs and data in {work}" if args.keep else "")
    if not args.keep:
        import shutil  # noqa: PLC0415

        shutil.rmtree(work, ignore_errors=True)
    return 0


def run_phase(
    args: argparse.Namespace,
    work: Path,
    server: Child,
    reader: Child,
    phase: str,
    feed: bytes,
) -> list[str]:
    server.call("lag")  # restart the lag records
    reader.call("lag")
    before = server.call("counters")
    attacker: LineProcess | None = None
    began = time.perf_counter()
    if phase != "before":
        attacker = LineProcess(
            role_argv(
                "attack",
                "--kind",
                phase,
                "--target",
                server.address,
                "--workers",
                str(args.workers),
            ),
            work / f"attack-{phase}.log",
            f"attacker {phase}",
        )
        attacker.wait_for(lambda line: '"event": "flooding"' in line, 60)
        time.sleep(args.warmup)
    sync = reader.call(
        "follow_sync",
        timeout=args.limit + 30,
        feed=feed.hex(),
        total=args.entries,
        limit=args.limit,
    )
    if attacker is not None:
        time.sleep(max(0.0, args.seconds - (time.perf_counter() - began)))
    lag = server.call("lag")["samples"]
    reader_calls = reader.call("lag")
    reader_lag = reader_calls["samples"]
    ingests = reader_calls["ingests"]
    outcome = "-"
    if attacker is not None:
        assert attacker.proc.stdin is not None
        attacker.proc.stdin.close()
        _, line = attacker.wait_for(lambda text: '"event": "done"' in text, 60)
        done = json.loads(line)
        outcome = " ".join(f"{k}:{v}" for k, v in sorted(done["outcomes"].items())) or "none"
        attacker.terminate()
    after = server.call("counters")
    shown = {k: v for k, v in after.items() if k != "reply"}
    print(f"{phase}: server counters after the phase: {shown}", flush=True)
    seconds = sync.get("seconds")
    held = sync.get("held", 0)
    return [
        phase,
        *lag_cells(lag),
        str(len(lag)),
        "/".join(lag_cells(reader_lag)[1:]),
        ingest_cells(ingests),
        f"{seconds:.2f}" if seconds is not None else f"timeout ({held} held)",
        f"{args.entries / seconds:,.0f}" if seconds else "-",
        outcome,
        str(after["penalties"] - before["penalties"]),
    ]


# --- the children -------------------------------------------------------------------


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def node_config(limit_loopback: bool) -> Any:
    from lndesk.p2p.config import Limits, NodeConfig  # noqa: PLC0415

    names = {f.name for f in dataclasses.fields(Limits)}
    limits = Limits(
        **({"limit_loopback": True} if limit_loopback and "limit_loopback" in names else {})
    )
    return NodeConfig(
        listen_host="127.0.0.1",
        listen_port=0,
        mdns=False,
        dht=False,
        relay_client=False,
        dht_loopback=True,  # every process of the bench is on this machine
        limits=limits,
    )


async def command_loop(nursery: Any, handle: Any) -> None:
    """Run ``handle(cmd)`` for each JSON line on stdin until ``stop`` or end of input."""
    import trio  # noqa: PLC0415

    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    buffer = b""
    while True:
        chunk = await stdin.receive_some(65536)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if not line.strip():
                continue
            cmd = json.loads(line)
            if cmd.get("cmd") == "stop":
                return
            nursery.start_soon(handle, cmd)


async def node_child(role: str, data_dir: Path, limit_loopback: bool) -> None:
    import trio  # noqa: PLC0415

    from lndesk.app.node import AppNode  # noqa: PLC0415
    from lndesk.keytext import key_to_text  # noqa: PLC0415
    from lndesk.p2p.events import PeerPenalised  # noqa: PLC0415

    penalties = 0
    changed = trio.Event()

    def on_event(event: Any) -> None:
        nonlocal penalties, changed
        if isinstance(event, PeerPenalised):
            penalties += 1
        changed.set()
        changed = trio.Event()

    lag: list[float] = []

    async def watch_lag() -> None:
        while True:
            began = trio.current_time()
            await trio.sleep(0.01)
            lag.append(trio.current_time() - began - 0.01)

    with Service(data_dir) as service:
        app = AppNode(service, node_config(limit_loopback), on_event)
        # How long each Store.ingest holds the node's thread: wall and the thread's CPU.
        ingests: list[tuple[float, float]] = []
        store_ingest = service.store.ingest

        def timed_ingest(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return store_ingest(*args, **kwargs)
            finally:
                ingests.append((time.perf_counter() - wall, time.thread_time() - cpu))

        service.store.ingest = timed_ingest  # type: ignore[method-assign]

        async def follow_sync(cmd: dict[str, Any]) -> dict[str, Any]:
            feed, total = bytes.fromhex(cmd["feed"]), int(cmd["total"])
            began = time.perf_counter()
            await app.publish(lambda s: s.follow(key_to_text(feed)))
            with trio.move_on_after(float(cmd["limit"])):
                while service.store.feed_state(feed).height < total:
                    await changed.wait()
                return {"seconds": time.perf_counter() - began, "held": total}
            return {"seconds": None, "held": service.store.feed_state(feed).height}

        def counters() -> dict[str, Any]:
            sessions = getattr(app.node.sync_server, "sessions", None)
            admission = getattr(app.node, "admission", None)
            network: Any = app.node.host.get_network()
            limiter = getattr(network, "_inbound_limiter", None)
            return {
                "connections": len(app.node.host.get_connected_peers()),
                "inbound": getattr(limiter, "borrowed_tokens", None),
                "penalties": penalties,
                "busy": getattr(sessions, "busy_total", None),
                "refused": dict(admission.refused) if admission is not None else None,
            }

        async def handle(cmd: dict[str, Any]) -> None:
            name = cmd.get("cmd", "")
            try:
                if name == "connect":
                    await app.node.connect(cmd["address"])
                    reply: dict[str, Any] = {}
                elif name == "follow_sync":
                    reply = await follow_sync(cmd)
                elif name == "lag":
                    reply = {"samples": list(lag), "ingests": list(ingests)}
                    lag.clear()
                    ingests.clear()
                elif name == "counters":
                    reply = counters()
                else:
                    reply = {"error": f"unknown command {name!r}"}
            except Exception as exc:  # reported to the parent, which stops
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            emit({"reply": name, **reply})

        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            nursery.start_soon(watch_lag)
            emit({"event": "started", "addresses": app.node.addresses(), "seconds": 0})
            await command_loop(nursery, handle)
            app.stop()
            nursery.cancel_scope.cancel()


def flood_frame(kind: str, rng: random.Random) -> bytes:
    from lndesk.p2p import wire  # noqa: PLC0415

    if kind == "nested-want":
        head = b"\xa2\x61t\x64want\x65feeds\x9a\x7f\xff\xff\xff"
        body = head + b"\x80" * (2 * MIB - len(head))  # exactly max_frame
        return wire.FRAME_HEAD.pack(len(body)) + body
    count = 5000 if kind == "want-5000" else 1
    feeds = tuple((rng.randbytes(32), rng.randrange(1, 1000)) for _ in range(count))
    return wire.encode_frame(wire.Want(feeds))


async def attack_child(kind: str, target: str, workers: int) -> None:
    import trio  # noqa: PLC0415
    from libp2p.peer.peerinfo import info_from_p2p_addr  # noqa: PLC0415
    from multiaddr import Multiaddr  # noqa: PLC0415

    from lndesk.p2p import wire  # noqa: PLC0415
    from lndesk.p2p.host import build_host, serving  # noqa: PLC0415
    from lndesk.p2p.sync import SYNC_PROTOCOL  # noqa: PLC0415

    info = info_from_p2p_addr(Multiaddr(target))
    config = node_config(False)
    outcomes: Counter[str] = Counter()
    rng = random.Random()  # fresh ids in every run and phase
    frames = {kind: flood_frame(kind, rng)} if kind != "want-5000" else {}

    async def one_session(host: Any) -> bool:
        """One stream: send the flood frame, read the answer. False: get a new id."""
        frame = frames.get(kind) or flood_frame(kind, rng)
        try:
            stream = await host.new_stream(info.peer_id, [SYNC_PROTOCOL])
            with contextlib.suppress(Exception):
                await stream.write(frame)
                outcomes["sent"] += 1
            with trio.fail_after(30):
                answer = await wire.FrameStream(stream, 4 * MIB).receive()
            with contextlib.suppress(Exception):
                await stream.close()
        except Exception as exc:  # reset, refused, timed out: the server said no
            outcomes[type(exc).__name__] += 1
            return False
        name = getattr(answer, "code", None) or type(answer).__name__.lower()
        outcomes[name] += 1
        return name == "have"

    async def session_into(host: Any, results: list[bool]) -> None:
        results.append(await one_session(host))

    async def worker() -> None:
        while True:
            host = build_host(rng.randbytes(32), config)
            try:
                async with serving(host, config):
                    await host.connect(info)
                    keep = kind == "want-5000"
                    while True:
                        results: list[bool] = []
                        async with trio.open_nursery() as nursery:
                            for _ in range(1 if kind == "new-ids" else 2):
                                nursery.start_soon(session_into, host, results)
                        if not (keep and all(results)):
                            break
            except Exception as exc:  # a refused connection, a reset: next id
                outcomes[f"connect-{type(exc).__name__}"] += 1
            outcomes["ids"] += 1
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        for _ in range(workers):
            nursery.start_soon(worker)
        emit({"event": "flooding"})
        stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
        while await stdin.receive_some(1024):
            pass
        nursery.cancel_scope.cancel()
    emit({"event": "done", "outcomes": dict(outcomes)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--role", choices=["parent", "server", "reader", "attack"], default="parent"
    )
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--kind", choices=FLOODS)
    parser.add_argument("--target")
    parser.add_argument("--entries", type=int, default=20_000, help="entries per phase (20000)")
    parser.add_argument("--floods", nargs="*", default=list(FLOODS), choices=FLOODS)
    parser.add_argument("--workers", type=int, default=10, help="attacker tasks (10)")
    parser.add_argument("--seconds", type=float, default=None, help="shortest flood (8 s)")
    parser.add_argument("--warmup", type=float, default=1.0, help="flood before the sync (1 s)")
    parser.add_argument("--limit", type=float, default=60.0, help="give up a sync after (60 s)")
    parser.add_argument("--limit-loopback", action="store_true", help="address limits on lo")
    parser.add_argument("--quick", action="store_true", help="5,000 entries, 5 s floods")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs and logs")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary dir goes")
    args = parser.parse_args()
    if args.quick:
        args.entries = 5000
    if args.seconds is None:
        args.seconds = 5.0 if args.quick else 8.0
    import trio  # noqa: PLC0415

    if args.role == "parent":
        return run(args)
    if args.role == "attack":
        trio.run(attack_child, args.kind, args.target, args.workers)
        return 0
    trio.run(node_child, args.role, args.data_dir, args.limit_loopback)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
