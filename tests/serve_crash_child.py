"""`lndesk serve` that kills itself (SIGKILL) at one point of the first publish.

Usage: ``python serve_crash_child.py MODE DATA_DIR`` where MODE is one of

* ``before-append``: before the entry is signed and appended to the log;
* ``after-append``: right after the append returned (the journal has only its intent);
* ``after-finish``: after the request's result is journaled, before the answer is sent.

Everything else is the real `lndesk serve` (no mDNS, any port).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from lndesk.app.requests import RequestJournal
from lndesk.cli.main import main
from lndesk.store.store import Store

MODE = sys.argv[1]
_publish = Store.publish
_finished = RequestJournal.finished


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def publish(self: Store, *args: Any, **kwargs: Any) -> Any:
    if MODE == "before-append":
        _die()
    entry = _publish(self, *args, **kwargs)
    if MODE == "after-append":
        _die()
    return entry


def finished(self: RequestJournal, *args: Any, **kwargs: Any) -> None:
    _finished(self, *args, **kwargs)
    if MODE == "after-finish":
        _die()


Store.publish = publish  # type: ignore[method-assign]
RequestJournal.finished = finished  # type: ignore[method-assign]
sys.exit(main(["--data-dir", sys.argv[2], "serve", "--port", "0", "--no-mdns"]))
