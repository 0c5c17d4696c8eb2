"""Many nodes: one author posting at a fixed rate to N - 1 followers, in a line or a star.

Every node is a whole lndesk node on 127.0.0.1 (no mDNS, DHT or relay); by default each
runs in its own OS process (``--per-process K`` packs K followers into one process, the
author always has its own). Line: node i dials node i - 1, so a post crosses N - 1
gossip hops, every node in between relaying it. Star: every follower dials the author
(the hub). Every follower follows the author. Once every node sees its neighbours on
the author's topic and has a GossipSub mesh, a warm-up post must reach everyone; then
the idle CPU of every process is measured over ``--idle`` seconds, and the author
publishes ``--posts`` posts at ``--rate`` per second. Each node records the wall-clock
time its ``EntriesStored`` event stored each post and whether gossip or sync brought
it (sync means gossip lost it; the anti-entropy round is two minutes away, so a lost
post usually does not arrive at all within ``--settle``).

Printed: delivery latency p50 / max to each hop distance (line) and to all nodes, the
latency added per hop (line: the slope of p50 over the hops), CPU per delivered post
per role (author, relaying follower, leaf; the process's CPU during the series minus
its idle rate, divided by the posts) and idle CPU per node in % of a core. ``--sizes
20,50,100`` runs several sizes and names the largest without a gossip loss.

    python bench/many_nodes.py --shape line --sizes 20,50,100   # goal: 100, p50 < 20 ms/hop
    python bench/many_nodes.py --shape star --nodes 201 --per-process 20 --posts 10
    python bench/many_nodes.py --quick
    python bench/many_nodes.py --nodes 5 --attach "py-spy record --pid {pid} -f raw -o spy.txt"

Processes start at most ``--start-window`` at a time (the number of cores): each start
is mostly importing libp2p, and a hundred at once on two cores left none done within
its start timeout. ``--per-process K`` shares one trio loop among K followers: it costs
less CPU per post than a process each (fewer wake-ups), so compare like with like.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from _common import percentile, print_setup, print_table
from _net import HERE, ChildError, LineProcess, _json, make_reader

from lndesk.app.service import create_identity

HOP_TARGET_MS = 20.0
RELAY_CPU_TARGET_MS = 2.0


class Group(LineProcess):
    """A ``_nodes.py`` child holding the nodes ``first .. first + count - 1``."""

    def __init__(self, dirs: list[Path], first: int, log: Path, *, always_on: bool = False) -> None:
        flags = ["--always-on"] if always_on else []
        argv = [sys.executable, str(HERE / "_nodes.py"), *flags, *map(str, dirs)]
        super().__init__(argv, log, f"nodes {first}-{first + len(dirs) - 1}")
        self.first = first
        self.count = len(dirs)
        self.nodes: list[dict[str, str]] = []

    def wait_started(self, timeout: float) -> None:
        _, line = self.wait_for(lambda text: _json(text).get("event") == "started", timeout)
        self.nodes = _json(line)["nodes"]

    def send(self, cmd: str, node: int = 0, **params: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, "node": node, **params}) + "\n")
        self.proc.stdin.flush()

    def replies(
        self, cmd: str, n: int, timeout: float, *, errors_ok: bool = False
    ) -> dict[int, dict[str, Any]]:
        """The next ``n`` replies to ``cmd``, by node index (within this group); an
        ``error`` reply raises ChildError unless ``errors_ok``."""
        out: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(out) < n:
            _, line = self.wait_for(
                lambda text: _json(text).get("reply") == cmd, deadline - time.monotonic()
            )
            reply = _json(line)
            if "error" in reply and not errors_ok:
                raise ChildError(f"{self.name}: {cmd} failed: {reply['error']}")
            out[int(reply["node"])] = reply
        return out

    def call(self, cmd: str, node: int = 0, timeout: float = 120, **params: Any) -> dict[str, Any]:
        self.send(cmd, node, **params)
        return self.replies(cmd, 1, timeout)[node]

    def stop(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write('{"cmd": "stop"}\n')
                self.proc.stdin.close()
                self.proc.wait(20)
            except Exception:  # terminate() below ends it anyway
                pass
        self.terminate()


Spec = tuple[list[Path], int, Path, bool]


def start_groups(specs: list[Spec], window: int) -> list[Group]:
    """Start the processes, at most ``window`` at a time (each waited on for 120 s).

    Each start is about 1.5 s of CPU, mostly importing libp2p; a hundred processes
    started at once on two cores shared the CPU until none was done within the
    start timeout (a 40-node line never started on a loaded machine).
    """
    started: list[Group] = []
    starting: deque[Group] = deque()
    try:
        for dirs, first, log, always_on in specs:
            if len(starting) >= window:
                starting.popleft().wait_started(timeout=120)
            group = Group(dirs, first, log, always_on=always_on)
            started.append(group)
            starting.append(group)
        while starting:
            starting.popleft().wait_started(timeout=120)
    except BaseException:
        for group in started:
            group.stop()
        raise
    return started


class Swarm:
    """N nodes in groups; node 0 is the author."""

    def __init__(self, groups: list[Group]) -> None:
        self.groups = groups
        self.where: list[tuple[Group, int]] = [
            (group, i) for group in groups for i in range(group.count)
        ]

    def address(self, node: int) -> str:
        group, i = self.where[node]
        return group.nodes[i]["address"]

    def each(
        self,
        cmd: str,
        nodes: list[int],
        timeout: float,
        per: dict[int, dict[str, Any]] | None = None,
        *,
        errors_ok: bool = False,
    ) -> dict[int, Any]:
        """Send ``cmd`` to every node in ``nodes`` at once; replies by node number."""
        sent: dict[Group, int] = {}
        for node in nodes:
            group, i = self.where[node]
            extra = per.get(node, {}) if per else {}
            group.send(cmd, i, **extra)
            sent[group] = sent.get(group, 0) + 1
        out: dict[int, Any] = {}
        for group, n in sent.items():
            for i, reply in group.replies(cmd, n, timeout, errors_ok=errors_ok).items():
                out[group.first + i] = reply
        return out

    def cpu(self) -> list[float]:
        return [group.call("rusage")["cpu"] for group in self.groups]


def run_size(args: argparse.Namespace, n: int, work: Path) -> dict[str, Any]:
    author = create_identity(work / "n0").public_key
    feed = author.hex()
    for i in range(1, n):
        make_reader(work / f"n{i}", [author])
    specs = [([work / "n0"], 0, work / "n0.log", not args.desktop_author)]
    for first in range(1, n, args.per_process):
        dirs = [work / f"n{i}" for i in range(first, min(n, first + args.per_process))]
        specs.append((dirs, first, work / f"g{first}.log", False))
    began = time.perf_counter()
    groups = start_groups(specs, args.start_window)
    start_s = time.perf_counter() - began
    swarm = Swarm(groups)
    try:
        followers = list(range(1, n))
        began = time.perf_counter()
        if args.shape == "line":
            redials = connect_in_waves(swarm, {i: swarm.address(i - 1) for i in followers})
            want = {i: (1 if i in (0, n - 1) else 2) for i in range(n)}
        else:
            redials = connect_in_waves(swarm, {i: swarm.address(0) for i in followers})
            want = {i: 1 for i in followers} | {0: n - 1}
        try:
            swarm.each(
                "wait_topic_peers",
                list(range(n)),
                120,
                {i: {"feed": feed, "n": want[i], "timeout": 110} for i in range(n)},
            )
        except ChildError:
            status = swarm.each("status", list(range(n)), 60, {i: {"feed": feed} for i in range(n)})
            short = sorted(i for i, r in status.items() if r["topic_peers"] < want[i])
            peers = {i: status[i]["peers"] for i in short[:10]}
            raise ChildError(
                f"{len(short)} node(s) do not see their neighbours on the topic: "
                f"node 0 has {status[0]['peers']} connections, {status[0]['topic_peers']} "
                f"on the topic; connections of some short ones: {peers}\n"
                f"node 0's log ends:\n{groups[0].log_tail()}"
            ) from None
        if args.shape == "line":  # a star's author floods its posts to every follower
            swarm.each("wait_mesh", list(range(n)), 60, {i: {"feed": feed} for i in range(n)})
        setup_s = time.perf_counter() - began
        warm = groups[0].call("publish_series", count=1, interval=0, label="warmup")
        warm_seq = warm["posts"][0][0]
        if not wait_all(swarm, feed, warm_seq, n, 60):
            raise ChildError("the warm-up post did not reach every node within 60 s")

        # Idle means idle: the warm-up post's holder checks (a session with every
        # follower) are over before the sampling starts.
        groups[0].call("wait_synced", timeout=150, seconds=120)
        time.sleep(args.quiet)
        if args.profile_hub is not None:
            groups[0].call("profile")
        rounds0 = swarm.each("rounds", list(range(n)), 60)
        cpu0 = swarm.cpu()
        time.sleep(args.idle)
        cpu1 = swarm.cpu()
        rounds1 = swarm.each("rounds", list(range(n)), 60)
        hub_peers = groups[0].call("status", feed=feed)["peers"]
        if args.profile_hub is not None:
            groups[0].call("profile", path=str(args.profile_hub))
        idle_rate = [(b - a) / args.idle for a, b in zip(cpu0, cpu1, strict=True)]

        interval = 1.0 / args.rate
        profiled = swarm.where[1][0] if args.profile else None
        if profiled is not None:
            profiled.call("profile")
        attached = attach(args.attach, swarm.where[1][0].pid) if args.attach else None
        load = os.getloadavg()[0]
        series_began = time.monotonic()
        series = groups[0].call(
            "publish_series",
            count=args.posts,
            interval=interval,
            timeout=args.posts * interval + 60,
        )
        posts = {seq: sent for seq, sent in series["posts"]}
        complete = wait_all(swarm, feed, max(posts), n, args.settle)
        cpu2 = swarm.cpu()
        if attached is not None:
            attached.send_signal(signal.SIGINT)
            attached.wait(60)
        if profiled is not None:
            profiled.call("profile", path=str(args.profile))
        series_s = time.monotonic() - series_began
        arrivals = swarm.each("arrivals", followers, 60, {i: {"feed": feed} for i in followers})
    finally:
        for group in groups:
            group.stop()
        if args.logs is not None:
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in work.glob("*.log"):
                shutil.copy(log, args.logs / f"{n}-{log.name}")

    latency: dict[int, dict[int, float]] = {}
    lost = 0
    for node, reply in arrivals.items():
        got: dict[int, float] = {}
        for at_ns, _feed, count, height, via in reply["stored"]:
            for seq in range(height - count + 1, height + 1):
                if seq in posts:
                    if via != "gossip":
                        lost += 1
                    got[seq] = (at_ns - posts[seq]) / 1e6
        latency[node] = got
        lost += len(posts) - len(got)
    # CPU per post during the series, minus each process's idle rate.
    busy = [
        max(0.0, (c2 - c1) - rate * series_s) / args.posts * 1e3
        for c1, c2, rate in zip(cpu1, cpu2, idle_rate, strict=True)
    ]
    per_node_busy = {}
    per_node_idle = {}
    for group, b, rate in zip(groups, busy, idle_rate, strict=True):
        for i in range(group.count):
            per_node_busy[group.first + i] = b / group.count
            per_node_idle[group.first + i] = rate / group.count * 100
    return {
        "n": n,
        "start_s": start_s,
        "load": (load, os.getloadavg()[0]),
        "setup_s": setup_s,
        "complete": complete,
        "lost": lost,
        "latency": latency,
        "posts": posts,
        "busy": per_node_busy,
        "idle": per_node_idle,
        "dial_retries": redials,
        "hub_peers": hub_peers,
        "rounds": idle_rounds(rounds0, rounds1, args.idle),
    }


def idle_rounds(
    before: dict[int, dict[str, int]], after: dict[int, dict[str, int]], seconds: float
) -> dict[str, float]:
    """Anti-entropy rounds per second during the idle sampling: those node 0 ran (a
    visit or an old round) and skipped, and those all the others ran (in a star, every
    one of them with node 0)."""

    def rate(nodes: list[int], *keys: str) -> float:
        return sum(after[i][k] - before[i][k] for i in nodes for k in keys) / seconds

    others = [i for i in after if i != 0]
    return {
        "hub_ran": rate([0], "visits", "old_rounds"),
        "hub_skipped": rate([0], "skipped"),
        "others_ran": rate(others, "visits", "old_rounds"),
    }


def connect_in_waves(swarm: Swarm, dials: dict[int, str], wave: int = 10) -> int:
    """Node ``i`` dials ``dials[i]``, ten nodes at a time, those whose dial failed again
    (up to six tries); returns how many dials were tried again. A line of a hundred
    dialling all at once on a loaded two-core machine ran past the dial timeout."""
    redials = 0
    nodes = sorted(dials)
    for first in range(0, len(nodes), wave):
        batch = nodes[first : first + wave]
        for attempt in range(6):  # a dial times out on a loaded machine: again
            replies = swarm.each(
                "connect", batch, 60, {i: {"address": dials[i]} for i in batch}, errors_ok=True
            )
            failed = {i: r["error"] for i, r in replies.items() if "error" in r}
            redials += len(failed)
            batch = sorted(failed)
            if not batch:
                break
            if attempt == 5:
                raise ChildError(f"{len(failed)} node(s) could not connect: {failed}")
    return redials


def attach(command: str, pid: int) -> subprocess.Popen[bytes]:
    """``command`` with ``{pid}`` replaced by node 1's process id, started now and
    interrupted (SIGINT) when the series ends: a sampling profiler or a syscall counter,
    e.g. ``py-spy record --pid {pid} --format raw -o spy.txt`` or ``strace -c -f -p {pid}``.
    """
    return subprocess.Popen(shlex.split(command.replace("{pid}", str(pid))))


def wait_all(swarm: Swarm, feed: str, height: int, n: int, timeout: float) -> bool:
    """Poll until every follower stored ``feed`` up to ``height``; False on timeout."""
    deadline = time.monotonic() + timeout
    waiting = list(range(1, n))
    while waiting:
        replies = swarm.each("arrivals", waiting, 60, {i: {"feed": feed} for i in waiting})
        waiting = [
            i
            for i, r in replies.items()
            if max((h for _, _, _, h, _ in r["stored"]), default=0) < height
        ]
        if not waiting:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def report(args: argparse.Namespace, result: dict[str, Any]) -> bool:
    n, latency, posts = result["n"], result["latency"], result["posts"]
    print_setup(
        f"many nodes: {args.shape} of {n} ({args.per_process} follower(s) per process)",
        [
            ("posts", f"{args.posts} from node 0 at {args.rate:g}/s"),
            ("start", f"{result['start_s']:.1f} s until every node listened"),
            ("load average", "{:.1f} as the posts began, {:.1f} after".format(*result["load"])),
            ("topics + mesh", f"{result['setup_s']:.1f} s after the dials"),
            ("all got all", "yes" if result["complete"] else f"no (within {args.settle:g} s)"),
            ("gossip losses", str(result["lost"]) + " (posts that came by sync or not at all)"),
            ("dials tried again", f"{result['dial_retries']} (a dial timed out or failed)"),
            ("hub's connections", f"{result['hub_peers']} after the idle sampling"),
            (
                "rounds while idle",
                "node 0 ran {hub_ran:.2f}/s (skipped {hub_skipped:.2f}/s), the others"
                " {others_ran:.2f}/s".format(**result["rounds"]),
            ),
        ],
    )
    to_all = [max(latency[node].get(seq, float("inf")) for node in latency) for seq in posts]
    rows = []
    if args.shape == "line":
        marks = sorted({1, 2, 5, 10, 20, 50, n - 1} & set(range(1, n)))
        for hop in marks:
            values = list(latency[hop].values())
            rows.append(
                [
                    f"{hop} hop(s)",
                    f"{len(values)}/{len(posts)}",
                    fmt(percentile(values, 50)),
                    fmt(max(values, default=float("nan"))),
                ]
            )
    else:
        values = [v for node in latency for v in latency[node].values()]
        rows.append(
            [
                "any follower",
                f"{len(values)}/{len(posts) * (n - 1)}",
                fmt(percentile(values, 50)),
                fmt(max(values, default=float("nan"))),
            ]
        )
    finite = [v for v in to_all if v != float("inf")]
    rows.append(
        [
            "all nodes",
            f"{len(finite)}/{len(posts)}",
            fmt(percentile(finite, 50)),
            fmt(max(to_all, default=float("nan"))),
        ]
    )
    print_table(
        "delivery latency from the author's publish (ms)", ["to", "arrived", "p50", "max"], rows
    )

    per_hop = float("nan")
    if args.shape == "line" and n > 2:
        p50s = [percentile(list(latency[h].values()), 50) for h in range(1, n)]
        per_hop = (p50s[-1] - p50s[0]) / (n - 2) if n > 2 else p50s[0]
    busy, idle = result["busy"], result["idle"]
    roles: dict[str, list[int]] = {"author": [0]}
    if args.shape == "line":
        roles["relaying follower"] = list(range(1, n - 1))
        roles["leaf"] = [n - 1]
    else:
        roles["leaf"] = list(range(1, n))
    role_rows = []
    for role, nodes in roles.items():
        if not nodes:
            continue
        cpu = [busy[i] for i in nodes]
        idle_pct = [idle[i] for i in nodes]
        role_rows.append(
            [
                role,
                str(len(nodes)),
                f"{statistics.median(cpu):.2f}",
                f"{max(cpu):.2f}",
                f"{statistics.median(idle_pct):.3f}",
            ]
        )
    print_table(
        "CPU per role",
        ["role", "nodes", "ms per post (median)", "max", "idle % of a core (median)"],
        role_rows,
    )
    relay = [busy[i] for i in roles.get("relaying follower", [])]
    summary = [
        ["gossip losses", str(result["lost"])],
        ["latency added per hop (p50 slope)", f"{fmt(per_hop)} ms (target < {HOP_TARGET_MS:g})"],
        [
            "relaying follower CPU per post",
            f"{statistics.median(relay):.2f} ms (target < {RELAY_CPU_TARGET_MS:g})"
            if relay
            else "-",
        ],
        ["author idle CPU", f"{idle[0]:.3f} % of a core"],
    ]
    print_table("summary", ["figure", "value"], summary)
    return result["lost"] == 0 and result["complete"]


def fmt(value: float) -> str:
    return "-" if value != value or value == float("inf") else f"{value:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=("line", "star"), default="line")
    parser.add_argument("--nodes", type=int, default=20, help="nodes, author included (20)")
    parser.add_argument("--sizes", default="", help="comma-separated sizes to run in turn")
    parser.add_argument("--per-process", type=int, default=1, help="followers per process (1)")
    parser.add_argument(
        "--desktop-author",
        action="store_true",
        help="the author keeps a desktop's connection limits (default: lndesk serve's)",
    )
    parser.add_argument(
        "--start-window",
        type=int,
        default=max(2, os.cpu_count() or 2),
        help="processes starting at once (the number of cores)",
    )
    parser.add_argument("--posts", type=int, default=20, help="timed posts (20)")
    parser.add_argument("--rate", type=float, default=2.0, help="posts per second (2)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU sampling")
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.0,
        help="seconds to wait before the idle sampling (the first anti-entropy round after the"
        " warm-up post syncs it with every peer; resync_interval is 120 s)",
    )
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait for stragglers")
    parser.add_argument(
        "--profile", type=Path, default=None, help="cProfile node 1's process during the posts"
    )
    parser.add_argument(
        "--attach",
        default="",
        help="a command run on node 1's process ({pid}) during the posts, e.g. py-spy",
    )
    parser.add_argument(
        "--profile-hub",
        type=Path,
        default=None,
        help="cProfile node 0's process during the idle sampling",
    )
    parser.add_argument("--dir", type=Path, default=None, help="parent of the temporary dirs")
    parser.add_argument(
        "--logs", type=Path, default=None, help="keep the nodes' logs (stderr) in this directory"
    )
    parser.add_argument("--quick", action="store_true", help="a line of 5, 5 posts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s] or [args.nodes]
    if args.quick:
        sizes, args.posts, args.idle, args.settle = [5], 5, 3.0, 10.0
    print("(this machine is shared: other work runs beside the bench; figures are noisy)")
    largest = 0
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
            try:
                result = run_size(args, n, Path(tmp))
            except ChildError as exc:
                print(f"\n{args.shape} of {n}: FAILED: {exc}")
                continue
        if report(args, result):
            largest = max(largest, n)
    if len(sizes) > 1:
        print(f"\nlargest {args.shape} without gossip losses: {largest or 'none'} of {sizes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
