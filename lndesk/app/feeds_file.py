"""The web feeds a data directory follows, opened for one command.

They live in their own file of the data directory, which SQLite lets a command and a
running app share, so a command opens it whether or not the app or ``serve`` runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lndesk.app.subscriptions import Subscriptions
from lndesk.store.feedstore import FeedStore


@contextmanager
def subscriptions_in(data_dir: Path) -> Iterator[Subscriptions]:
    """The web feeds of ``data_dir`` (made if missing), closed after use."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = FeedStore(data_dir)
    try:
        yield Subscriptions(store)
    finally:
        store.close()
