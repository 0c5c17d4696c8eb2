"""A data directory that does not exist is created only by the commands that make one.

A mistyped ``--data-dir`` (or ``LNDESK_DATA_DIR``) must not leave a folder of empty store
files behind, nor answer with an error about files inside it: every other command says
that there is no lndesk data there, before it touches anything.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lndesk.errors import NoIdentityError, UsageError

CREATING = frozenset({"init", "import", "app", "screenshots"})
"""Commands that may create the data directory (``app`` through its first-start wizard)."""


def creates_data_dir(args: argparse.Namespace) -> bool:
    command = getattr(args, "command", None)
    if command is None or command in CREATING:
        return True
    return command == "key" and getattr(args, "key_command", None) != "backup"


def check_data_dir(args: argparse.Namespace) -> None:
    """Raise NoIdentityError when the command needs a data directory that does not exist."""
    data_dir: Path = args.data_dir
    if data_dir.exists() and not data_dir.is_dir():
        raise UsageError(
            f"{data_dir} is a file, not a data directory",
            "Give --data-dir (or LNDESK_DATA_DIR) a folder: an existing lndesk data "
            "directory, or a new one for lndesk init.",
        )
    if creates_data_dir(args) or data_dir.exists():
        return
    raise NoIdentityError(
        f"no identity here: there is no lndesk data directory at {data_dir}",
        "Check the path given with --data-dir (or LNDESK_DATA_DIR), or run lndesk init "
        "to create an identity there.",
    )
