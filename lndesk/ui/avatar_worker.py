"""Peers' avatars, decoded off the GUI thread with a time limit.

A view asks :meth:`AvatarDecoder.image` while painting (or :func:`avatar_now` for a
label, one's own avatar included); the answer is the decoded picture
if it is ready, else None, and the view draws the person's fingerprint meanwhile. The
bytes go to one worker thread, which runs :func:`lndesk.ui.avatar.decode_avatar`; when a
picture is ready (or found unusable) :attr:`AvatarDecoder.changed` asks the views to
paint again. A decode still running after :data:`DECODE_TIMEOUT_MS` counts as failed: that
person keeps their fingerprint even if the decoder finishes later, and the worker is
left behind (the others go to a fresh one) so that one slow picture cannot hold the
others back.

The worker is a daemon thread, so a decoder that never returns cannot stop the app from
quitting.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from lndesk.ui.avatar import decode_avatar, round_avatar
from lndesk.ui.identicon import identicon_pixmap
from lndesk.ui.timers import RepeatingTimer, TimerFactory, qt_timer

logger = logging.getLogger(__name__)

DECODE_TIMEOUT_MS = 2000
"""How long one avatar may take to decode before it counts as unusable."""
KEPT = 256
"""Decoded avatars kept (by bytes and size); older ones are decoded again if needed."""

Decode = Callable[[bytes, int], QImage | None]
_Picture = tuple[bytes, int]
"""(picture bytes, size in pixels): one decoding job and its cached result."""


class AvatarDecoder(QObject):
    changed = Signal()
    """Some avatar became ready or failed: views showing avatars should repaint."""
    _finished = Signal(object, object)
    """(key, image or None), emitted by the worker thread, delivered on the GUI thread."""

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        decode: Decode = decode_avatar,
        timeout_ms: int = DECODE_TIMEOUT_MS,
        clock: Callable[[], float] = time.monotonic,
        timer: TimerFactory = qt_timer,
    ) -> None:
        super().__init__(parent)
        self._decode = decode
        self._timeout = timeout_ms / 1000
        self._clock = clock
        self._done: OrderedDict[_Picture, QImage | None] = OrderedDict()
        self._pending: set[_Picture] = set()
        self._queue: queue.SimpleQueue[_Picture] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._current: tuple[_Picture, float, queue.SimpleQueue[_Picture]] | None = None
        """What the worker decodes now, since when, and for which queue."""
        self._finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._watch_every = max(10, timeout_ms // 4)
        self._watchdog = RepeatingTimer(timer, self, self.check_time)

    def image(self, data: bytes, size: int) -> QImage | None:
        """The decoded avatar if it is ready; None while it is decoded or if it is not
        usable (draw the fingerprint then)."""
        key = (data, size)
        if key in self._done:
            self._done.move_to_end(key)
            return self._done[key]
        if key not in self._pending:
            self._pending.add(key)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, args=(self._queue,), name="avatar-decoder", daemon=True
                )
                self._worker.start()
            self._queue.put(key)
            if not self._watchdog.isActive():
                self._watchdog.start(self._watch_every)
        return None

    def state(self, data: bytes, size: int) -> str:
        """ "ready", "failed", "pending" or "unknown" (for tests and diagnostics)."""
        key = (data, size)
        if key in self._done:
            return "failed" if self._done[key] is None else "ready"
        return "pending" if key in self._pending else "unknown"

    def _run(self, jobs: queue.SimpleQueue[_Picture]) -> None:
        while True:
            key = jobs.get()
            self._current = (key, self._clock(), jobs)
            try:
                image = self._decode(*key)
            except Exception:  # a decoder bug must not end the worker
                logger.exception("decoding an avatar of %d bytes failed", len(key[0]))
                image = None
            if jobs is not self._queue:
                return  # given up on (too slow): a fresh worker has the queue
            self._current = None
            self._finished.emit(key, image)

    def _on_finished(self, key: _Picture, image: QImage | None) -> None:
        if key not in self._pending:
            return  # too late: it stays failed
        self._pending.discard(key)
        self._store(key, image)

    def check_time(self) -> None:
        """Give up on a decode running longer than the limit (the watchdog calls this)."""
        if not self._pending:
            self._watchdog.stop()
            return
        current = self._current
        if current is None or current[2] is not self._queue:
            return
        key, started, _jobs = current
        if self._clock() - started < self._timeout:
            return
        logger.warning("an avatar of %d bytes took too long to decode", len(key[0]))
        self._pending.discard(key)
        self._current = None
        # The worker is stuck on it: leave it behind and give the rest to a fresh one.
        waiting = list(self._pending)
        self._pending.clear()
        self._queue = queue.SimpleQueue()
        self._worker = None
        self._store(key, None)
        for data, size in waiting:
            self.image(data, size)

    def _store(self, key: _Picture, image: QImage | None) -> None:
        self._done[key] = image
        while len(self._done) > KEPT:
            self._done.popitem(last=False)
        self.changed.emit()


_shared: AvatarDecoder | None = None


def avatar_decoder() -> AvatarDecoder:
    """The decoder all views share (created on first use, on the GUI thread)."""
    global _shared  # noqa: PLW0603
    if _shared is None:
        _shared = AvatarDecoder()
    return _shared


def avatar_now(data: bytes, size: int, key: bytes) -> QPixmap:
    """The round avatar to show for ``data`` now: the picture once the shared decoder has
    it, ``key``'s fingerprint until then (and if it is unusable). A view showing it
    draws it again on :attr:`AvatarDecoder.changed`."""
    image = avatar_decoder().image(data, size) if data else None
    return round_avatar(image, size, key)


def person_icon(key: bytes, avatar: bytes, size: int) -> QPixmap:
    """A person's icon in a list: their picture (round) once the shared decoder has it,
    else their key's fingerprint. The list redraws on :attr:`AvatarDecoder.changed`."""
    image = avatar_decoder().image(avatar, size) if avatar else None
    if image is None:
        return identicon_pixmap(key, size)
    return round_avatar(image, size, key)
