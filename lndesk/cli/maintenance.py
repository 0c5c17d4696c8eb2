"""The data directory's upkeep: ``lndesk import``, ``reindex`` and ``repair``.

Each runs on its own, or while a node (``lndesk serve`` or the desktop app) holds the
data directory: ``import`` and ``reindex`` then run inside that node, through its
control socket, and report the same way. ``repair`` is the one that waits for the node
to stop: see :data:`REPAIR_NEEDS_THE_NODE_STOPPED`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lndesk.app.control import ControlClient
from lndesk.app.ownlog import OWN_LOG_CONFIRMED
from lndesk.app.service import Service
from lndesk.errors import StoreLockedError, UsageError
from lndesk.keytext import key_to_text, short_key
from lndesk.wording import counted

OpenService = Callable[..., Service]

REPAIR_NEEDS_THE_NODE_STOPPED = (
    "lndesk repair cannot run while a node uses this data directory: it rewrites the log "
    "file that the node keeps open and appends to"
)
"""Why repair, alone of all commands, waits for the node to stop: it replaces the log
file itself, which every part of a running node (its store, its peers' syncs, the text
indexer) reads and appends to. Reindex only swaps the index, which the node can do."""

STOP_THE_NODE = (
    "Stop the node first: press Ctrl-C where lndesk serve runs, or choose Quit (Ctrl+Q) in "
    "the desktop app (closing its window may leave it running in the tray). Then run "
    "lndesk repair again."
)


def _node(args: argparse.Namespace) -> ControlClient | None:
    """The node that holds the data directory, when one runs and answers."""
    client = ControlClient(args.data_dir)
    return client if client.available() else None


def cmd_reindex(args: argparse.Namespace, service: OpenService) -> int:
    try:
        with service(args, lazy=True) as opened:
            count = opened.reindex()
    except StoreLockedError:
        client = _node(args)
        if client is None:
            raise
        print(
            "rebuilding the index inside the running node; it keeps working meanwhile, "
            "and lists and search use the old index until the new one is whole"
        )
        count = int(client.call("reindex")["entries"])
    print(f"rebuilt the index from the log: {counted(count, 'entry', 'entries')}")
    return 0


def cmd_repair(args: argparse.Namespace, service: OpenService) -> int:
    try:
        with service(args, lazy=True) as opened:
            report = opened.repair()
            own = opened.public_key if opened.key_path.exists() else None
    except StoreLockedError as exc:
        if _node(args) is None:
            raise
        raise UsageError(REPAIR_NEEDS_THE_NODE_STOPPED, STOP_THE_NODE) from exc
    if not report.damaged:
        print(f"the log is not damaged ({report.kept} valid records); nothing to repair")
        return 0
    size = sum(damaged.size for damaged in report.damaged)
    print(f"kept {report.kept} valid records; the index now holds {report.entries} entries")
    print(f"moved {size} damaged bytes ({counted(len(report.damaged), 'range')}) to {report.saved}")
    print("  Keep that file, or send it with a bug report; lndesk no longer needs it.")
    for key, seqs in report.lost.items():
        whose = "your own log" if key == own else f"the log of {short_key(key)}"
        print(f"lost here: {whose}, entries {ranges(seqs)}")
    if not report.known_before:
        print("The old index could not be read, so which entries were lost is not known.")
    if own is not None and (own in report.lost or not report.known_before):
        print(
            "Publishing waits until lndesk knows how far your own log goes: run "
            "lndesk restore-status (with peers online), then lndesk confirm-log N. "
            "Syncing fetches the missing entries back from peers that hold them."
        )
    elif report.lost:
        print("The next sync fetches the missing entries from peers that hold them.")
    return 0


def ranges(seqs: list[int]) -> str:
    """1, 2, 3, 7 -> "1-3, 7"."""
    parts: list[str] = []
    start = previous = seqs[0]
    for seq in [*seqs[1:], -1]:
        if seq != previous + 1:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = seq
        previous = seq
    return ", ".join(parts)


def cmd_import(args: argparse.Namespace, service: OpenService) -> int:
    try:
        with service(args) as opened:
            result = opened.import_backup(args.file, latest=args.latest)
        done: dict[str, Any] = {
            "installed": result.installed_key,
            "feed": key_to_text(result.feed),
            "stored": result.ingest.stored,
            "duplicates": result.ingest.duplicates,
            "fork_at": result.ingest.fork_at,
            "own_log": result.own_log,
        }
    except StoreLockedError:
        client = _node(args)
        if client is None:
            raise
        done = _import_through(client, args.file, latest=args.latest)
    _report_import(done)
    return 0


def _import_through(client: ControlClient, path: Path, *, latest: bool) -> dict[str, Any]:
    """Import inside the running node, showing its progress on the terminal."""
    print("importing into the running node", file=sys.stderr)
    result: dict[str, Any] = {}
    for message in client.request("import", path=str(path.resolve()), latest=latest):
        event = message.get("event")
        if isinstance(event, dict) and event.get("type") == "ImportProgress":
            print(f"  {event['done']:,} of {event['total']:,} entries", file=sys.stderr)
        elif message.get("done"):
            result = {"installed": False, **message["result"]}
    return result


def _report_import(done: dict[str, Any]) -> None:
    if done["installed"]:
        print(f"restored identity {done['feed']}")
    stored = counted(done["stored"], "entry", "entries")
    print(f"imported {stored} ({done['duplicates']:,} already here)")
    if done["fork_at"] is not None:
        print(f"warning: the backup conflicts with stored entries at {done['fork_at']}")
    if done["own_log"] != OWN_LOG_CONFIRMED:
        print(
            "Publishing stays paused until lndesk knows your latest entry. If you published "
            "nothing after making this backup, run lndesk import FILE --latest; otherwise "
            "run lndesk restore-status to ask your peers, then lndesk confirm-log N."
        )
