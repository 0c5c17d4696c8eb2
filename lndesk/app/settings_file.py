"""The data directory's small JSON files read as any file on the disk: bounded before
they are decoded, whatever they hold.

``config.json`` (the settings, :class:`lndesk.app.datadir.Config`) and ``own-log.json``
(:mod:`lndesk.app.ownlog`) are read here, and only here: a file too large, not UTF-8,
not JSON or nested deeper than the decoder's recursion limit is refused with a
``ValueError`` that says which, never a ``RecursionError`` or a read of gigabytes.
"""

from __future__ import annotations

from pathlib import Path

from lndesk.errors import StoreError
from lndesk.regularfile import read_small_json

MAX_CONFIG_BYTES = 1 << 20
"""The most of the settings file read: its settings take a few hundred bytes."""


def read_settings(path: Path) -> object:
    """The JSON value of the settings file ``path`` (None when there is none).

    Raises StoreError with advice that works when followed: the file holds only network
    settings, so moving it aside costs nothing that matters.
    """
    try:
        return read_small_json(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"the settings file {path} is unreadable: {exc}",
            f"Fix it, or move it aside (mv {path} {path}.bad): it holds only network "
            "settings (port, bootstrap peers, LAN discovery, relay), which then return to "
            "their defaults. Your key, your posts and whether you may publish are kept "
            "elsewhere.",
        ) from exc
