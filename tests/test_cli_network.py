"""Network commands end to end: `serve` in a child process, `connect`/`sync`/`peers`."""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import child_env

from lndesk.app.control import ControlClient, socket_path
from lndesk.cli.network import EventPrinter
from lndesk.errors import NodeNotRunningError
from lndesk.p2p.events import AddressesChanged, EntriesStored, NodeWarning, SyncFinished


def run(data_dir: Path, *args: str, expect: int = 0, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "lndesk", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        check=False,
    )
    assert result.returncode == expect, (
        f"lndesk {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


class Serve:
    """`lndesk serve` in a child process; its output lines arrive on a queue."""

    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lndesk",
                "--data-dir",
                str(data_dir),
                "serve",
                "--port",
                "0",
                "--no-mdns",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=child_env(),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                raise AssertionError(
                    f"serve ended before printing {text!r}:\n" + "\n".join(self.seen)
                )
            self.seen.append(line)
            if text in line:
                return line

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def ann(tmp_path: Path) -> Iterator[tuple[Path, Serve, str]]:
    data_dir = tmp_path / "ann"
    run(data_dir, "init", "--name", "Ann")
    run(data_dir, "network", "--mdns", "off")
    for i in range(3):
        run(data_dir, "post", f"Ann's note {i}")
    serve = Serve(data_dir)
    try:
        serve.wait_for("give a friend one of these addresses")
        address = serve.wait_for("/ip4/127.0.0.1/").strip()
        yield data_dir, serve, address
    finally:
        serve.stop()


def test_serve_connect_sync_peers_and_a_clean_stop(
    tmp_path: Path, ann: tuple[Path, Serve, str]
) -> None:
    ann_dir, serve, address = ann
    # While serve runs the data directory is locked; peers goes through the control socket.
    out = run(ann_dir, "peers")
    assert "this node: 12D3KooW" in out and "0 peer(s) connected" in out
    assert socket_path(ann_dir).exists()
    assert any(line.startswith("lndesk node 12D3KooW") for line in serve.seen)

    bo = tmp_path / "bo"
    run(bo, "init")
    run(bo, "network", "--mdns", "off")
    ann_key = _key_of(ann_dir, serve)
    run(bo, "follow", ann_key)
    out = run(bo, "connect", address)
    assert "connected to" in out and "4 new entries" in out  # profile + 3 notes
    log = run(bo, "log", "--author", ann_key)
    assert all(f"Ann's note {i}" in log for i in range(3))

    # serve logged the peer, and `lndesk peers` lists nobody now that bo's node stopped.
    serve.wait_for("peer connected")
    # Publishing while serve holds the data directory goes through the running node.
    out = run(ann_dir, "post", "written while serving")
    assert "published" in out and "entry 5 of your log" in out
    out = run(ann_dir, "follow", run(bo, "id").splitlines()[0])
    assert "following lnd1" in out
    # `sync` through the running node: nothing connected, so zero sessions, exit 0.
    out = run(ann_dir, "sync")
    assert "sync done: 0 session(s)" in out

    assert serve.stop() == 0
    serve.wait_for("stopped")
    assert not socket_path(ann_dir).exists()
    # The store was closed cleanly: the data dir opens again at once.
    assert "written while serving" in run(ann_dir, "log")


def _key_of(data_dir: Path, serve: Serve) -> str:
    """Ann's key (lnd1...) from the running node's status, since the store is locked."""
    return str(ControlClient(data_dir).call("status")["key"])


def test_sync_with_no_reachable_peer_says_what_to_do(tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    run(lone, "init")
    run(lone, "network", "--mdns", "off")
    out = run(lone, "sync", "--wait", "1", expect=1)
    assert "no peer could be reached" in out
    assert "--add-bootstrap" in out


def test_peers_without_a_running_node(tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    run(lone, "init")
    out = run(lone, "peers", expect=1)
    assert "no node is running" in out
    assert "lndesk serve" in out


def test_network_settings_are_validated_and_saved(tmp_path: Path) -> None:
    data_dir = tmp_path / "a"
    run(data_dir, "init")
    out = run(data_dir, "network", "--add-bootstrap", "/ip4/1.2.3.4/tcp/1", expect=1)
    assert "/p2p/" in out
    good = "/ip4/192.0.2.7/tcp/4747/p2p/12D3KooWMbbPVGsZYh3ChQjue712NHHGNybRRXwnuSpezYjGbCDS"
    out = run(data_dir, "network", "--add-bootstrap", good, "--port", "0", "--mdns", "off")
    assert good in out and "port: 0" in out and "mdns: off" in out
    out = run(data_dir, "network", "--remove-bootstrap", good)
    assert "bootstrap peers: 0" in out
    assert os.stat(data_dir / "config.json").st_mode & 0o077 == 0


def test_serve_log_lines_say_what_happened() -> None:
    printer = EventPrinter()
    peer, feed = bytes(range(32)), bytes(range(1, 33))
    moved = printer.describe(AddressesChanged(("/ip4/192.0.2.7/tcp/4747/p2p/12D3KooWx",)))
    assert moved == "reachable at:\n  /ip4/192.0.2.7/tcp/4747/p2p/12D3KooWx"
    stored = printer.describe(EntriesStored(feed, 3, 10, 12, "sync", peer))
    assert stored is not None and "stored 3 entries" in stored and "via sync" in stored
    warning = printer.describe(NodeWarning("Could not store synced posts: disk full"))
    assert warning == "note: Could not store synced posts: disk full"
    assert printer.describe(SyncFinished(peer, 0, 1, None)) is None  # quiet when all is well


def test_a_data_dir_too_long_for_a_control_socket_is_explained(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    client = ControlClient(deep)
    assert not client.available()
    with pytest.raises(NodeNotRunningError, match="too long") as caught:
        client.call("status")
    assert "--data-dir" in caught.value.hint


def test_network_libraries_log_only_what_was_asked_for() -> None:
    """libp2p resets its logger when imported; the level is set after that import."""
    from lndesk.app.node import set_network_log_level

    set_network_log_level(logging.CRITICAL)
    for name in ("libp2p.host.basic_host", "libp2p.network.auto_connector", "zeroconf"):
        assert not logging.getLogger(name).isEnabledFor(logging.ERROR), name
    assert logging.getLogger("libp2p").propagate  # to the application's handlers
    set_network_log_level(logging.WARNING)
    assert logging.getLogger("libp2p.network.auto_connector").isEnabledFor(logging.WARNING)
    assert not logging.getLogger("libp2p.network.auto_connector").isEnabledFor(logging.INFO)
