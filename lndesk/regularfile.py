"""Opening a file lndesk reads back, refusing anything that is not a regular file.

A path where lndesk keeps or is handed a file (the settings, the own-log state, the
request and purge journals, a backup) may hold something else: a named pipe, whose
plain ``open`` waits for a writer that never comes (the app or node hangs at start,
saying nothing), a device such as ``/dev/zero`` or a terminal, a socket, a directory.
:func:`open_regular` opens without waiting (``O_NONBLOCK``, which a regular file
ignores) and refuses all of these with :class:`NotRegularFileError`, an ``OSError``, so
every reader's handling of an unreadable file applies. A symbolic link is followed: it
is refused only when what it leads to is not a regular file.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import BinaryIO

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class NotRegularFileError(OSError):
    """A path lndesk reads as a file holds something else (a named pipe, a device, a
    socket, a directory). Its text says which: ``it is a named pipe (FIFO), not a
    regular file``."""

    def __str__(self) -> str:
        return self.strerror or "it is not a regular file"


def kind_of(mode: int) -> str:
    """What a non-regular file of ``st_mode`` ``mode`` is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular(fd: int, path: Path) -> None:
    """Raise NotRegularFileError unless the open ``fd`` (of ``path``) is a regular file."""
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(
            errno.EINVAL, f"it is {kind_of(mode)}, not a regular file", str(path)
        )


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading in binary, as ``open(path, "rb")`` would, unless it
    is not a regular file (NotRegularFileError) or cannot be opened (FileNotFoundError,
    PermissionError, ...). Never waits for a named pipe's writer."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        check_regular(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_small_json(path: Path, limit: int) -> object:
    """The JSON value in ``path``, reading at most ``limit`` bytes of it.

    Raises FileNotFoundError if it is missing, OSError if it cannot be read or is not a
    regular file (:class:`lndesk.regularfile.NotRegularFileError`), and
    ValueError (saying what is wrong) if it is larger than ``limit``, not UTF-8, not
    JSON, or nested too deep to decode.
    """
    with open_regular(path) as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"it holds over {limit} bytes, more than this file ever holds")
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError:
        raise ValueError("it is nested too deep") from None
