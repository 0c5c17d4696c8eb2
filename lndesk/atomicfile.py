"""Write a whole file or nothing: temp file, fsync, rename, fsync the directory."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file."""
    atomic_write_chunks(path, (data,), mode)


def atomic_write_chunks(path: Path, chunks: Iterable[bytes], mode: int = 0o600) -> None:
    """:func:`atomic_write` of the bytes of ``chunks`` one after another, each written
    before the next is asked for (a file larger than one would hold in memory)."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow what we asked for
        for data in chunks:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.close(fd)
    try:
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    """Make a rename or file creation in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def first_unused(paths: Iterable[Path]) -> Path | None:
    """The first of ``paths`` that nothing (file, directory or dangling link) holds:
    where a file is saved beside others without writing over any; None if all are."""
    for path in paths:
        if not os.path.lexists(path):
            return path
    return None
