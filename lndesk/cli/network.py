"""Network commands: serve, peers, connect, sync, network (settings).

``serve`` runs a node in this process until Ctrl-C or SIGTERM. The other commands use
the node that already runs for the data directory (``serve`` or the desktop app),
through its control socket; when none runs, ``connect`` and ``sync`` start a node for
the length of the command.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import trio

from lndesk.app.addresses import check_bootstrap_count, check_peer_address
from lndesk.app.control import ControlClient, ControlServer, event_json
from lndesk.app.datadir import CONFIG_NAME, Config
from lndesk.app.desk import AnyEvent, NetworkUnavailable
from lndesk.app.events import (
    AddressesChanged,
    EntriesStored,
    FeedForked,
    FeedSynced,
    NodeWarning,
    PeerConnected,
    PeerLost,
    PeerPenalised,
    SyncFinished,
    SyncProgress,
)
from lndesk.app.feeds_file import subscriptions_in
from lndesk.app.refusals import shown_reason
from lndesk.app.service import PassphraseSource, Service
from lndesk.app.subscriptions import Outcome
from lndesk.app.sync_words import sync_ended_text
from lndesk.cli.argtypes import seconds, tcp_port
from lndesk.errors import DialError, NodeNotRunningError, UsageError
from lndesk.keytext import short_key
from lndesk.wording import counted

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def register(add: Add, passphrase: PassphraseSource) -> None:
    def bind(handler: Callable[[argparse.Namespace, PassphraseSource], int]) -> Any:
        return lambda args: handler(args, passphrase)

    serve = add(
        "serve",
        bind(cmd_serve),
        "run an always-on node that passes on the posts of the people you follow",
    )
    serve.add_argument("--port", type=tcp_port, help="TCP port to listen on (0: any free port)")
    serve.add_argument(
        "--bootstrap",
        action="append",
        default=[],
        metavar="MULTIADDR",
        help="also dial this peer at start (repeatable)",
    )
    serve.add_argument("--no-mdns", action="store_true", help="do not look for peers on the LAN")
    serve.add_argument(
        "--relay-hop", action="store_true", help="relay connections for peers behind NAT"
    )
    add("peers", bind(cmd_peers), "show this node's addresses and its connected peers")
    connect = add("connect", bind(cmd_connect), "connect to a peer and sync with it")
    connect.add_argument("address", metavar="MULTIADDR")
    sync = add("sync", bind(cmd_sync), "sync now with every reachable peer, then exit")
    sync.add_argument("--timeout", type=seconds, default=300, help="give up after this many s")
    sync.add_argument(
        "--wait", type=seconds, default=10, help="seconds to wait for a first peer (default 10)"
    )
    network = add("network", bind(cmd_network), "show or change the network settings")
    network.add_argument("--port", type=tcp_port, help="TCP port (0: any free port)")
    network.add_argument("--add-bootstrap", action="append", default=[], metavar="MULTIADDR")
    network.add_argument("--remove-bootstrap", action="append", default=[], metavar="MULTIADDR")
    network.add_argument("--mdns", choices=["on", "off"])
    network.add_argument("--relay-hop", choices=["on", "off"])


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


class EventPrinter:
    """Prints what a node does, one line per event (progress only when verbose)."""

    def __init__(self, *, progress: bool = False, verbose: bool = False) -> None:
        self.progress = progress
        self.verbose = verbose
        self.stored = 0

    def __call__(self, event: AnyEvent) -> None:
        if isinstance(event, EntriesStored):
            self.stored += event.count
        line = self.describe(event)
        if line:
            print(f"{_stamp()} {line}", flush=True)

    def describe(self, event: AnyEvent) -> str | None:
        if isinstance(event, PeerConnected):
            return f"peer connected: {short_key(event.peer)} {event.address}"
        if isinstance(event, PeerLost):
            return f"peer gone: {short_key(event.peer)}"
        if isinstance(event, EntriesStored):
            return (
                f"stored {counted(event.count, 'entry', 'entries')} of "
                f"{short_key(event.feed)} via {event.via} (holding {event.height:,} of the "
                f"{event.max_seq:,} they published)"
            )
        if isinstance(event, FeedForked):
            return (
                f"{short_key(event.feed)} signed two different entries at entry {event.seq}; "
                "both are kept as proof and their log takes nothing more"
            )
        if isinstance(event, PeerPenalised):
            why = shown_reason(event.reason)  # the technical reason is in the log
            return f"refusing {short_key(event.peer)} for {event.seconds:.0f} s: {why}"
        if isinstance(event, NodeWarning):
            return f"note: {event.message}"
        if isinstance(event, NetworkUnavailable):
            return f"network: {event.message}"
        if isinstance(event, AddressesChanged):
            return "reachable at:" + "".join(f"\n  {a}" for a in event.addresses)
        if self.progress and isinstance(event, SyncProgress):
            return f"  {short_key(event.feed)}  {event.held:,} of {event.target:,} entries here"
        if isinstance(event, SyncFinished) and (
            ended := sync_ended_text(event, short_key(event.peer))
        ):
            return ended
        if self.verbose and isinstance(event, SyncProgress | FeedSynced | SyncFinished):
            return str(event_json(event))
        return None


# --- serve --------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, passphrase: PassphraseSource) -> int:
    overrides: dict[str, Any] = {"listen_port": args.port}
    if args.no_mdns:
        overrides["mdns"] = False
    if args.relay_hop:
        overrides["relay_hop"] = True
    trio.run(
        _serve,
        args.data_dir,
        passphrase,
        overrides,
        args.bootstrap,
        bool(getattr(args, "verbose", False)),
    )
    return 0


async def _serve(
    data_dir: Path,
    passphrase: PassphraseSource,
    overrides: dict[str, Any],
    extra_bootstrap: list[str],
    verbose: bool,
) -> None:
    from lndesk.app.node import AppNode, node_config  # noqa: PLC0415 - libp2p loads slowly

    _quiet_network_libraries(verbose)
    printer = EventPrinter(verbose=verbose)
    with Service(data_dir, passphrase) as service, subscriptions_in(data_dir) as web_feeds:
        settings = service.config
        overrides["bootstrap"] = serve_bootstrap(settings.bootstrap, extra_bootstrap)
        # An always-on node is a hub: it holds many more followers than a laptop keeps.
        app = AppNode(service, node_config(settings, **overrides).always_on(), printer)
        web_feeds.on_polled = _print_polled
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                started = await nursery.start(app.run)
                await nursery.start(ControlServer(app).run)
                _print_started(service, started, len(web_feeds.store.subscriptions()))
                nursery.start_soon(web_feeds.poll)  # the app's poller, in this runtime
                async for signum in signals:
                    print(f"{_stamp()} stopping ({signal.Signals(signum).name})", flush=True)
                    break
                app.stop()
                nursery.cancel_scope.cancel()
    print(f"{_stamp()} stopped", flush=True)


def _print_started(service: Service, node: Any, web_feeds: int) -> None:
    following = service.following()
    print(f"lndesk node {node.peer_id}", flush=True)
    held = len(list(node.source.held_feeds()))
    people = f"{held} {'person' if held == 1 else 'people'}"
    print(f"  passing on the posts of {people} (you included); you follow {len(following)}")
    if web_feeds:
        print(f"  fetching {counted(web_feeds, 'web feed')} you follow, each at most hourly")
    print("  give a friend one of these addresses (lndesk connect ADDRESS):")
    for address in node.addresses():
        print(f"    {address}")
    print("  stop with Ctrl-C", flush=True)


def _print_polled(outcomes: list[Outcome]) -> None:
    """A line when a round of web feed fetches brought items or ran into trouble."""
    new = sum(o.new for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    paused = sum(o.status == "paused" for o in outcomes)
    if not (new or failed or paused):
        return
    parts = [counted(new, "new item")] if new else []
    if failed:
        parts.append(f"{counted(failed, 'feed')} failed")
    if paused:
        parts.append(f"{counted(paused, 'feed')} paused")
    print(f"{_stamp()} web feeds: {', '.join(parts)} (see lndesk feeds list)", flush=True)


# --- commands that use a running node, or start one -----------------------------


def _client(args: argparse.Namespace) -> ControlClient | None:
    client = ControlClient(args.data_dir)
    return client if client.available() else None


def cmd_peers(args: argparse.Namespace, _passphrase: PassphraseSource) -> int:
    client = _client(args)
    if client is None:
        raise NodeNotRunningError(f"no node is running for {args.data_dir}")
    status = client.call("status")
    print(f"this node: {status['peer_id']}")
    for address in status["addresses"]:
        print(f"  {address}")
    peers = client.call("peers")
    print(f"{len(peers)} peer(s) connected")
    for peer in peers:
        flag = "  (syncing)" if peer["syncing"] else ""
        latency = peer.get("latency_ms")
        rtt = f"  {latency:.0f} ms" if latency is not None else ""
        print(f"  {peer['key'] or peer['peer_id']}  {peer['address']}{rtt}{flag}")
    return 0


def _quiet_network_libraries(verbose: bool) -> None:
    """libp2p logs routine events of a peer-to-peer network (a peer that went away, a
    protocol a peer lacks) as errors; lndesk reports what matters itself."""
    from lndesk.app.node import set_network_log_level  # noqa: PLC0415 - imports libp2p

    set_network_log_level(logging.WARNING if verbose else logging.CRITICAL)


def runtime_for(
    args: argparse.Namespace, passphrase: PassphraseSource, printer: EventPrinter
) -> Any:
    from lndesk.app.runtime import NodeRuntime  # noqa: PLC0415 - libp2p loads slowly

    _quiet_network_libraries(bool(getattr(args, "verbose", False)))
    # A node started for one command listens on any free port: the configured one may
    # belong to a node started elsewhere with another data directory.
    runtime = NodeRuntime(args.data_dir, passphrase, control=False, listen_port=0)
    runtime.add_listener(printer)
    runtime.start()
    return runtime


def cmd_connect(args: argparse.Namespace, passphrase: PassphraseSource) -> int:
    client = _client(args)
    if client is not None:
        result = client.call("connect", address=args.address)
        print(f"connected to {result['key'] or args.address}; syncing in the running node")
        return 0
    printer = EventPrinter(verbose=bool(getattr(args, "verbose", False)))
    runtime = runtime_for(args, passphrase, printer)
    try:
        key = runtime.call_async(lambda app: app.node.connect(args.address))
        print(f"connected to {short_key(key) if key else args.address}")
        # Connecting starts a session by itself; wait for it, then make sure nothing is left.
        summary = runtime.call_async(_sync_after_connect)
    finally:
        runtime.stop()
    _print_summary(summary.peers, printer.stored, list(summary.errors))
    return 0 if not summary.errors else 1


async def _sync_after_connect(app: Any) -> Any:
    await app.node.wait_synced(300)
    return await app.node.sync_now(300)


def cmd_sync(args: argparse.Namespace, passphrase: PassphraseSource) -> int:
    client = _client(args)
    if client is not None:
        return _sync_via(client, args.timeout)
    printer = EventPrinter(progress=True, verbose=bool(getattr(args, "verbose", False)))
    runtime = runtime_for(args, passphrase, printer)
    try:
        connected = runtime.call_async(lambda app: app.node.wait_connected(args.wait))
        if not connected:
            raise DialError(
                "no peer could be reached",
                "Add a peer with lndesk network --add-bootstrap MULTIADDR, connect to one "
                "with lndesk connect MULTIADDR, or start lndesk on another machine on this LAN.",
            )
        summary = runtime.call_async(_sync_after_connect)
    finally:
        runtime.stop()
    _print_summary(summary.peers, printer.stored, list(summary.errors))
    return 0 if not summary.errors else 1


def _sync_via(client: ControlClient, timeout: float) -> int:
    result: dict[str, Any] = {}
    for message in client.request("sync", timeout=timeout):
        if "event" in message:
            event = message["event"]
            if event["type"] == "SyncProgress":
                print(
                    f"  {event['feed'][:12]}…  {event['held']:,} of {event['target']:,} "
                    "entries here",
                    flush=True,
                )
        else:
            result = message["result"]
    _print_summary(result["peers"], result["stored"], result["errors"])
    return 0 if not result["errors"] else 1


def _print_summary(peers: int, stored: int, errors: list[str]) -> None:
    print(f"sync done: {peers} session(s), {stored} new entries")
    for error in errors:
        print(f"  problem: {error}", file=sys.stderr)


# --- settings -----------------------------------------------------------------


_TOO_MANY_BOOTSTRAP = (
    "Remove one you no longer use first: lndesk network lists them, and "
    "lndesk network --remove-bootstrap MULTIADDR removes one. A few always-on peers are "
    "enough; they introduce the rest."
)


_TOO_MANY_SERVE_BOOTSTRAP = (
    "Give fewer --bootstrap addresses, or make room in the settings file: lndesk network "
    "lists the ones it keeps, and lndesk network --remove-bootstrap MULTIADDR removes one."
)


def serve_bootstrap(kept: Sequence[str], given: Sequence[str]) -> tuple[str, ...]:
    """The bootstrap peers ``serve`` dials: the settings file's, then those given with
    ``--bootstrap``, each once; UsageError when they are more than lndesk keeps (each
    is dialled, and re-dialled, for as long as the node runs)."""
    peers = tuple(dict.fromkeys([*kept, *given]))
    check_bootstrap_count(len(peers), _TOO_MANY_SERVE_BOOTSTRAP)
    return peers


def cmd_network(args: argparse.Namespace, _passphrase: PassphraseSource) -> int:
    path = args.data_dir / CONFIG_NAME
    config = Config.load(path)
    changed = False
    if args.port is not None:
        if not 0 <= args.port <= 65535:
            raise UsageError("the port must be between 0 and 65535")
        config.port, changed = args.port, True
    for address in args.remove_bootstrap:
        if address in config.bootstrap:
            config.bootstrap.remove(address)
            changed = True
    for address in args.add_bootstrap:
        check_peer_address(address)
        if address not in config.bootstrap:
            config.bootstrap.append(address)
            changed = True
    check_bootstrap_count(len(config.bootstrap), _TOO_MANY_BOOTSTRAP)
    if args.mdns is not None:
        config.mdns, changed = args.mdns == "on", True
    if args.relay_hop is not None:
        config.relay_hop, changed = args.relay_hop == "on", True
    if changed:
        args.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        config.save(path)
        print("saved; a running node uses the new settings after a restart")
    print(f"port: {config.port}{' (any free port)' if config.port == 0 else ''}")
    print(f"mdns: {'on' if config.mdns else 'off'}")
    print(f"relay for others: {'on' if config.relay_hop else 'off'}")
    print(f"bootstrap peers: {len(config.bootstrap)}")
    for address in config.bootstrap:
        print(f"  {address}")
    return 0
