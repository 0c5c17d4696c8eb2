"""The running node's control socket, so commands can use a node another process runs.

A data directory is open in one process at a time (the store holds a lock), so while
`lndesk serve` or the desktop app runs, the commands that write (`lndesk post` and the
other publishing actions, `connect`, `sync`, `import`, `reindex`) talk to that process
through ``node.sock`` in the data directory; readers read the store beside it. The
socket is a Unix socket created with mode 0600 inside the 0700 data directory: only
the same user can use it.

Protocol: the client sends one JSON object per line, ``{"op": ..., ...}``; the server
answers with JSON lines, the last of which has ``"done": true`` and either ``"result"``
or ``"error"`` + ``"hint"``. Long operations (``sync``) send ``"event"`` lines first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import trio

from lndesk.app.actions import run_action
from lndesk.app.datadir import SOCKET_NAME
from lndesk.app.importing import (
    ImportResult,
    check_backup_owner,
    ingest_batches,
    read_backup,
    settle_own_log,
)
from lndesk.app.once import OnceOnly
from lndesk.app.rebuilding import rebuild_index
from lndesk.app.requests import check_request_id
from lndesk.app.restore import restore_status, status_json
from lndesk.errors import ControlConnectionLost, LndeskError, NodeNotRunningError, UsageError
from lndesk.keytext import key_to_text
from lndesk.p2p.events import EntriesStored, Event, SyncFinished, SyncProgress
from lndesk.store.store import IngestResult

logger = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024
_MAX_PATH = 104  # sun_path is 104-108 bytes depending on the system


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


class ControlServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.path = socket_path(app.data_dir)
        self.requests = OnceOnly(app)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        if len(os.fsencode(self.path)) >= _MAX_PATH:
            self.app.node.warn(
                f"the data directory path is too long for a control socket ({self.path}); "
                "other lndesk commands cannot reach this node"
            )
            task_status.started()
            return
        # We hold the data directory's lock, so a socket file left here is stale.
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        listener = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            await listener.bind(os.fspath(self.path))
        finally:
            os.umask(old_umask)
        listener.listen(8)
        try:
            async with trio.open_nursery() as nursery:
                task_status.started()
                await trio.serve_listeners(
                    self._handle, [trio.SocketListener(listener)], handler_nursery=nursery
                )
        finally:
            listener.close()
            with contextlib.suppress(OSError):
                self.path.unlink()

    async def _handle(self, stream: trio.SocketStream) -> None:
        """Serve one request; nothing a client sends or fails to read can stop the node."""
        async with stream:
            try:
                request = await _read_request(stream)
                if request is None:
                    return  # a client checking whether a node runs
                try:
                    await self._dispatch(stream, request)
                except LndeskError as exc:
                    await _send(stream, {"done": True, "error": exc.message, "hint": exc.hint})
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            except LndeskError as exc:
                await _send_quietly(stream, {"done": True, "error": exc.message, "hint": exc.hint})
            except Exception as exc:  # a bug must not take the node down; report it
                logger.exception("control request failed")
                await _send_quietly(
                    stream, {"done": True, "error": f"internal error: {exc}", "hint": ""}
                )

    async def _dispatch(self, stream: trio.SocketStream, request: dict[str, Any]) -> None:
        op = request.get("op")
        node = self.app.node
        if op == "status":
            result: Any = {
                "peer_id": node.peer_id,
                "key": key_to_text(self.app.service.public_key),
                "addresses": node.addresses(),
                "peers": len(node.peers()),
            }
        elif op == "peers":
            result = [
                {
                    "peer_id": p.peer_id,
                    "key": key_to_text(p.key) if p.key else None,
                    "address": p.address,
                    "syncing": p.syncing,
                    "latency_ms": p.latency_ms,
                }
                for p in node.peers()
            ]
        elif op == "connect":
            address = request.get("address")
            if not isinstance(address, str):
                raise UsageError("connect needs an address")
            key = await node.connect(address)
            result = {"key": key_to_text(key) if key else None}
        elif op == "act":
            name, args = request.get("name"), request.get("args", {})
            if not isinstance(name, str) or not isinstance(args, dict):
                raise UsageError("act needs a name and an args object")
            if "request_id" in request:
                request_id = check_request_id(request["request_id"])
                result = await self.requests.act(request_id, name, args)
            else:
                result = await self.app.publish(lambda service: run_action(service, name, args))
        elif op == "request-status":
            result = self.requests.status(check_request_id(request.get("request_id")))
        elif op == "restore-status":
            if self.app.survey.active():
                await self.app.survey.run()
            result = status_json(restore_status(self.app.service))
        elif op == "confirm-log":
            latest = request.get("latest")
            if type(latest) is not int or latest < 0:
                raise UsageError("confirm-log needs the latest entry's number")
            result = status_json(self.app.survey.confirm(latest))
        elif op == "import":
            path, latest = request.get("path"), request.get("latest", False)
            if not isinstance(path, str) or type(latest) is not bool:
                raise UsageError("import needs a backup file's path")
            if not Path(path).is_absolute():
                raise UsageError("import needs a backup file's absolute path")
            result = await self._import(stream, Path(path), latest=latest)
        elif op == "reindex":
            result = {"entries": await rebuild_index(self.app.service.store)}
            self.app.indexer.arrived()  # the rebuilt index stages all text for search again
        elif op == "sync":
            timeout = request.get("timeout", 120)
            if not isinstance(timeout, int | float) or timeout <= 0:
                raise UsageError("sync needs a positive timeout")
            result = await self._sync(stream, float(timeout))
        else:
            raise UsageError(f"unknown control request {op!r}")
        await _send(stream, {"done": True, "result": result})

    async def _import(
        self, stream: trio.SocketStream, path: Path, *, latest: bool
    ) -> dict[str, Any]:
        """``lndesk import`` into the running node: the same steps as run alone (the node
        has an identity, so no key is installed), a progress line after each batch."""
        service = self.app.service
        backup = read_backup(path)
        check_backup_owner(backup, service.public_key)
        store = service.store
        before = store.feed_state(backup.feed).height
        total = IngestResult(0, 0, 0)
        for total in ingest_batches(store, backup.feed, backup.entries):
            done = total.stored + total.duplicates + total.held
            progress = {"type": "ImportProgress", "done": done, "total": len(backup.entries)}
            await _send(stream, {"event": progress})
        own_log = settle_own_log(service.data_dir, store, backup.feed, latest=latest)
        await self.app.imported(before)
        return import_json(ImportResult(backup.feed, False, total, own_log))

    async def _sync(self, stream: trio.SocketStream, timeout: float) -> dict[str, Any]:
        send, receive = trio.open_memory_channel[Event](1000)

        def forward(event: Event) -> None:
            if isinstance(event, SyncProgress | EntriesStored | SyncFinished):
                with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError):
                    send.send_nowait(event)

        async def pump() -> None:
            async for event in receive:
                await _send(stream, {"event": event_json(event)})

        self.app.add_listener(forward)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(pump)
                summary = await self.app.node.sync_now(timeout)
                send.close()  # the pump drains what is queued, then ends
        finally:
            self.app.remove_listener(forward)
        return {"peers": summary.peers, "stored": summary.stored, "errors": list(summary.errors)}


def import_json(result: ImportResult) -> dict[str, Any]:
    ingest = result.ingest
    return {
        "feed": key_to_text(result.feed),
        "stored": ingest.stored,
        "duplicates": ingest.duplicates,
        "held": ingest.held,
        "fork_at": ingest.fork_at,
        "own_log": result.own_log,
    }


def event_json(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(event).__name__}
    for name in getattr(event, "__slots__", ()):
        value = getattr(event, name)
        out[name] = key_to_text(value) if isinstance(value, bytes) and len(value) == 32 else value
    return out


async def _read_request(stream: trio.SocketStream) -> dict[str, Any] | None:
    data = b""
    while b"\n" not in data:
        chunk = await stream.receive_some(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            raise UsageError("control request too long")
    if not data.strip():
        return None
    try:
        request = json.loads(data.split(b"\n", 1)[0])
    except ValueError as exc:
        raise UsageError(f"control request is not JSON: {exc}") from exc
    if not isinstance(request, dict):
        raise UsageError("control request must be a JSON object")
    return request


async def _send(stream: trio.SocketStream, message: dict[str, Any]) -> None:
    await stream.send_all(json.dumps(message).encode() + b"\n")


async def _send_quietly(stream: trio.SocketStream, message: dict[str, Any]) -> None:
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await _send(stream, message)


class ControlClient:
    """Talks to the node running for a data directory (blocking; for the CLI)."""

    def __init__(self, data_dir: Path, timeout: float = 300.0) -> None:
        self.path = socket_path(data_dir)
        self.timeout = timeout

    def available(self) -> bool:
        try:
            with self._connect():
                return True
        except NodeNotRunningError:
            return False

    def _connect(self) -> socket.socket:
        if len(os.fsencode(self.path)) >= _MAX_PATH:
            raise NodeNotRunningError(
                f"lndesk commands cannot reach a node for {self.path.parent}: the path is too "
                "long for its control socket",
                hint="Use a data directory with a shorter path (--data-dir).",
            )
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(os.fspath(self.path))
        except (FileNotFoundError, ConnectionRefusedError, OSError) as exc:
            sock.close()
            raise NodeNotRunningError(f"no node is running for {self.path.parent}") from exc
        return sock

    def request(self, op: str, **args: Any) -> Iterator[dict[str, Any]]:
        """Yield the server's lines; raise LndeskError if the last one is an error."""
        with self._connect() as sock:
            try:
                sock.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
                with sock.makefile("rb") as lines:
                    for line in lines:
                        message = json.loads(line)
                        if message.get("done"):
                            if "error" in message:
                                raise LndeskError(message["error"], message.get("hint", ""))
                            yield message
                            return
                        yield message
            except (OSError, ValueError) as exc:  # reset, timed out, or a torn last line
                raise ControlConnectionLost(f"the node stopped answering: {exc}") from exc
        raise ControlConnectionLost("the node closed the control connection")

    def call(self, op: str, **args: Any) -> Any:
        messages = list(self.request(op, **args))
        return messages[-1].get("result") if messages else None
