"""Height-vector digests, ``/lndesk/sync/3``: an anti-entropy round that costs one small
exchange when nothing changed (docs/protocol.md section 20.15).

A reader that synced with a server before opens with ``digest``: a BLAKE2b-256 of the
height vector it would ``want`` (:func:`vector_digest`). The server remembers the
vectors its readers ended their sessions with (:class:`ServedVectors`), by peer and
digest. It answers ``same`` only when it remembers a vector with that digest from this
peer *and* holds no entry above any of its heights: the digest stands for what the
reader holds, and the check is against what the server holds now, so a matching digest
never lets a server skip an entry it could serve. Anything else is ``differs``, and the
session goes on with ``want`` exactly as on ``/lndesk/sync/2``. The reader's own feed
counts as held up to the highest head of it the reader announced to this server itself
(:meth:`ServedVectors.author_sent`): an author's posts grow that feed without a session,
and its followers would otherwise answer ``differs`` at the next round after each post.

The reader remembers the digests of the vectors it ended its sessions with
(:class:`SentVectors`) and sends a digest only when its vector is unchanged since; a
changed vector goes straight to ``want`` and costs no extra round trip.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import trio
from libp2p.custom_types import TProtocol

from lndesk.p2p.frame_caps import MAX_FORKED
from lndesk.p2p.ports import FeedSource

DIGEST_PROTOCOL = TProtocol("/lndesk/sync/3")
DIGEST_SIZE = 32
PERSON = b"lndesk-heights"
"""BLAKE2b personalisation of a vector digest (zero-padded to 16 bytes)."""
RECORD = 40
"""Bytes of one (feed key, height) record: the 32-byte key, the height as u64 big-endian."""

SERVER_VECTORS_PER_PEER = 8
"""Vectors a server remembers per reader (a reader of more than ``want_feeds`` feeds
has one per session of its round)."""
SERVER_VECTOR_BYTES = 16 * 1024 * 1024
"""Bytes of remembered vectors across all readers (a 5,000-feed vector is 200 KB);
the least recently used reader's oldest vector is forgotten first."""
VECTOR_OVERHEAD = 256
"""Bytes a remembered vector takes beyond its records (its digest and its place in its
reader's table), counted against :data:`SERVER_VECTOR_BYTES`: an empty or one-feed
vector is mostly this."""
READER_OVERHEAD = 384
"""Bytes a remembered reader takes beyond its vectors (its peer ID and its table), counted
the same way, so that many peer IDs with empty wants cannot grow the memory unbounded."""
AUTHORS_SENT = 4096
"""Readers whose highest entry of their own feed sent to this server is remembered."""
READER_VECTORS = 4096
"""Digests a reader remembers, (peer, digest) pairs."""


def vector_bytes(pairs: Iterable[tuple[bytes, int]]) -> bytes:
    """The canonical form of a height vector: records sorted by feed key."""
    return b"".join(key + height.to_bytes(8, "big") for key, height in sorted(pairs))


def digest_of(canonical: bytes) -> bytes:
    return hashlib.blake2b(canonical, digest_size=DIGEST_SIZE, person=PERSON).digest()


def vector_digest(pairs: Iterable[tuple[bytes, int]]) -> bytes:
    """BLAKE2b-256 (personalised ``lndesk-heights``) of :func:`vector_bytes`."""
    return digest_of(vector_bytes(pairs))


def vector_cost(canonical: bytes) -> int:
    """What a remembered vector counts against the server's budget."""
    return len(canonical) + VECTOR_OVERHEAD


def records(canonical: bytes) -> Iterator[tuple[bytes, int]]:
    """The (feed key, height) pairs of a canonical vector."""
    for start in range(0, len(canonical), RECORD):
        yield canonical[start : start + 32], int.from_bytes(canonical[start + 32 : start + 40])


@dataclass(frozen=True, slots=True)
class VectorLook:
    """What a server holds against a reader's remembered vector (sections 20.15, 20.16)."""

    same: bool
    """No served entry above any of the vector's heights."""
    feeds: int
    """The vector's feeds (charged as a want's)."""
    forked: tuple[bytes, ...] | None
    """Feeds of the vector this node holds a fork proof of (None: more than
    ``MAX_FORKED``; empty when not looked for)."""


async def look_at_vector(
    source: FeedSource,
    vector: Sequence[tuple[bytes, int]],
    step: int,
    *,
    forks: bool,
    own: tuple[bytes, int] | None = None,
) -> VectorLook:
    """Compare ``vector`` with what ``source`` holds now, yielding every ``step`` feeds;
    without ``forks`` it stops at the first feed with more to serve. ``own`` is the
    reader's own feed and the highest entry of it the reader sent this node itself
    (:meth:`ServedVectors.author_sent`): the reader holds it whatever the vector says."""
    same, forked = True, list[bytes]()
    for number, (key, left) in enumerate(vector):
        if number and not number % step:
            await trio.sleep(0)  # let other tasks in between store lookups
        held = source.held(key)
        height = max(left, own[1]) if own is not None and key == own[0] else left
        if same and held.max_seq > height and source.serves(key):
            same = False
            if not forks:
                break
        if forks and held.forked_at is not None:
            forked.append(key)
    return VectorLook(same, len(vector), tuple(forked) if len(forked) <= MAX_FORKED else None)


class ServedVectors:
    """The server's memory: the height vectors readers ended their sessions with.

    ``bytes`` counts each vector's records and overhead and each reader's overhead
    (:data:`VECTOR_OVERHEAD`, :data:`READER_OVERHEAD`), and stays within ``budget``."""

    def __init__(
        self, per_peer: int = SERVER_VECTORS_PER_PEER, budget: int = SERVER_VECTOR_BYTES
    ) -> None:
        self._per_peer = per_peer
        self._budget = budget
        self._peers: OrderedDict[Any, OrderedDict[bytes, bytes]] = OrderedDict()
        self.bytes = 0
        self._changed = trio.Event()
        self._sent_own: OrderedDict[Any, int] = OrderedDict()

    def author_sent(self, peer: Any, seq: int) -> None:
        """``peer`` itself sent this node an entry of its own feed at ``seq`` (a head it
        announced): it holds its feed up to there, whatever vector it left."""
        self._sent_own[peer] = max(seq, self._sent_own.pop(peer, 0))
        while len(self._sent_own) > AUTHORS_SENT:
            self._sent_own.popitem(last=False)

    def sent_own(self, peer: Any) -> int:
        """The highest entry of its own feed ``peer`` sent this node (0: none)."""
        return self._sent_own.get(peer, 0)

    def remember(self, peer: Any, pairs: Iterable[tuple[bytes, int]]) -> bytes:
        """Remember ``peer``'s vector ``pairs``; returns its digest."""
        canonical = vector_bytes(pairs)
        digest = digest_of(canonical)
        vectors = self._peers.get(peer)
        if vectors is None:
            vectors = self._peers[peer] = OrderedDict()
            self.bytes += READER_OVERHEAD
        self._peers.move_to_end(peer)
        old = vectors.pop(digest, None)
        self.bytes -= vector_cost(old) if old is not None else 0
        vectors[digest] = canonical
        self.bytes += vector_cost(canonical)
        while len(vectors) > self._per_peer:
            self.bytes -= vector_cost(vectors.popitem(last=False)[1])
        while self.bytes > self._budget and self._peers:
            oldest_peer, oldest = next(iter(self._peers.items()))
            if oldest:
                self.bytes -= vector_cost(oldest.popitem(last=False)[1])
            if not oldest:
                del self._peers[oldest_peer]
                self.bytes -= READER_OVERHEAD
        self._changed.set()
        self._changed = trio.Event()
        return digest

    async def wait_remembered(self, peer: Any, digest: bytes) -> None:
        """Return once a vector of ``peer`` with ``digest`` is remembered (a session's
        vector is remembered when its reader has closed the stream)."""
        while self.recall(peer, digest) is None:
            await self._changed.wait()

    def recall(self, peer: Any, digest: bytes) -> list[tuple[bytes, int]] | None:
        """The vector of ``peer`` with ``digest``, or None if it is not remembered."""
        vectors = self._peers.get(peer)
        canonical = None if vectors is None else vectors.get(digest)
        if canonical is None:
            return None
        self._peers.move_to_end(peer)
        return list(records(canonical))


class SentVectors:
    """The reader's memory: which vector digests each server was left with."""

    def __init__(self, size: int = READER_VECTORS) -> None:
        self._size = size
        self._sent: OrderedDict[tuple[Any, bytes], None] = OrderedDict()

    def remember(self, peer: Any, digest: bytes) -> None:
        self._sent[(peer, digest)] = None
        self._sent.move_to_end((peer, digest))
        while len(self._sent) > self._size:
            self._sent.popitem(last=False)

    def forget(self, peer: Any, digest: bytes) -> None:
        self._sent.pop((peer, digest), None)

    def knows(self, peer: Any, digest: bytes) -> bool:
        return (peer, digest) in self._sent


LEFT_BYTES = 4 * 1024 * 1024
"""Bytes of vectors a reader keeps to visit with (section 20.16), least recently used
forgotten first."""


class LeftVectors:
    """The reader's memory for visits: per server and set of feeds, the vector it left
    that server with. A visit may name it while the reader's heights are no lower (its
    feeds grew from elsewhere): the server's answer then still says all it must."""

    def __init__(self, budget: int = LEFT_BYTES) -> None:
        self._budget = budget
        self._left: OrderedDict[tuple[Any, bytes], bytes] = OrderedDict()
        self.bytes = 0

    def remember(self, peer: Any, pairs: Iterable[tuple[bytes, int]]) -> None:
        canonical = vector_bytes(pairs)
        key = (peer, _keys_digest(canonical))
        old = self._left.pop(key, None)
        self.bytes += vector_cost(canonical) - (0 if old is None else vector_cost(old))
        self._left[key] = canonical
        while self.bytes > self._budget and self._left:
            self.bytes -= vector_cost(self._left.popitem(last=False)[1])

    def usable(self, peer: Any, pairs: Iterable[tuple[bytes, int]]) -> bytes | None:
        """The digest of the vector left with ``peer`` over the feeds of ``pairs``, if no
        height of ``pairs`` is below it (None otherwise)."""
        now = vector_bytes(pairs)
        left = self._left.get((peer, _keys_digest(now)))
        if left is None:
            return None
        if any(h > n for (_, h), (_, n) in zip(records(left), records(now), strict=True)):
            return None
        self._left.move_to_end((peer, _keys_digest(now)))
        return digest_of(left)

    def forget(self, peer: Any, pairs: Iterable[tuple[bytes, int]]) -> None:
        old = self._left.pop((peer, _keys_digest(vector_bytes(pairs))), None)
        self.bytes -= 0 if old is None else vector_cost(old)


def _keys_digest(canonical: bytes) -> bytes:
    keys = b"".join(canonical[start : start + 32] for start in range(0, len(canonical), RECORD))
    return hashlib.blake2b(keys, digest_size=16).digest()
