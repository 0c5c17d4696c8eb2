"""Helpers shared by the network benchmarks: nodes in child processes, data dirs.

Not part of lndesk. Each benchmark node runs in its own OS process (``python
bench/_net.py node --data-dir DIR``): a whole :class:`lndesk.app.node.AppNode` on
127.0.0.1, any port, without mDNS, DHT or relay (the settings the p2p tests use). The
parent drives it with one JSON object per line on the child's stdin and reads one JSON
object per line from its stdout:

* at start the child prints ``{"event": "started", "peer_id", "key", "addresses",
  "seconds"}`` (``seconds``: from process start until listening);
* every command gets one reply, ``{"reply": <cmd>, ...}``, or ``{"reply": <cmd>,
  "error": "..."}``; commands run concurrently, so a long wait does not block others.

Commands (see :func:`_handle`): ``connect``, ``sync_until``, ``rusage``, ``status``,
``wait_topic_peers``, ``wait_mesh``, ``publish_series``, ``arrivals``, ``stop``.
The child's stderr (lndesk's warnings) goes to a log file the parent names.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from _common import ROOT, ChainSpec, Item, make_chain, print_setup_line

from lndesk.app.service import Service, create_identity
from lndesk.keytext import key_to_text

HERE = Path(__file__).resolve().parent
LOOPBACK = "/ip4/127.0.0.1/"
BATCH = 2000


# --- data directories (parent side, no network) ----------------------------------


def make_reader(data_dir: Path, feeds: Iterable[bytes]) -> None:
    """A fresh identity in ``data_dir`` that follows ``feeds`` (one follow entry each)."""
    create_identity(data_dir)
    with Service(data_dir) as service:
        for feed in feeds:
            service.follow(key_to_text(feed))


def ingest_chains(
    data_dir: Path,
    chains: Iterable[tuple[bytes, list[Item]]],
    *,
    batch: int = BATCH,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[int, float]:
    """Store.ingest every chain in batches; returns (entries stored, seconds ingesting).

    ``chains`` may be a lazy iterator (signing in a pool while this ingests); only the
    time inside ``Store.ingest`` is counted.
    """
    stored = 0
    seconds = 0.0
    with Service(data_dir) as service:
        store = service.store
        for author, items in chains:
            for start in range(0, len(items), batch):
                began = time.perf_counter()
                result = store.ingest(author, items[start : start + batch])
                seconds += time.perf_counter() - began
                stored += result.stored
            if progress is not None:
                progress(stored, seconds)
    return stored, seconds


def index_all_text(data_dir: Path, chunk: int = 5000) -> tuple[int, float]:
    """Index every staged document of a data dir's store (what its node's background
    indexer would do once running); returns (documents, seconds)."""
    with Service(data_dir) as service:
        store = service.store
        documents = store.text_pending()
        started = time.perf_counter()
        while store.index_text(chunk):
            pass
        return documents, time.perf_counter() - started


def build_server(
    data_dir: Path,
    specs: Sequence[ChainSpec],
    workers: int,
    *,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[list[bytes], int, float, float]:
    """An identity in ``data_dir`` that follows every spec's author and holds its chain.

    Chains are signed in a pool of ``workers`` and ingested as they arrive (memory stays
    at a few chains). Returns (feeds, entries stored, seconds, seconds in ingest).
    """
    import multiprocessing  # noqa: PLC0415

    from _common import identity_for  # noqa: PLC0415

    feeds = [identity_for(spec.label).public_key for spec in specs]
    make_reader(data_dir, feeds)
    started = time.perf_counter()
    if workers <= 1:
        stored, ingest_s = ingest_chains(data_dir, map(make_chain, specs), progress=progress)
    else:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            stored, ingest_s = ingest_chains(
                data_dir, pool.imap(make_chain, specs, chunksize=1), progress=progress
            )
    return feeds, stored, time.perf_counter() - started, ingest_s


def held_entries(data_dir: Path) -> tuple[int, int]:
    """(feeds, entries) held in a data dir's store, own feed included."""
    with Service(data_dir) as service:
        states = service.store.feeds()
    return len(states), sum(state.height for state in states)


# --- child processes (parent side) ------------------------------------------------


class ChildError(RuntimeError):
    pass


class LineProcess:
    """A child process whose stdout is read line by line in a thread."""

    def __init__(self, argv: Sequence[str], log_path: Path, name: str) -> None:
        self.name = name
        self.log_path = log_path
        self.started_at = time.perf_counter()
        self._log = log_path.open("wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
            env=env,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))
        self.lines.put((time.perf_counter(), None))

    def next_line(self, timeout: float) -> tuple[float, str]:
        """The next stdout line and when it was read (perf_counter); ChildError at EOF."""
        try:
            at, line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise ChildError(f"{self.name}: no output for {timeout:.0f} s") from None
        if line is None:
            self.lines.put((at, None))
            raise ChildError(f"{self.name} exited (rc {self.proc.wait()}):\n{self.log_tail()}")
        return at, line

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while True:
            at, line = self.next_line(max(0.1, deadline - time.monotonic()))
            if predicate(line):
                return at, line
            if time.monotonic() > deadline:
                raise ChildError(f"{self.name}: timed out waiting")

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def terminate(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._log.close()
        return rc


class NodeProcess(LineProcess):
    """A benchmark node (``_net.py node``) in a child process, driven by JSON lines."""

    def __init__(
        self,
        data_dir: Path,
        log_path: Path,
        name: str,
        *,
        newest_first: bool = True,
        wait: bool = True,
        gets: int | None = None,
    ) -> None:
        argv = [sys.executable, str(HERE / "_net.py"), "node", "--data-dir", str(data_dir)]
        if not newest_first:
            argv.append("--oldest-first")
        if gets is not None:
            argv += ["--gets", str(gets)]
        super().__init__(argv, log_path, name)
        self.info: dict[str, Any] = {}
        self.address = ""
        if wait:
            self.wait_started()

    def wait_started(self, timeout: float = 60) -> None:
        """Wait for the child's ``started`` line (the constructor does unless wait=False)."""
        self.info = self.expect_event("started", timeout=timeout)
        self.address = next(a for a in self.info["addresses"] if LOOPBACK in a)

    def expect_event(self, event: str, timeout: float) -> dict[str, Any]:
        _, line = self.wait_for(lambda text: _json(text).get("event") == event, timeout)
        return _json(line)

    def call(self, cmd: str, timeout: float = 120, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its reply (other output is skipped)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **params}) + "\n")
        self.proc.stdin.flush()
        _, line = self.wait_for(lambda text: _json(text).get("reply") == cmd, timeout)
        reply = _json(line)
        if "error" in reply:
            raise ChildError(f"{self.name}: {cmd} failed: {reply['error']}")
        return reply

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
                self.proc.stdin.close()
            except OSError:
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        return self.terminate()


def _json(line: str) -> dict[str, Any]:
    if not line.startswith("{"):
        return {}
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def vm_status(pid: int) -> dict[str, int]:
    """VmHWM (peak RSS), VmRSS, RssAnon, RssFile... of a live process, in kB (/proc)."""
    out: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith(("Vm", "Rss")) and line.endswith(" kB"):
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0])
    return out


def cpu_seconds(before: dict[str, Any], after: dict[str, Any]) -> float:
    """User + system CPU between two ``rusage`` replies."""
    return (after["user"] + after["sys"]) - (before["user"] + before["sys"])


def setup_line(key: str, value: object) -> None:
    print_setup_line(key, value)


# --- the child: one node, driven over stdin/stdout --------------------------------


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _rusage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"user": usage.ru_utime, "sys": usage.ru_stime, "maxrss_kb": usage.ru_maxrss}


class _Recorder:
    """Every EntriesStored event, with the wall-clock time (ns) it was emitted."""

    def __init__(self) -> None:
        import trio  # noqa: PLC0415

        self.stored: list[tuple[int, str, int, int, str]] = []
        self.changed = trio.Event()

    def __call__(self, event: Any) -> None:
        import trio  # noqa: PLC0415

        from lndesk.p2p.events import EntriesStored  # noqa: PLC0415

        if isinstance(event, EntriesStored):
            self.stored.append(
                (time.time_ns(), event.feed.hex(), event.count, event.height, event.via)
            )
            self.changed.set()
            self.changed = trio.Event()


async def _child(data_dir: Path, newest_first: bool, gets: int) -> None:
    import trio  # noqa: PLC0415

    from lndesk.app.node import AppNode  # noqa: PLC0415
    from lndesk.p2p.config import Limits, NodeConfig  # noqa: PLC0415
    from lndesk.p2p.gossip import feed_topic  # noqa: PLC0415

    config = NodeConfig(
        listen_host="127.0.0.1",
        listen_port=0,
        mdns=False,
        dht=False,
        relay_client=False,
        dht_loopback=True,  # every process of the bench is on this machine
        newest_first=newest_first,
        limits=Limits(gets_in_flight=gets),
    )
    recorder = _Recorder()
    with Service(data_dir) as service:
        app = AppNode(service, config, recorder)
        store = service.store

        def heights(feeds: list[bytes]) -> int:
            return sum(store.feed_state(feed).height for feed in feeds)

        async def sync_until(cmd: dict[str, Any]) -> dict[str, Any]:
            feeds = [bytes.fromhex(f) for f in cmd["feeds"]]
            total = int(cmd["total"])
            mark = len(recorder.stored)
            profiler = None
            if cmd.get("profile"):
                import cProfile  # noqa: PLC0415

                profiler = cProfile.Profile()
            cpu0 = _rusage()
            started_ns = time.time_ns()
            if profiler is not None:
                profiler.enable()
            await app.node.connect(cmd["address"])
            connected_ns = time.time_ns()
            with trio.fail_after(float(cmd.get("limit", 600))):
                while heights(feeds) < total:
                    await recorder.changed.wait()
            done_ns = time.time_ns()
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(cmd["profile"])
            cpu1 = _rusage()
            # The clock has stopped; how long until the background indexer has made the
            # synced text searchable?
            pending = store.text_pending()
            with trio.fail_after(float(cmd.get("limit", 600))):
                await app.indexer.wait_idle()
            indexed_ns = time.time_ns()
            events = recorder.stored[mark:]
            counts = [count for _, _, count, _, _ in events]
            return {
                "seconds": (done_ns - started_ns) / 1e9,
                "connect_seconds": (connected_ns - started_ns) / 1e9,
                "first_batch": (events[0][0] - started_ns) / 1e9 if events else None,
                "stored": sum(counts),
                "batches": len(counts),
                "largest_batch": max(counts, default=0),
                "held": heights(feeds),
                "cpu": (cpu1["user"] + cpu1["sys"]) - (cpu0["user"] + cpu0["sys"]),
                "text_pending": pending,
                "indexed_after": (indexed_ns - done_ns) / 1e9,
            }

        async def publish_series(cmd: dict[str, Any]) -> dict[str, Any]:
            count, interval = int(cmd["count"]), float(cmd["interval"])
            posts = []
            next_at = trio.current_time()
            for number in range(count):
                await trio.sleep_until(next_at)
                next_at += interval
                sent_ns = time.time_ns()
                text = f"{cmd.get('label', 'probe')} {number} sent_ns={sent_ns}"
                entry = await app.publish(lambda s, text=text: s.post(text))
                posts.append([entry.seq, sent_ns, time.time_ns()])
            return {"posts": posts}

        async def wait_mesh(cmd: dict[str, Any]) -> dict[str, Any]:
            feed = bytes.fromhex(cmd["feed"])
            topic = feed_topic(feed)
            peers = list(app.node.gossip.pubsub.peer_topics.get(topic, ()))
            with trio.fail_after(float(cmd.get("timeout", 30))):
                for peer in peers:
                    await app.node.gossip.router.wait_for_mesh(peer, topic, timeout=float("inf"))
            return {"peers": len(peers)}

        server_profile: list[Any] = []

        async def handle(cmd: dict[str, Any]) -> None:
            name = cmd.get("cmd", "")
            reply: dict[str, Any]
            try:
                if name == "profile_start":
                    # The node's trio thread is profiled from here (a serving node's
                    # share of a sync, as the reader's run profiles the reader).
                    import cProfile  # noqa: PLC0415

                    server_profile.append(cProfile.Profile())
                    server_profile[-1].enable()
                    reply = {}
                elif name == "profile_stop":
                    if not server_profile:
                        raise RuntimeError("profile_stop before profile_start")
                    profiler = server_profile.pop()
                    profiler.disable()
                    profiler.dump_stats(cmd["path"])
                    reply = {}
                elif name == "connect":
                    key = await app.node.connect(cmd["address"])
                    reply = {"key": key.hex() if key else None}
                elif name == "sync_until":
                    reply = await sync_until(cmd)
                elif name == "rusage":
                    reply = _rusage()
                elif name == "status":
                    reply = {
                        "peers": len(app.node.host.get_connected_peers()),
                        "held": sum(s.height for s in store.feeds()),
                    }
                elif name == "wait_topic_peers":
                    with trio.fail_after(float(cmd.get("timeout", 30))):
                        await app.node.gossip.wait_for_topic_peers(
                            bytes.fromhex(cmd["feed"]), int(cmd["n"])
                        )
                    reply = {}
                elif name == "wait_mesh":
                    reply = await wait_mesh(cmd)
                elif name == "publish_series":
                    reply = await publish_series(cmd)
                elif name == "arrivals":
                    feed = cmd["feed"]
                    reply = {"stored": [e for e in recorder.stored if e[1] == feed]}
                else:
                    reply = {"error": f"unknown command {name!r}"}
            except Exception as exc:  # reported to the parent, which stops the benchmark
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            _emit({"reply": name, **reply})

        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            _emit(
                {
                    "event": "started",
                    "peer_id": app.node.peer_id,
                    "key": service.public_key.hex(),
                    "addresses": app.node.addresses(),
                    "seconds": time.time() - _PROCESS_START,
                }
            )
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
            app.stop()
            nursery.cancel_scope.cancel()


_PROCESS_START = time.time()


def main() -> int:
    parser = argparse.ArgumentParser(description="run one benchmark node (used by the benches)")
    sub = parser.add_subparsers(dest="command", required=True)
    node = sub.add_parser("node", help="run a node driven by JSON lines on stdin")
    node.add_argument("--data-dir", type=Path, required=True)
    node.add_argument("--oldest-first", action="store_true", help="sync oldest entries first")
    node.add_argument(
        "--gets",
        type=int,
        default=8,
        help="sync gets in flight (default 8; 1 speaks only /lndesk/sync/1)",
    )
    args = parser.parse_args()
    import trio  # noqa: PLC0415

    try:
        trio.run(_child, args.data_dir, not args.oldest_first, args.gets)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
