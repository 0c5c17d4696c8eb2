"""Test nodes run as processes inside network namespaces, talking over stdio.

Used on both sides: the tests start a child script with :func:`child_in` and read its
lines through :class:`Child`; the child scripts read their commands with
:func:`stdin_lines`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


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
