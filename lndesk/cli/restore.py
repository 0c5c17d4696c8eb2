"""After `lndesk key restore`: learn how far the own log goes, and confirm it.

``restore-status`` asks every reachable peer and the DHT (in the running node, or in a
node started for the command) and prints "your log: latest entry N, seen on K peers"
with the next step; ``confirm-log N`` lets publishing resume at entry N+1.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from lndesk.app.control import ControlClient
from lndesk.app.restore import (
    RestoreStatus,
    confirm_own_log,
    restore_status,
    status_from_json,
)
from lndesk.app.service import PassphraseSource, Service
from lndesk.cli.argtypes import entry_number

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def register(add: Add, passphrase: PassphraseSource) -> None:
    def bind(handler: Callable[[argparse.Namespace, PassphraseSource], int]) -> Any:
        return lambda args: handler(args, passphrase)

    add(
        "restore-status",
        bind(cmd_restore_status),
        "after a restore: ask peers how far your own log goes",
    )
    confirm = add(
        "confirm-log",
        bind(cmd_confirm_log),
        "after a restore: confirm your latest entry, so publishing resumes",
    )
    confirm.add_argument(
        "latest", type=entry_number, metavar="N", help="the number restore-status shows"
    )


def print_status(status: RestoreStatus) -> None:
    if status.confirmed:
        print("Your own log is known here; publishing is allowed.")
        return
    here = f"entries 1..{status.held} are here" if status.held else "none of it is here yet"
    print(f"{status.summary()}; {here}")
    print(status.advice())


def cmd_restore_status(args: argparse.Namespace, passphrase: PassphraseSource) -> int:
    client = ControlClient(args.data_dir)
    if client.available():
        status = status_from_json(client.call("restore-status"))
    else:
        with Service(args.data_dir, passphrase) as service:
            status = restore_status(service)
        if not status.confirmed:
            status = _survey_in_own_node(args, passphrase)
    print_status(status)
    return 0 if status.confirmed or status.ready else 1


def _survey_in_own_node(args: argparse.Namespace, passphrase: PassphraseSource) -> RestoreStatus:
    from lndesk.cli.network import EventPrinter, runtime_for  # noqa: PLC0415

    runtime = runtime_for(args, passphrase, EventPrinter())
    try:
        # A restored identity's node asks its peers as soon as it starts.
        return runtime.call_async(_when_surveyed)  # type: ignore[no-any-return]
    finally:
        runtime.stop()


async def _when_surveyed(app: Any) -> RestoreStatus:
    await app.survey.finished.wait()
    return restore_status(app.service)


def cmd_confirm_log(args: argparse.Namespace, passphrase: PassphraseSource) -> int:
    client = ControlClient(args.data_dir)
    if client.available():
        status = status_from_json(client.call("confirm-log", latest=args.latest))
    else:
        with Service(args.data_dir, passphrase) as service:
            status = confirm_own_log(service, args.latest)
    print(
        f"confirmed: your latest entry is {args.latest}; your next post is entry {args.latest + 1}"
    )
    print_status(status)
    return 0
