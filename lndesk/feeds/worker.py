"""Parsing fetched web feeds in a process of their own, under a wall-time limit.

feedparser is pure Python: a hostile document within the size cap (thousands of items,
deeply nested markup) costs it tens of seconds of CPU. On a thread of the node's process
that would hold the GIL and slow the node's trio thread, and nothing could stop it. So
one long-lived child process (started with 'spawn', safe beside Qt) parses one document
at a time: the trio side waits on its pipe, which takes no CPU and can be cancelled. A
parse that outlasts :data:`PARSE_SECONDS`, or whose caller is cancelled (the node
stopping), kills the child; the next parse starts a new one.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar, cast

import trio

from lndesk.errors import FeedError
from lndesk.webfeeds import ParsedFeed

log = logging.getLogger(__name__)

PARSE_SECONDS = 20.0
"""Wall time one document may take to parse before its parse is stopped."""

_T = TypeVar("_T")
_Request = tuple[bytes, str, str]
_Answer = tuple[str, object, str | None]


async def _abandonable(work: Callable[[], _T]) -> _T:
    """``work()`` on a trio worker thread that a cancelled caller stops waiting for (the
    child is killed then, which ends the thread's send or receive)."""
    run: Any = trio.to_thread.run_sync  # trio-typing's stubs predate abandon_on_cancel
    return cast(_T, await run(work, abandon_on_cancel=True))


def _serve(conn: Connection) -> None:
    """The child: parse each request until the pipe closes."""
    from lndesk.feeds.parse import parse_feed  # noqa: PLC0415 - loaded in the child only

    while True:
        try:
            body, url, content_type = conn.recv()
        except EOFError:
            return
        answer: _Answer
        try:
            answer = ("ok", parse_feed(body, url, content_type), None)
        except FeedError as exc:
            answer = ("feed", exc.message, exc.hint)
        except Exception as exc:  # a parser bug is told to the caller, the child goes on
            answer = ("bug", f"{type(exc).__name__}: {exc}", None)
        conn.send(answer)


def timed_out(url: str, seconds: float) -> FeedError:
    """The error of a document whose parse was stopped after ``seconds``."""
    return FeedError(
        f"reading the web feed at {url} took longer than {seconds:g} seconds and was "
        "stopped (the document is too large or too complex to read)",
        "lndesk tries it again at its next refresh; if this keeps happening, ask the feed's "
        "owner for a shorter feed, or remove it (lndesk feeds list shows its number, "
        "lndesk feeds remove NUMBER removes it).",
    )


class ParseWorker:
    """The child process that parses web feeds for one trio thread, one at a time."""

    def __init__(self, seconds: float = PARSE_SECONDS) -> None:
        self.seconds = seconds
        self._ctx = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = trio.Lock()
        self.started = 0
        """How many child processes were started (a killed one is replaced)."""

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _start(self) -> Connection:
        if self._conn is not None and self.alive:
            return self._conn
        self.close()
        ours, theirs = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_serve, args=(theirs,), name="lndesk-feed-parser", daemon=True
        )
        process.start()
        theirs.close()
        self._process, self._conn = process, ours
        self.started += 1
        return ours

    def close(self) -> None:
        """Kill the child, if any (a parse in progress is lost; nothing is stored).

        Our end of the pipe is left to the garbage collector: a thread abandoned on it
        (a send or receive its caller stopped waiting for) reads the end of the pipe once
        the child is gone and then lets it go; closing it under that thread could hand
        its number to another file."""
        process = self._process
        self._process = self._conn = None
        if process is not None:
            process.kill()
            process.join(5)
            if process.exitcode is not None:
                process.close()

    async def parse(self, body: bytes, url: str, content_type: str = "") -> ParsedFeed:
        """The feed in ``body``, parsed in the child; :class:`FeedError` if it is none or
        if its parse took longer than :attr:`seconds`."""
        async with self._lock:
            done = False
            try:
                conn = await trio.to_thread.run_sync(self._start)
                request: _Request = (body, url, content_type)
                with trio.move_on_after(self.seconds) as scope:
                    await _abandonable(functools.partial(conn.send, request))
                    await trio.lowlevel.wait_readable(conn.fileno())
                    answer: _Answer = await _abandonable(conn.recv)
                    done = True
                if scope.cancelled_caught:
                    log.info("parsing the feed %s was stopped after %g s", url, self.seconds)
                    raise timed_out(url, self.seconds)
            except EOFError as exc:
                raise FeedError(
                    f"the web feed at {url} could not be read (its parser stopped)"
                ) from exc
            finally:
                if not done:
                    self.close()
        kind, value, hint = answer
        if kind == "ok" and isinstance(value, ParsedFeed):
            return value
        if kind == "feed":
            raise FeedError(str(value), hint)
        raise FeedError(f"the web feed at {url} could not be read ({value})")
