"""How times, counts and delivery states read in the app."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from lndesk.app.connectivity import Connectivity
from lndesk.app.items import PostItem


def relative_time(ms: int, now: float | None = None) -> str:
    """ "now", "5 min", "3 h", "2 d", then a date."""
    seconds = (now if now is not None else time.time()) - ms / 1000
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone().strftime("%Y-%m-%d")


def delivery_text(item: PostItem, connectivity: Connectivity | None = None) -> str:
    """For my own posts: whether anyone has it yet (publishing works offline), in the
    words of the app's one account of being online."""
    return (connectivity or Connectivity()).delivery(item.mine, item.seen_by)


def error_text(error: BaseException) -> str:
    """An error as the app says it: the command-line hints some errors carry become
    what to do in the app."""
    from lndesk.app.runtime import describe  # noqa: PLC0415
    from lndesk.errors import LndeskError, OwnLogUnknownError  # noqa: PLC0415
    from lndesk.ui.app_hints import app_hint  # noqa: PLC0415

    if isinstance(error, OwnLogUnknownError):
        return (  # its message says why publishing is paused (restored, or its file lost)
            f"Not published yet: {error.message}. lndesk first asks your peers how far your "
            "log goes, so that nothing you post clashes with it. Under Identity you see what "
            "they found and confirm your latest entry; or import your latest backup file there."
        )
    if isinstance(error, LndeskError):
        hint = app_hint(error)
        return f"{error.message}\n  {hint}" if hint else error.message
    return describe(error)
