"""A named pipe planted where lndesk reads a file, with a writer that answers a plain
``open``: a reader that opens it as a file gets ``data`` and the end of the file (so a
test of the refusal fails, and does not hang, when the refusal is taken away)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def planted_pipe(path: Path, data: bytes) -> Iterator[Path]:
    """A named pipe at ``path`` while the block runs. A thread waits for a reader to
    open it, writes ``data`` (at most a pipe's buffer) and closes it; on leaving, the
    pipe is opened to release a writer no reader came for, and the thread is joined.

    The writer opens the pipe through a second name of its own (a hard link beside the
    directory), so the pipe may be moved or removed meanwhile, as advice may say."""
    assert len(data) <= 4096
    own = Path(tempfile.mkdtemp(prefix=".pipe-", dir=path.parent.parent))
    fifo = own / "fifo"
    os.mkfifo(fifo)
    os.link(fifo, path)

    def write() -> None:
        # A reader that looked and left at once may be gone by the write (EPIPE).
        with contextlib.suppress(OSError):
            fd = os.open(fifo, os.O_WRONLY)  # waits for a reader
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    writer = threading.Thread(target=write, name="planted-pipe-writer", daemon=True)
    writer.start()
    try:
        yield path
    finally:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            writer.join()  # its open returns now if it still waited; its write fits
        finally:
            os.close(fd)
            shutil.rmtree(own)
