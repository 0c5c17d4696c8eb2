"""The application's node: the service (identity + store) wired into a p2p node.

This is where the layers meet: :class:`lndesk.p2p.node.Node` knows only the small
FeedSource protocol, and this module hands it the store through
:class:`~lndesk.app.feeds.StoreFeeds`. It also keeps the rules that need both sides:

* what I publish is announced to my followers at once (and synced later if nobody hears);
* what I publish that addresses people (a reply, a share, a mention) is sent to their
  inboxes at once (and found by their inbox catch-up later if nobody hears);
* feeds I blocked are neither stored, served nor relayed (StoreFeeds leaves them out);
* following a feed subscribes to its announcements and asks peers and the DHT for it;
* a restored identity asks every reachable peer and the DHT how far its own log goes
  (:class:`~lndesk.app.restore.OwnLogSurvey`); the user confirms before it publishes;
* stored text becomes searchable in the background (:class:`TextIndexer`), never holding
  up publishing or syncing.

Everything here runs on the node's trio thread (see :mod:`lndesk.app.runtime`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import trio
import trio.testing

from lndesk.app import heap
from lndesk.app.datadir import DEFAULT_PORT, PEERS_NAME, Config
from lndesk.app.diskwatch import DiskWatch
from lndesk.app.feeds import StoreFeeds
from lndesk.app.inbox_quota import InboxGate
from lndesk.app.restore import SURVEY_WINDOW, OwnLogSurvey
from lndesk.app.service import Service
from lndesk.app.thread_watch import ThreadWatch
from lndesk.content import Follow, Unfollow, parse_content
from lndesk.entry import Entry, decode_entry
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.events import EntriesStored, Event, EventSink, FeedSynced, PeerHolds
from lndesk.p2p.node import Node
from lndesk.pseudonyms import PseudonymKeys
from lndesk.store import compact
from lndesk.store.store import Store

logger = logging.getLogger(__name__)

T = TypeVar("T")


def set_network_log_level(level: int) -> None:
    """How much the network libraries log (py-libp2p, multiaddr, zeroconf).

    Importing libp2p, which importing this module does, resets its logger: level WARNING
    and no propagation, so Python's last-resort handler printed its routine complaints
    (a peer without the relay protocol, a DHT stream closed early) to stderr. Setting
    the level must therefore come after the import; messages then go to the
    application's own handlers.
    """
    names = ("libp2p", "multiaddr", "zeroconf")
    for name in names:
        network_logger = logging.getLogger(name)
        network_logger.setLevel(level)
        network_logger.propagate = True
    # Some of their modules set a level of their own (libp2p's auto-connector: INFO).
    for name, child in logging.Logger.manager.loggerDict.items():
        if name.startswith(tuple(f"{n}." for n in names)) and isinstance(child, logging.Logger):
            child.setLevel(logging.NOTSET)


def node_config(config: Config, **overrides: Any) -> NodeConfig:
    """The network settings of a data directory, with command-line overrides applied."""
    values: dict[str, Any] = {
        "listen_port": config.port,
        "bootstrap": tuple(config.bootstrap),
        "mdns": config.mdns,
        "relay_hop": config.relay_hop,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    # The default port, taken, gives way to a free one; a port chosen for this run does not.
    values.setdefault(
        "port_fallback",
        config.port == DEFAULT_PORT and overrides.get("listen_port") is None,
    )
    return NodeConfig(**values)


class TextIndexer:
    """Moves staged text into the full-text index, in the background of the node thread.

    Storing an entry only stages its text (lndesk.store.fulltext) and its id
    (lndesk.store.idprefix); this task indexes them in chunks, so that indexing never
    holds up publishing or syncing:

    * while a sync session stores batches (one was stored less than QUIET seconds ago)
      it does not index at all: on the few cores this runs on, a chunk in the sync's
      lulls still competed with it, for the GIL (the next batch is checked on a worker
      thread while the thread waits) and for the CPU (the peer serving it): some 4,700
      documents at 44 us each while 100,000 entries arrived, 5 % of the reader's CPU.
      Search meanwhile indexes what it needs itself; the backlog follows once the sync
      is over;
    * while entries keep arriving otherwise (one came less than QUIET seconds ago: a
      burst of gossip or inbox notices), it indexes BUSY_CHUNK documents at a time,
      each in a lull: once every other task of the thread has been waiting for LULL
      seconds (the thread between two gossiped posts is). It waits at most
      IDLE_WAIT for one, so a thread that is never idle still indexes a little, and
      takes at most SHARE of the thread: after a chunk that took t seconds it sleeps
      t * (1 - SHARE) / SHARE. While fewer than BUSY_CHUNK are staged, it takes no
      chunk less than GATHER seconds after the last one: live posts come one by one,
      and a chunk of one costs seven times a post's share of a chunk of twenty
      (bench/relay_ingest.py), so those of GATHER seconds are indexed together (a
      search meanwhile indexes what it needs itself);
    * once nothing has arrived for QUIET seconds, it indexes CHUNK documents at a time
      at full speed, each as soon as every other task of the thread waits (so they
      all run between two chunks, however often they need the thread);
    * either way a chunk holds the thread for about STEP seconds at most: the chunk
      size follows the time the last one took, from MIN_CHUNK up to CHUNK (BUSY_CHUNK).
      A chunk costs more as the index grows (FTS5's merges): 500 documents took 250 ms
      at a million. A peer's stream open needs the thread dozens of times (each step
      of its handshakes and of the multiplexer): when the indexer only yielded between
      such chunks, each of those waited for one, and the opens timed out;
    * with nothing staged it sleeps until :meth:`arrived` wakes it, or RECHECK seconds
      pass (text staged without an EntriesStored event, say from an imported backup, is
      found that way; so is text staged before the node started);
    * with nothing staged, it first gives the index file's free pages back if it holds
      many (:meth:`reclaim`: the pages of the table migration 8 dropped, once the new
      one is filled).
    """

    CHUNK = 500
    BUSY_CHUNK = 200
    MIN_CHUNK = 2
    STEP = 0.02
    SHARE = 0.3
    QUIET = 1.0
    LULL = 0.01
    GATHER = 3.0
    IDLE_WAIT = 1.0
    RECHECK = 10.0
    RETRY = 60.0
    """Seconds to wait after indexing failed (a full disk, say) before trying again."""
    RECLAIM_RETRY = 600.0
    """Seconds to wait after a copy of the index was dropped (written meanwhile) or could
    not be made, before making another."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending = 0
        """Documents staged when the indexer last looked."""
        self._wake = trio.Event()
        self._step = trio.Event()
        self._last_arrival = -float("inf")
        self.last_synced = -float("inf")
        """When (trio's clock) a sync session last stored entries."""
        self._chunk = self.MIN_CHUNK
        """Documents in the next chunk: what fits in STEP seconds at the last chunk's pace."""
        self._chunk_at = -float("inf")
        """When (trio's clock) the last chunk was indexed."""
        self._reclaim_at = -float("inf")
        """When (trio's clock) the index's free pages may be given back next."""

    def arrived(self, *, synced: bool = False) -> None:
        """Entries were stored (``synced``: by a sync session): index their text, in
        the thread's spare time for now (once the sync is over, if ``synced``)."""
        with contextlib.suppress(RuntimeError):  # outside trio: no clock, nothing to wake
            self._last_arrival = trio.current_time()
            if synced:
                self.last_synced = self._last_arrival
        self._wake.set()

    async def wait_idle(self) -> None:
        """Return once nothing is staged (the indexer has caught up)."""
        while self.store.index_backlog():
            step = self._step
            self._wake.set()
            await step.wait()

    async def wait_stepped(self) -> None:
        """Return once the indexer has taken its next step (indexed a chunk, or found
        nothing to index)."""
        await self._step.wait()

    async def run(self) -> None:
        while True:
            self._wake = trio.Event()
            try:
                self.pending = self.store.index_backlog()
            except Exception:
                await self._failed()
                continue
            if self.pending == 0:
                self._stepped()
                await self.reclaim()
                with trio.move_on_after(self.RECHECK):
                    await self._wake.wait()
                continue
            while self.pending:
                while (synced := self.last_synced + self.QUIET) > trio.current_time():
                    await trio.sleep_until(synced)  # a sync is storing batches
                busy = trio.current_time() - self._last_arrival < self.QUIET
                if busy and self.pending < self.BUSY_CHUNK:  # gather live posts
                    await trio.sleep_until(self._chunk_at + self.GATHER)
                busy = trio.current_time() - self._last_arrival < self.QUIET
                # Only once every other task waits (for LULL, while busy): a peer's
                # stream, which needs the thread many times over, never queues behind
                # more than one chunk.
                with trio.move_on_after(self.IDLE_WAIT):
                    await trio.testing.wait_all_tasks_blocked(self.LULL if busy else 0)
                limit = min(self._chunk, self.BUSY_CHUNK if busy else self.CHUNK)
                started = time.perf_counter()
                try:
                    self.pending = self.store.index_text(limit)
                except Exception:
                    await self._failed()
                    break
                spent = time.perf_counter() - started
                self._chunk_at = trio.current_time()
                self._chunk = self._next_chunk(limit, spent)
                self._stepped()
                await trio.sleep(spent * (1 - self.SHARE) / self.SHARE if busy else 0)

    async def reclaim(self) -> bool:
        """Give the index file's free pages back, if it holds many and nothing is left to
        index (:mod:`lndesk.store.compact`): a compact copy is made on a worker thread
        while the node goes on, and takes the index's place only if nothing was written
        to it meanwhile. Whether it did; after a try that did not, the next waits
        RECLAIM_RETRY."""
        if trio.current_time() < self._reclaim_at:
            return False
        try:
            job = compact.start(self.store)
            if job is None:
                return False
            try:
                run: Any = trio.to_thread.run_sync  # trio-typing's stubs predate the keyword
                await run(job.copy, abandon_on_cancel=True)
            except BaseException:
                job.interrupt()  # the node is stopping, or the copy failed
                raise
            done = compact.finish(self.store, job)
        except Exception:
            logger.exception("the index file's free pages could not be given back")
            done = False
        if not done:
            self._reclaim_at = trio.current_time() + self.RECLAIM_RETRY
        return done

    def _next_chunk(self, limit: int, spent: float) -> int:
        """The size of a chunk that takes about STEP seconds, if one of ``limit``
        documents took ``spent`` (growing at most twofold a step)."""
        fitting = int(limit * self.STEP / spent) if spent > 0 else 2 * limit
        return max(self.MIN_CHUNK, min(fitting, 2 * limit, self.CHUNK))

    def _stepped(self) -> None:
        self._step.set()
        self._step = trio.Event()

    async def _failed(self) -> None:
        logger.exception("indexing text for search failed; trying again later")
        await trio.sleep(self.RETRY)


class AppNode:
    """A running node for one open data directory."""

    def __init__(
        self,
        service: Service,
        config: NodeConfig,
        listener: EventSink,
        *,
        survey_window: float = SURVEY_WINDOW,
    ) -> None:
        self.service = service
        self._listener = listener
        self._extra: list[EventSink] = []
        self.pseudonyms = PseudonymKeys(service.data_dir)
        gate = InboxGate(
            service.store,
            service.local.conn,
            service.public_key,
            service.local.accepted,
            pseudonyms=self.pseudonyms,
        )
        self.feeds = StoreFeeds(
            service.store,
            service.public_key,
            blocked=service.local.blocked,
            gate=gate,
            pseudonyms=self.pseudonyms,
        )
        self.indexer = TextIndexer(service.store)
        self.node = Node(
            service.identity.seed,
            self.feeds,
            config,
            events=self._on_event,
            peerbook=service.data_dir / PEERS_NAME,
        )
        self.survey = OwnLogSurvey(service, self.node, window=survey_window)
        self.threads = ThreadWatch(service, self.node, config.resync_interval)
        self.disk = DiskWatch(service.store.space, self.node.warn, self._sync_all)
        self.heap_settled = trio.Event()
        """Set once the started node's objects are kept out of full GC passes."""

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run the network node, and the text indexer beside it, until :meth:`stop`;
        a restored identity also asks its peers how far its own log goes."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.indexer.run)
            nursery.start_soon(self.disk.run)
            nursery.start_soon(self.threads.run)
            nursery.start_soon(self._survey_once_started)
            nursery.start_soon(self._settle_heap_once_started)
            await self.node.run(task_status=task_status)
            nursery.cancel_scope.cancel()

    async def _settle_heap_once_started(self) -> None:
        """Keep what exists once the node listens out of the collector's full passes
        (:mod:`lndesk.app.heap`) until the node stops."""
        await self.node.started.wait()
        heap.settle()
        self.heap_settled.set()
        try:
            await trio.sleep_forever()
        finally:
            heap.unsettle()

    async def _survey_once_started(self) -> None:
        await self.node.started.wait()
        if self.survey.active():
            await self.survey.run()
        self.survey.finished.set()

    def stop(self) -> None:
        self.node.stop()

    def _sync_all(self) -> None:
        for peer in self.node.host.get_connected_peers():
            self.node.request_sync(peer)

    # --- publishing: every new entry of mine is announced ----------------------

    async def publish(self, action: Callable[[Service], T]) -> T:
        """Run a service action that may publish (as me, or as one of my pseudonyms);
        announce what it published. A pseudonym the action made is served and its
        announcements and inbox watched from then on."""
        mine = [self.service.public_key, *sorted(self.pseudonyms())]
        before = {key: self.feeds.held(key).height for key in mine}
        result = action(self.service)
        for key in sorted(self.pseudonyms.refresh()):
            before.setdefault(key, 0)
            await self.node.follow(key)
        for key, height in before.items():
            after = self.feeds.held(key)
            if after.height <= height:
                continue
            for seq, entry, payload in self.feeds.read_run(
                key, height + 1, after.height, 100, 1 << 24
            ):
                await self._after_own_entry(seq, entry, payload)
            # Whoever published (the desktop app, or `lndesk post` through the control
            # socket), every view of this node hears of it the same way.
            count = after.height - height
            self._on_event(EntriesStored(key, count, after.height, after.max_seq, "local", None))
        return result

    async def imported(self, before: int) -> None:
        """Own entries came from a backup (``lndesk import`` through the control socket),
        the log of ``before`` entries now longer: every view and the text indexer hear of
        them, and peers of the new head (one announcement, not one per old entry)."""
        own = self.service.public_key
        after = self.feeds.held(own)
        if after.height <= before:
            return
        newest = self.feeds.read_run(own, after.height, after.height, 1, 1 << 24)
        for _seq, entry, payload in newest:
            await self.node.announce(entry, payload)
        count = after.height - before
        self._on_event(EntriesStored(own, count, after.height, after.max_seq, "local", None))

    async def _after_own_entry(self, _seq: int, entry: bytes, payload: bytes | None) -> None:
        await self.node.announce(entry, payload)
        await self.node.send_notices(entry, payload)
        parsed = decode_entry(entry)
        content = _content(parsed, payload)
        if isinstance(content, Follow):
            await self.node.follow(content.feed)
        elif isinstance(content, Unfollow):
            await self.node.unfollow(content.feed)

    # --- events ----------------------------------------------------------------

    def add_listener(self, listener: EventSink) -> None:
        self._extra.append(listener)

    def remove_listener(self, listener: EventSink) -> None:
        self._extra.remove(listener)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, EntriesStored):
            self.indexer.arrived(synced=event.via == "sync")
        elif isinstance(event, FeedSynced) and event.feed == self.service.public_key:
            self.survey.note(event.peer, max(event.peer_height, event.peer_max_seq))
        elif isinstance(event, PeerHolds) and event.feed == self.service.public_key:
            self.survey.note(event.peer, event.height)
        self._listener(event)
        for listener in list(self._extra):
            listener(event)

    @property
    def data_dir(self) -> Path:
        return self.service.data_dir


def _content(entry: Entry, payload: bytes | None) -> object:
    if payload is None:
        return None
    try:
        return parse_content(entry.type, payload)
    except Exception:  # our own entries are valid; this is only for routing
        return None
