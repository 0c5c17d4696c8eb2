"""Where the network libraries' messages go: a log file in the data directory.

py-libp2p, multiaddr and zeroconf log the routine events of a peer-to-peer network (a
peer that went away, a protocol a peer lacks) as warnings and errors; printed to the
terminal they buried lndesk's own output. They go to ``network.log`` in the data directory
(two files of at most 1 MB), where a bug report can find them; with ``-v`` they are also
shown on the terminal, from INFO up.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from lndesk.app.node import set_network_log_level

logger = logging.getLogger(__name__)

NETWORK_LOG_NAME = "network.log"
NETWORK_LOGGERS = ("libp2p", "multiaddr", "zeroconf")
MAX_BYTES = 1 << 20


class NetworkLogFile(RotatingFileHandler):
    """The handler that writes the network libraries' messages to ``network.log``."""


def route_network_logs(data_dir: Path, verbose: bool | None = None) -> Path | None:
    """Send the network libraries' messages to ``data_dir/network.log``.

    ``verbose`` (by default: whether lndesk itself logs at INFO, as with ``-v``) also
    passes them on to the terminal. Returns the log file, or None if it cannot be written
    (read-only media): then they are dropped unless verbose. Call it after libp2p is
    imported (importing it resets its logger).
    """
    if verbose is None:
        verbose = logging.getLogger("lndesk").isEnabledFor(logging.INFO)
    set_network_log_level(logging.INFO if verbose else logging.WARNING)
    path = data_dir / NETWORK_LOG_NAME
    handler: NetworkLogFile | None
    try:
        handler = NetworkLogFile(path, maxBytes=MAX_BYTES, backupCount=1, encoding="utf-8")
    except OSError as exc:
        logger.info("network messages are not kept: %s cannot be written (%s)", path, exc)
        handler = None
    if handler is not None:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in NETWORK_LOGGERS:
        network_logger = logging.getLogger(name)
        for old in [h for h in network_logger.handlers if isinstance(h, NetworkLogFile)]:
            network_logger.removeHandler(old)
            old.close()
        if handler is not None:
            network_logger.addHandler(handler)
        network_logger.propagate = verbose
    return path if handler is not None else None
