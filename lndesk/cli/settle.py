"""After a publishing command lost its node mid-request: was the entry stored?

The command asks whoever holds the data directory next: the store itself once the
stopped node's lock is gone, or a node started meanwhile (`serve`, the desktop app)
through its control socket. Both answer from the request journal and the log
(:mod:`lndesk.app.requests`), so the command says "published" or "not published"
truthfully, never "failed" for an entry that was stored.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Any

from lndesk.app.control import ControlClient
from lndesk.app.requests import stored_outcome
from lndesk.errors import (
    NodeNotRunningError,
    NotPublishedError,
    RequestUnsettledError,
)

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 60.0
"""How long a command waits for the data directory to be free or a node to answer."""
POLL_SECONDS = 0.2


def new_request_id() -> str:
    return secrets.token_hex(16)


def settle(data_dir: Path, request_id: str, timeout: float = SETTLE_SECONDS) -> dict[str, Any]:
    """The result of ``request_id`` if it was published; raises NotPublishedError if it
    was not, RequestUnsettledError if nobody could tell within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        status = stored_outcome(data_dir, request_id) or _ask_node(data_dir, request_id)
        if status is not None and status["state"] != "running":
            break
        if time.monotonic() >= deadline:
            raise RequestUnsettledError(
                "the node stopped before answering, and whether it stored the entry could "
                f"not be checked within {timeout:.0f} s"
            )
        time.sleep(POLL_SECONDS)  # another process holds the data directory for now
    if status["state"] == "published":
        result: dict[str, Any] = status["result"]
        return result
    raise NotPublishedError("not published: the node stopped before storing it")


def _ask_node(data_dir: Path, request_id: str) -> dict[str, Any] | None:
    client = ControlClient(data_dir, timeout=10)
    try:
        status: dict[str, Any] = client.call("request-status", request_id=request_id)
    except NodeNotRunningError:
        return None
    if status["state"] == "unknown":
        return {"state": "not published"}
    return status
