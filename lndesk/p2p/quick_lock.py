"""Taking a trio lock without a trip through the scheduler when it is free.

``trio.Lock.acquire`` checkpoints even when the lock is free: a trip through trio's
scheduler, which on the paths that take a lock for every frame or message (a TCP read
or write, a yamux frame's write, a gossip stream's write) was a large share of their
cost. A caller whose next step checkpoints anyway (a socket read or write) or that
checks for cancellation itself gives nothing up by taking a free lock at once.
"""

from __future__ import annotations

import trio


async def acquire_quickly(lock: trio.Lock) -> None:
    """Take ``lock``: at once, with no checkpoint, when it is free; else wait for it as
    ``lock.acquire()`` does."""
    try:
        lock.acquire_nowait()
    except trio.WouldBlock:
        await lock.acquire()
