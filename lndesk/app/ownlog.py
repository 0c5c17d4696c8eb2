"""Whether this identity may publish: the own-log state, kept apart from the settings.

A restored identity must not append before it knows how far its own log goes, or its
next entry forks the feed (protocol §8) and freezes it for good. That state lives in
its own small file, ``own-log.json`` in the data directory, written atomically; the
settings file (``config.json``) holds only settings that can be thrown away.

The file says::

    {"state": "restored" | "confirmed",
     "seen_height": N,          # the highest own entry any peer reported
     "seen_on": ["<hex key>"],  # peers that reported entry N
     "sources": K,              # peers that reported anything about the own feed
     "surveyed": true|false,    # a bounded search of peers and the DHT has finished
     "confirmed_height": N|null}

A missing file is created from what older versions kept in ``config.json`` (its
``own_log`` flag); an unreadable one counts as "restored": damage never unlocks
publishing, and the next search of peers writes the file again.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lndesk.app.settings_file import MAX_CONFIG_BYTES, read_settings, read_small_json
from lndesk.atomicfile import atomic_write
from lndesk.errors import StoreError

logger = logging.getLogger(__name__)

OWN_LOG_NAME = "own-log.json"
OWN_LOG_CONFIRMED = "confirmed"
OWN_LOG_RESTORED = "restored"
_LEGACY_CONFIG = "config.json"
_KEY = "key"
MAX_OWN_LOG_BYTES = MAX_CONFIG_BYTES
"""The most of ``own-log.json`` read; it holds at most :data:`MAX_SEEN_ON` peers' keys."""
MAX_SEEN_ON = 1000
"""Peers kept in ``seen_on``: enough to say "seen on 1000 peers", and the file stays
far below :data:`MAX_OWN_LOG_BYTES` however many peers report."""


@dataclass(slots=True)
class OwnLog:
    """What is known of this identity's own log, and whether publishing is allowed."""

    state: str = OWN_LOG_CONFIRMED
    seen_height: int = 0
    """The highest entry of the own log that any peer reported holding (the max wins)."""
    seen_on: list[str] = field(default_factory=list)
    """Peers (hex keys) that reported holding ``seen_height``."""
    sources: int = 0
    """Peers that reported anything about the own log."""
    surveyed: bool = False
    """A search of the reachable peers and the DHT's providers has finished."""
    confirmed_height: int | None = None
    """The latest entry the user confirmed (None for a key that was never restored)."""

    @property
    def confirmed(self) -> bool:
        return self.state == OWN_LOG_CONFIRMED

    def summary(self) -> str:
        """What the user confirms: "your log: latest entry N, seen on K peers"."""
        peers = len(self.seen_on)
        return (
            f"your log: latest entry {self.seen_height}, seen on {peers} "
            f"{'peer' if peers == 1 else 'peers'}"
        )


def own_log_path(data_dir: Path) -> Path:
    return data_dir / OWN_LOG_NAME


def load_own_log(data_dir: Path) -> OwnLog:
    """The own-log state of ``data_dir``; created from the old settings flag if missing."""
    path = own_log_path(data_dir)
    try:
        raw = read_small_json(path, MAX_OWN_LOG_BYTES)
    except FileNotFoundError:
        return _migrate(data_dir)
    except (OSError, ValueError) as exc:
        logger.warning(
            "%s is unreadable (%s); publishing stays paused until it is written again "
            "(lndesk restore-status, then lndesk confirm-log N; or lndesk import FILE "
            "--latest with your latest export)",
            path,
            exc,
        )
        return OwnLog(state=OWN_LOG_RESTORED)
    return _parse(raw)


def save_own_log(data_dir: Path, own_log: OwnLog) -> None:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps(asdict(own_log), indent=2).encode() + b"\n"
    path = own_log_path(data_dir)
    _move_directory_aside(path)
    atomic_write(path, data, mode=0o600)


def _move_directory_aside(path: Path) -> None:
    """Move a directory found where ``own-log.json`` goes out of its way, kept whole.

    An unreadable file pauses publishing until the restore flow writes the file again,
    and a file is written by renaming a new one over it, which works over any file but
    not over a directory: without this, the advice that pauses publishing (confirm-log,
    import --latest) would fail every time it is followed."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return
    except FileNotFoundError:
        return
    for number in range(1, 1000):
        aside = path.with_name(f"{path.name}.not-a-file-{number}")
        if not os.path.lexists(aside):
            break
    else:
        raise StoreError(
            f"{path} is a directory, and so are {path.name}.not-a-file-1 to -999 beside it",
            f"Move them out of {path.parent}, then run the command again.",
        )
    path.rename(aside)
    logger.warning("%s was a directory, not a file; it was moved to %s", path, aside)


def _parse(raw: object) -> OwnLog:
    if not isinstance(raw, dict):
        return OwnLog(state=OWN_LOG_RESTORED)
    state = raw.get("state")
    own_log = OwnLog(state=state if state == OWN_LOG_CONFIRMED else OWN_LOG_RESTORED)
    seen = raw.get("seen_height")
    if type(seen) is int and seen >= 0:
        own_log.seen_height = seen
    seen_on = raw.get("seen_on")
    if isinstance(seen_on, list):
        own_log.seen_on = [p for p in seen_on[:MAX_SEEN_ON] if isinstance(p, str)]
    sources = raw.get("sources")
    if type(sources) is int and sources >= 0:
        own_log.sources = sources
    own_log.surveyed = raw.get("surveyed") is True
    confirmed = raw.get("confirmed_height")
    if type(confirmed) is int and confirmed >= 0:
        own_log.confirmed_height = confirmed
    return own_log


def _migrate(data_dir: Path) -> OwnLog:
    """Older versions kept ``"own_log": "restored"`` in config.json; move it here.

    Without a key there is nothing to protect yet (installing a key writes the file).
    A settings file that cannot be read might have held the flag: paused, to be safe.
    """
    if not (data_dir / _KEY).exists():
        return OwnLog()
    try:
        raw = read_settings(data_dir / _LEGACY_CONFIG)
        restored = isinstance(raw, dict) and raw.get("own_log") == OWN_LOG_RESTORED
    except StoreError:  # reading the settings again says what is wrong, and what to do
        restored = True
    own_log = OwnLog(state=OWN_LOG_RESTORED if restored else OWN_LOG_CONFIRMED)
    try:
        save_own_log(data_dir, own_log)
    except OSError as exc:  # a read-only data directory: the answer is still right
        logger.info("could not write %s: %s", own_log_path(data_dir), exc)
    return own_log
