"""Entries addressed to people, and the entries they refer to: the node's side of it.

Three things reach a node outside of the feeds it follows (docs/protocol.md 28 to 30):

* **Inbox notices**, live: a reply, share or mention of someone is sent, by its author's
  node, on that person's inbox topic. The person's node and their followers' nodes
  subscribe to it; each stores what arrives (followers keep it to serve it to the person
  later) and GossipSub relays it.
* **Inbox catch-up**, after being offline: the node asks each peer it connects to, and
  every anti-entropy round, which entries it holds that are addressed to this node's
  key (then to each of its owner's pseudonyms), and fetches those it lacks from that peer.
* **Context**: after storing entries, the node fetches the entries they name and it
  lacks, so that a share shows what was shared and a reply what it answers: the shared
  entry, the reply's parent and root, up to ``MAX_DEPTH`` references deep.

Fetches go through :class:`~lndesk.p2p.fetch.RefFetcher` (the sync protocol) and are
bounded: at most ``MAX_QUEUED`` references wait, each is tried at most once every
``RETRY_SECONDS``, one fetch runs at a time, and each tries at most ``FETCH_PEERS`` peers.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import trio

from lndesk import canonical
from lndesk.batch import CheckedBatch
from lndesk.content import (
    REPLY,
    SHARE,
    Profile,
    addressed_keys,
    named_refs,
    parse_content,
)
from lndesk.entry import Entry, decode_entry
from lndesk.entry_refs import PostKey, Ref, ref_of
from lndesk.errors import (
    ChainError,
    EntryError,
    ForkedFeedError,
    NetworkError,
    SizeError,
    StoreError,
)
from lndesk.p2p.catchup import CATCHUP_PROTOCOL_ID, MAX_REFS, CatchupClient
from lndesk.p2p.events import EventSink, NodeWarning
from lndesk.p2p.fetch import MISSING, RefFetcher, missing_refs, ref_state
from lndesk.p2p.frame_caps import MAX_VISIT_INBOXES
from lndesk.p2p.gossip import HeadAndNoticeGossip
from lndesk.p2p.inbox_notice import InboxNotice
from lndesk.p2p.ingest import ingest_reported
from lndesk.p2p.ports import FeedSource
from lndesk.p2p.profiles import ProfileClient
from lndesk.p2p.sessions import PeerMisbehaved, Penalise
from lndesk.p2p.unsupported import Unsupported, is_not_supported
from lndesk.p2p.visit_frames import refs_digest

logger = logging.getLogger(__name__)

MAX_DEPTH = 3
"""How many references deep context is fetched (a reply's parent's parent's parent)."""
MAX_QUEUED = 256
"""References waiting to be fetched as context; more are dropped (sync repairs nothing
here, but the next entry naming them asks again)."""
RETRY_SECONDS = 300.0
"""A reference that could not be fetched is not asked for again before this."""
MAX_PROFILE_LOOKUPS = 4
"""Profile lookups of strangers running at once (more wait for the next entry of theirs)."""
FETCH_PEERS = 8
"""Most peers one fetch of references without a given peer tries."""
CATCHUP_OVERLAP_MS = 60 * 60 * 1000
"""Within one connection, catch-up asks for entries claimed since the last ask less this
(claimed times come from the authors' clocks)."""

Items = Sequence[tuple[bytes, bytes | None]]


_SHARE_TYPE = canonical.encode(SHARE)
_REPLY_TYPE = canonical.encode(REPLY)
"""The deterministic encodings of the two types that name other entries: an entry of
either type holds these bytes (its ``type`` field), so an entry without them needs no
decoding here."""


def context_refs(items: Iterable[tuple[bytes, bytes | None]]) -> list[Ref]:
    """The entries that stored entries name: what a share shares, what a reply answers.

    A :class:`~lndesk.batch.CheckedBatch` found them while its payloads were parsed
    (``named``); other items are looked through here."""
    if isinstance(items, CheckedBatch):
        return items.named
    refs: list[Ref] = []
    for raw, payload in items:
        if payload is None or (_SHARE_TYPE not in raw and _REPLY_TYPE not in raw):
            continue  # most synced entries are posts: skip decoding them a second time
        try:
            entry = decode_entry(raw)
            if entry.type not in (SHARE, REPLY):
                continue
            refs += named_refs(parse_content(entry.type, payload))
        except EntryError:  # stored as it came; its content is simply not usable
            continue
    return refs


def addressed_to(key: bytes) -> Callable[[Entry, bytes | None], bool]:
    """A fetch check: the entry's payload is present and addresses ``key``."""

    def check(entry: Entry, payload: bytes | None) -> bool:
        if payload is None:
            return False
        try:
            content = parse_content(entry.type, payload)
        except EntryError:
            return False
        return key in addressed_keys(content, entry.author)

    return check


def _is_profile(entry: Entry, payload: bytes | None) -> bool:
    """A fetch check: the entry is a profile, with its payload, that parses."""
    if payload is None:
        return False
    try:
        return isinstance(parse_content(entry.type, payload), Profile)
    except EntryError:
        return False


class InboxDelivery:
    """Receives inbox notices, runs inbox catch-up and fetches context (module docstring)."""

    def __init__(
        self,
        source: FeedSource,
        gossip: HeadAndNoticeGossip,
        fetcher: RefFetcher,
        catchup: CatchupClient,
        *,
        emit: EventSink,
        penalise: Penalise,
        is_penalised: Callable[[Any], bool],
        key_of: Callable[[Any], bytes | None],
        peer_of: Callable[[bytes], Any],
        connected: Callable[[], list[Any]],
        profiles: ProfileClient | None = None,
    ) -> None:
        self.source = source
        self._gossip = gossip
        self._fetcher = fetcher
        self._catchup = catchup
        self._emit = emit
        self._penalise = penalise
        self._is_penalised = is_penalised
        self._key_of = key_of
        self._peer_of = peer_of
        self._connected = connected
        self._nursery: trio.Nursery | None = None
        self._queue_send, self._queue = trio.open_memory_channel[tuple[Any, list[Ref], int]](
            math.inf
        )
        self._queued = 0
        self._tried: dict[PostKey, float] = {}
        self._catching_up: set[Any] = set()
        self.catchup_unsupported = Unsupported(CATCHUP_PROTOCOL_ID)
        """Peers that said ``na`` to inbox catch-up: not asked again for a while."""
        self._since: dict[tuple[Any, bytes], int] = {}
        """When each (peer, inbox key) was last asked, less the overlap."""
        self._seen: dict[tuple[Any, bytes], tuple[int, bytes]] = {}
        """Per (peer, inbox key): the ``since`` of the last answer that left nothing to
        fetch, and the digest of its references (what a visit checks, section 20.16)."""
        self._locks: dict[Any, trio.Lock] = {}
        self._idle = trio.Event()
        self._idle.set()
        self._busy = 0
        self._profiles = profiles
        self._profile_tried: dict[bytes, float] = {}
        self._profile_running: set[bytes] = set()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run the context fetcher until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                async for peer, refs, depth in self._queue:
                    self._queued -= len(refs)
                    try:
                        await self._fetch_context(peer, refs, depth)
                    finally:
                        self._end()
            finally:
                self._nursery = None

    # --- sending ---------------------------------------------------------------------

    async def send_notices(self, entry_raw: bytes, payload: bytes | None) -> int:
        """Send an inbox notice of a just-published entry to everyone it addresses.

        Returns how many notices were sent. Best effort: an entry whose notice is too big,
        or that nobody on the topic hears, reaches the addressed person by catch-up.
        """
        if payload is None:
            return 0
        try:
            entry = decode_entry(entry_raw)
            keys = addressed_keys(parse_content(entry.type, payload), entry.author)
        except EntryError:
            return 0
        sent = 0
        for key in sorted(keys):
            try:
                await self._gossip.notify(key, entry_raw, payload)
            except SizeError:
                logger.info("entry %d is too big for an inbox notice; left to catch-up", entry.seq)
                return sent
            except Exception as exc:  # offline, no topic peers: catch-up delivers it
                logger.info("could not send an inbox notice: %s", exc)
                continue
            sent += 1
        return sent

    # --- receiving -------------------------------------------------------------------

    async def on_notice(self, peer: Any, notice: InboxNotice) -> None:
        """Store a valid notice of a watched inbox (GossipSub validated it already)."""
        author, entry = notice.entry.author, notice.entry
        if self._is_penalised(peer) or not self.source.accepts(author):
            return
        if not missing_refs(self.source, [ref_of(entry)]):
            return  # held already (or another entry is held there)
        item = (entry.raw, notice.payload)
        try:
            outcome = ingest_reported(
                self.source, self._emit, author, [item], via="inbox", peer=self._key_of(peer)
            )
        except ForkedFeedError:
            return
        except ChainError as exc:  # the author forked; sync of the feed proves it
            logger.info("an inbox entry of %s does not link: %s", author.hex()[:8], exc)
            return
        except EntryError as exc:  # cannot happen for a validated notice; blame the sender
            self._penalise(peer, f"inbox notice: {exc}")
            return
        except StoreError as exc:
            self._emit(NodeWarning(f"Could not store a reply or mention: {exc}"))
            return
        if outcome.stored or outcome.filled:
            self.note_stored(peer, author, [item])
            if notice.to in self.source.inbox_keys():
                self.profiles_soon(peer, [author])

    # --- catch-up --------------------------------------------------------------------

    def catch_up_soon(self, peer: Any, keys: Sequence[bytes] | None = None) -> None:
        """Ask ``peer`` for entries addressed to this node and its owner's pseudonyms
        (or only to ``keys``), unless already asking it."""
        if (
            self._nursery is None
            or peer in self._catching_up
            or self.catchup_unsupported.skips(peer)
        ):
            return
        self._catching_up.add(peer)
        self._begin()
        self._nursery.start_soon(self._catch_up_task, peer, keys)

    def visit_checks(self, peer: Any) -> tuple[list[tuple[bytes, int, bytes]], list[bytes]]:
        """For a visit of ``peer`` (section 20.16): ``(key, since, digest)`` of each inbox
        key whose last answer from it left nothing to fetch (at most ``MAX_VISIT_INBOXES``),
        and the keys to ask with ``/lndesk/inbox/1``."""
        checks: list[tuple[bytes, int, bytes]] = []
        unasked: list[bytes] = []
        for key in self.source.inbox_keys():
            seen = self._seen.get((peer, key))
            if seen is None or len(checks) >= MAX_VISIT_INBOXES:
                unasked.append(key)
            else:
                checks.append((key, *seen))
        return checks, unasked

    def take_refs_soon(self, peer: Any, key: bytes, since: int, refs: Sequence[Ref]) -> None:
        """A visit brought the references ``peer`` now holds addressed to ``key`` since
        ``since``: fetch the missing ones, as after an ``ask``."""
        if self._nursery is None:
            return
        self._begin()
        self._nursery.start_soon(self._take_refs_task, peer, key, since, list(refs))

    async def _take_refs_task(self, peer: Any, key: bytes, since: int, refs: list[Ref]) -> None:
        try:
            await self._take_refs(peer, key, since, refs)
        except PeerMisbehaved as exc:
            logger.info("%s", exc)
        except StoreError as exc:
            self._emit(NodeWarning(f"Could not store replies or mentions: {exc}"))
        except Exception as exc:  # the peer went away
            logger.info("fetching entries addressed to us from %s failed: %s", peer, exc)
        finally:
            self._end()

    def forget(self, peer: Any) -> None:
        """The peer disconnected: ask it for everything again when it comes back."""
        for asked in [asked for asked in self._since if asked[0] == peer]:
            del self._since[asked]
        for asked in [asked for asked in self._seen if asked[0] == peer]:
            del self._seen[asked]
        lock = self._locks.get(peer)
        if lock is not None and not lock.locked():
            del self._locks[peer]

    def _lock(self, peer: Any) -> trio.Lock:
        """One fetch session at a time per peer: with the scheduler's one sync session,
        that stays within the server's ``streams_per_peer`` (2), so none is refused busy."""
        return self._locks.setdefault(peer, trio.Lock())

    async def _catch_up_task(self, peer: Any, keys: Sequence[bytes] | None) -> None:
        try:
            await self.catch_up(peer, keys)
        except PeerMisbehaved as exc:
            logger.info("%s", exc)
        except StoreError as exc:
            self._emit(NodeWarning(f"Could not store replies or mentions: {exc}"))
        except Exception as exc:  # the peer went away, or does not speak the protocol
            if is_not_supported(exc):
                self.catchup_unsupported.note(peer)
            else:
                logger.info("inbox catch-up with %s failed: %s", peer, exc)
        finally:
            self._catching_up.discard(peer)
            self._end()

    async def catch_up(self, peer: Any, keys: Sequence[bytes] | None = None) -> int:
        """Ask ``peer`` which entries addressed to this node it holds (to its own key, then
        to each of its owner's pseudonyms: one ``ask`` each, docs/protocol.md 29.3; or to
        ``keys``); fetch the missing ones from it. Returns how many were stored. Raises
        like the fetch."""
        stored = 0
        for key in self.source.inbox_keys() if keys is None else keys:
            stored += await self._catch_up_key(peer, key)
        return stored

    async def _catch_up_key(self, peer: Any, key: bytes) -> int:
        since = self._since.get((peer, key), 0)
        started = int(time.time() * 1000)
        refs = await self._catchup.ask(peer, key, since, MAX_REFS)
        self._since[peer, key] = max(0, started - CATCHUP_OVERLAP_MS)
        return await self._take_refs(peer, key, since, refs)

    async def _take_refs(self, peer: Any, key: bytes, since: int, refs: Sequence[Ref]) -> int:
        """Fetch from ``peer`` the entries of ``refs`` (its answer for ``key`` since
        ``since``) that are missing; once none is, a visit may check the answer by its
        digest."""
        self._seen.pop((peer, key), None)
        missing = [ref for ref in missing_refs(self.source, refs) if ref[0] != key]
        stored = 0
        if missing:
            logger.info("%s holds %d entries addressed to us that we lack", peer, len(missing))
            async with self._lock(peer):
                report = await self._fetcher.fetch_from(
                    peer, missing, via="inbox", check=addressed_to(key)
                )
            self._context_of(peer, report.stored, 0)
            self.profiles_soon(peer, [author for author, _raw, _payload in report.stored])
            stored = len(report.stored)
            missing = [ref for ref in missing_refs(self.source, missing) if ref[0] != key]
        if not missing and peer in self._connected():
            self._seen[peer, key] = (since, refs_digest(refs))
        return stored

    # --- the profiles of strangers ---------------------------------------------------------

    def profiles_soon(self, peer: Any, authors: Iterable[bytes]) -> None:
        """Fetch from ``peer`` the current profile of each of ``authors`` whose profile is
        not held (people who addressed this node: strangers, often), so they are shown by
        name. Bounded: at most ``MAX_PROFILE_LOOKUPS`` at once, each author at most once
        every ``RETRY_SECONDS``."""
        if self._profiles is None or self._nursery is None:
            return
        own = self.source.own_key()
        now = time.monotonic()
        if len(self._profile_tried) > 4 * MAX_QUEUED:
            self._profile_tried = {
                k: t for k, t in self._profile_tried.items() if now - t < RETRY_SECONDS
            }
        for author in dict.fromkeys(authors):
            if len(self._profile_running) >= MAX_PROFILE_LOOKUPS:
                return
            tried = self._profile_tried.get(author)
            if author == own or (tried is not None and now - tried < RETRY_SECONDS):
                continue
            if not self.source.accepts(author) or self.source.profile_ref(author) is not None:
                continue
            self._profile_tried[author] = now
            self._profile_running.add(author)
            self._begin()
            self._nursery.start_soon(self._profile_task, peer, author)

    async def _profile_task(self, peer: Any, author: bytes) -> None:
        try:
            await self.fetch_profile(peer, author)
        except PeerMisbehaved as exc:
            logger.info("%s", exc)
        except StoreError as exc:
            self._emit(NodeWarning(f"Could not store a profile: {exc}"))
        except Exception as exc:  # the peer went away, or does not speak the protocol
            logger.info("profile lookup with %s failed: %s", peer, exc)
        finally:
            self._profile_running.discard(author)
            self._end()

    async def fetch_profile(self, peer: Any, author: bytes) -> bool:
        """Ask ``peer`` which entry holds ``author``'s current profile and fetch it from
        ``peer`` (docs/protocol.md section 31). True if it was stored. Raises like the
        fetch."""
        if self._profiles is None:
            return False
        ref = await self._profiles.ask(peer, author)
        if ref is None or not missing_refs(self.source, [ref]):
            return False
        async with self._lock(peer):
            report = await self._fetcher.fetch_from(peer, [ref], via="fetch", check=_is_profile)
        return bool(report.stored)

    # --- context and targeted fetch -----------------------------------------------------

    def note_stored(self, peer: Any, author: bytes, items: Items) -> None:
        """Entries of ``author`` were stored (from ``peer``): fetch what they refer to.
        A checked batch of posts only (nearly every synced one) names nothing: its
        entries are not looked at again."""
        self._queue_context(peer, context_refs(items), len(items), 0)

    def _context_of(
        self, peer: Any, stored: Sequence[tuple[bytes, bytes, bytes | None]], depth: int
    ) -> None:
        if depth >= MAX_DEPTH or not stored:
            return
        refs = context_refs((raw, payload) for _author, raw, payload in stored)
        self._queue_context(peer, refs, len(stored), depth)

    def _queue_context(self, peer: Any, refs: list[Ref], entries: int, depth: int) -> None:
        """Queue for fetching, at ``depth``, the references ``refs`` that ``entries``
        stored entries name and that are missing, not tried lately and of accepted
        authors, as many as there is room for."""
        if depth >= MAX_DEPTH or not refs:
            return
        room = MAX_QUEUED - self._queued
        if room <= 0:
            logger.info("context fetch queue full: references of %d entries dropped", entries)
            return
        now = time.monotonic()
        seen: set[PostKey] = set()
        fresh: list[Ref] = []
        for ref in refs:
            key = (ref[0], ref[1])
            tried = self._tried.get(key)
            if key in seen or (tried is not None and now - tried < RETRY_SECONDS):
                continue
            seen.add(key)
            if not self.source.accepts(ref[0]) or ref_state(self.source, ref) != MISSING:
                continue
            fresh.append(ref)
            if len(fresh) >= room:  # the rest is asked for when another entry names it
                break
        if not fresh:
            return
        self._prune(now)
        for ref in fresh:
            self._tried[ref[0], ref[1]] = now
        self._queued += len(fresh)
        self._begin()
        self._queue_send.send_nowait((peer, fresh, depth))

    def _prune(self, now: float) -> None:
        if len(self._tried) > 4 * MAX_QUEUED:
            self._tried = {k: t for k, t in self._tried.items() if now - t < RETRY_SECONDS}

    async def _fetch_context(self, peer: Any, refs: list[Ref], depth: int) -> None:
        try:
            stored = await self._fetch(refs, self._candidates(refs, peer, only=False), "fetch")
        except StoreError as exc:
            self._emit(NodeWarning(f"Could not store a shared or replied-to post: {exc}"))
            return
        except Exception:  # a bug must not stop the fetcher
            logger.exception("context fetch failed")
            return
        self._context_of(peer, stored, depth + 1)

    async def fetch_refs(self, refs: Sequence[Ref], peer: Any = None) -> int:
        """Fetch the referenced entries that are not stored, from ``peer`` or else from
        connected peers (the authors' own nodes first). Returns how many were stored.

        Entries they refer to in turn are fetched as context afterwards.
        """
        wanted = missing_refs(self.source, refs)
        if not wanted:
            return 0
        candidates = self._candidates(wanted, peer, only=peer is not None)
        self._begin()
        try:
            stored = await self._fetch(wanted, candidates, "fetch")
        finally:
            self._end()
        self._context_of(peer, stored, 1)
        return len(stored)

    def _candidates(self, refs: Sequence[Ref], peer: Any, *, only: bool) -> list[Any]:
        if only:
            return [peer]
        connected = list(self._connected())
        order = [peer] if peer is not None and peer in connected else []
        for author in dict.fromkeys(ref[0] for ref in refs):
            node = self._peer_of(author)
            if node in connected:
                order.append(node)
        order += connected
        return [p for p in dict.fromkeys(order) if not self._is_penalised(p)][:FETCH_PEERS]

    async def _fetch(
        self, refs: list[Ref], peers: list[Any], via: str
    ) -> list[tuple[bytes, bytes, bytes | None]]:
        stored: list[tuple[bytes, bytes, bytes | None]] = []
        pending = refs
        for peer in peers:
            if not pending:
                break
            try:
                async with self._lock(peer):
                    report = await self._fetcher.fetch_from(peer, pending, via=via)
            except (PeerMisbehaved, NetworkError) as exc:
                logger.info("fetching entries from %s failed: %s", peer, exc)
                continue
            except StoreError:
                raise
            except Exception as exc:  # libp2p: the peer went away or lacks the protocol
                logger.info("fetching entries from %s failed: %s", peer, exc)
                continue
            stored += report.stored
            pending = missing_refs(self.source, pending)
        return stored

    # --- waiting (tests, `sync --wait`) -------------------------------------------------

    def _begin(self) -> None:
        if self._busy == 0:
            self._idle = trio.Event()
        self._busy += 1

    def _end(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> None:
        """Wait until no catch-up or fetch runs or waits (or ``timeout``)."""
        with trio.move_on_after(timeout):
            await self._idle.wait()
