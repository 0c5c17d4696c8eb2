"""Test nodes run as processes inside network namespaces, talking over stdio.

Used on both sides: the tests build namespaces (:func:`two_namespace_lan`), start a
child script in one with :func:`child_in` and read its lines through :class:`Child`;
the child scripts read their commands with :func:`stdin_lines`. Building namespaces
needs root and ``ip``; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


def skip(reason: str) -> None:
    import pytest  # here, not at the top: the child scripts import this module too

    pytest.skip(reason)


def require_namespaces() -> None:
    """Skip the calling test unless network namespaces can be built here."""
    if shutil.which("ip") is None:
        skip("the `ip` command (iproute2) is not installed")
    if os.geteuid() != 0:
        skip("creating network namespaces needs root")


def run_steps(steps: list[tuple[str, ...]]) -> None:
    """Run ``ip`` commands in order; skip the test at the first one not allowed here."""
    for step in steps:
        done = ip(*step)
        if done.returncode != 0:
            skip(f"`ip {' '.join(step)}` failed: {done.stderr.strip()}")


@dataclass(frozen=True)
class Lan:
    """Namespaces A and B on one /24, joined by a veth pair (A is .1, B is .2)."""

    a: str
    b: str
    a_link: str
    b_link: str
    """Each namespace's end of the veth pair."""
    prefix: str
    """The first three parts of the addresses, e.g. ``10.231.17``."""

    def address(self, host: int) -> str:
        return f"{self.prefix}.{host}"


@contextmanager
def two_namespace_lan(short: str, second_octet: int) -> Iterator[Lan]:
    """Build a :class:`Lan` (names made from ``short`` and our pid) and remove it after."""
    require_namespaces()
    tag = f"{os.getpid() % 100000}"
    names = (f"lnd{short}{tag}a", f"lnd{short}{tag}b")
    links = (f"lv{short}{tag}a", f"lv{short}{tag}b")
    lan = Lan(*names, *links, prefix=f"10.{second_octet}.{os.getpid() % 250}")
    try:
        probe = ip("netns", "add", names[0])
        if probe.returncode != 0:
            skip(f"`ip netns add` is not allowed here: {probe.stderr.strip()}")
        steps = [
            ("netns", "add", names[1]),
            ("link", "add", links[0], "type", "veth", "peer", "name", links[1]),
        ]
        for i, (ns, link) in enumerate(zip(names, links, strict=True)):
            steps += [
                ("link", "set", link, "netns", ns),
                ("-n", ns, "addr", "add", f"{lan.address(i + 1)}/24", "dev", link),
                ("-n", ns, "link", "set", "lo", "up"),
                ("-n", ns, "link", "set", link, "up"),
                # A default route like a LAN's: multicast sends need a route, and
                # py-libp2p picks the address it announces by routing towards 8.8.8.8.
                ("-n", ns, "route", "add", "default", "dev", link),
            ]
        run_steps(steps)
        yield lan
    finally:
        ip("link", "del", links[0])  # only left here if moving it into a namespace failed
        for ns in names:
            ip("netns", "del", ns)  # also removes the veth end inside it
        leftover = ip("netns", "list").stdout
        assert not any(ns in leftover for ns in names)


START_TIMEOUT = 180.0
"""Seconds a node process may take to print ``READY``."""


class Child:
    """A node process; lines of its output are read with timeouts, never sleeps."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self._buffer = b""
        self.lines: list[str] = []

    async def line(self) -> str:
        assert self.process.stdout is not None
        while b"\n" not in self._buffer:
            data = await self.process.stdout.receive_some()
            if not data:
                raise AssertionError(f"node exited; its output was {self.lines}")
            self._buffer += data
        raw, self._buffer = self._buffer.split(b"\n", 1)
        text = raw.decode()
        self.lines.append(text)
        return text

    async def expect(self, *prefixes: str) -> list[str]:
        """The words of the next line starting with one of ``prefixes``."""
        while True:
            text = await self.line()
            if text.startswith(prefixes):
                return text.split()

    async def ready(self) -> list[str]:
        """The words of the node's ``READY`` line. Its start is CPU work (importing libp2p,
        opening a store, building a host) that took over 30 s on a loaded two-core
        machine, so it has its own generous bound; an exit is still seen at once."""
        return await self.wait_for("READY", timeout=START_TIMEOUT)

    async def wait_for(self, *prefixes: str, timeout: float = 30.0) -> list[str]:
        """Like :meth:`expect`, failing the test if no such line comes within ``timeout``."""
        with trio.move_on_after(timeout):
            return await self.expect(*prefixes)
        wanted = " or ".join(prefixes)
        raise AssertionError(f"no {wanted} line in {timeout} s; got {self.lines}")

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(line.encode() + b"\n")


@asynccontextmanager
async def child_in(namespace: str, script: Path, *args: str) -> AsyncIterator[Child]:
    """``script args...`` running inside ``namespace``; killed if still running at exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = ["ip", "netns", "exec", namespace, sys.executable, str(script), *args]
    process = await trio.lowlevel.open_process(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT
    )
    try:
        yield Child(process)
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()


@asynccontextmanager
async def whole_node_in(namespace: str, data_dir: Path, **config: object) -> AsyncIterator[Child]:
    """A new identity in ``data_dir`` and a whole lndesk node for it (``node_child.py``)
    running inside ``namespace``; ``config`` holds :class:`NodeConfig` fields."""
    from lndesk.app.service import create_identity

    create_identity(data_dir)
    script = Path(__file__).with_name("node_child.py")
    async with child_in(namespace, script, str(data_dir), json.dumps(config)) as child:
        yield child


async def stdin_lines() -> AsyncIterator[str]:
    """The child's command lines, stripped, until stdin closes or a ``quit`` line."""
    stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
    buffer = b""
    while True:
        while b"\n" not in buffer:
            data = await stdin.receive_some()
            if not data:
                return
            buffer += data
        raw, buffer = buffer.split(b"\n", 1)
        line = raw.decode().strip()
        if line == "quit":
            return
        if line:
            yield line
