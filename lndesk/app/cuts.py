"""A damaged last record of the log that held an entry of my own feed.

The store cuts a damaged tail off (so that appending can go on) after saving its bytes
beside the log (``entries.log.cut-OFFSET``, :func:`lndesk.store.recovery.cut_tail`). If
those bytes held an entry of my own feed, that entry may already be at peers: signing
its position again would fork my feed. So publishing waits, as after a restore, until
peers have said how far my log goes and I have confirmed it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from lndesk.app.ownlog import OWN_LOG_RESTORED, OwnLog, load_own_log, save_own_log
from lndesk.store.logfile import HEADER_SIZE
from lndesk.store.recovery import CUT_SUFFIX, damaged_entry
from lndesk.store.store import LOG_NAME

logger = logging.getLogger(__name__)

SEEN = ".seen"
"""Suffix of a saved tail whose own entry has been dealt with (publishing paused)."""


def own_cut_entries(data_dir: Path, own: bytes) -> list[tuple[Path, int]]:
    """Saved damaged tails not yet dealt with that held an entry of ``own``'s feed."""
    found = []
    prefix = LOG_NAME + CUT_SUFFIX
    for path in sorted(data_dir.glob(prefix + "*")):
        if not path.name[len(prefix) :].isdigit():
            continue
        try:
            with path.open("rb") as file:
                head = file.read(HEADER_SIZE + 70_000)
        except OSError as exc:
            logger.warning("cannot read %s: %s", path, exc)
            continue
        entry = damaged_entry(head)
        if entry is not None and entry.author == own:
            found.append((path, entry.seq))
    return found


def pause_for_cut_entries(data_dir: Path, own: bytes, warn: Callable[[str], None]) -> None:
    """Pause publishing for each damaged own entry that was cut; say why and what next."""
    for path, seq in own_cut_entries(data_dir, own):
        if load_own_log(data_dir).confirmed:
            save_own_log(data_dir, OwnLog(state=OWN_LOG_RESTORED))
        seen = path.with_name(path.name + SEEN)
        path.replace(seen)
        warn(
            f"entry {seq} of your own log was damaged and cut from the log (its bytes are "
            f"saved in {seen}). So that entry {seq} is never signed twice, publishing waits "
            "until lndesk knows how far your log goes: run lndesk restore-status with "
            "peers online, then lndesk confirm-log N."
        )
