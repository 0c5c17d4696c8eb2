"""A restored identity learns how far its own log goes, and the user confirms it.

After ``key restore`` (or importing a backup that may be old) this device does not know
the latest entry of its own log. Appending then would sign a second entry at a seq that
already exists elsewhere: a fork, which freezes the feed for good (protocol §8). So:

* the height is learned from several independent sources: every peer reachable within a
  bounded window (bootstrap peers, peers met before, peers found on the LAN) and the
  DHT's providers of the own feed (:class:`OwnLogSurvey`);
* a peer that reports less than another is never trusted over it: the highest report
  wins, and a report is only a claim until the entries up to it are fetched, verified
  and stored here;
* the user sees "your log: latest entry N, seen on K peers" and confirms that number
  (:func:`confirm_own_log`) before the first publish.

The survey's findings are written to ``own-log.json`` (:mod:`lndesk.app.ownlog`) as they
arrive, so `lndesk restore-status` shows them from any process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from lndesk.app.ownlog import (
    MAX_SEEN_ON,
    OWN_LOG_CONFIRMED,
    OwnLog,
    load_own_log,
    save_own_log,
)
from lndesk.errors import OwnLogUnknownError, UsageError

if TYPE_CHECKING:
    from lndesk.app.service import Service

logger = logging.getLogger(__name__)

SURVEY_WINDOW = 15.0
"""Seconds the survey spends reaching peers (dials and the DHT lookup run at once)."""
SURVEY_SYNC_TIMEOUT = 120.0
"""Seconds it then waits for the sessions that ask each peer for the own log."""
KNOWN_PEERS = 20
"""Peers met before (the peer book) that the survey dials."""

STATUS_HINT = "Run lndesk restore-status to ask your peers again."


@dataclass(frozen=True, slots=True)
class RestoreStatus:
    """What a restored identity knows of its own log (see the module docstring)."""

    confirmed: bool
    latest: int
    """The highest entry reported by a peer, or held here (whichever is higher)."""
    seen_on: int
    """Peers that reported holding ``latest``."""
    sources: int
    """Peers that reported anything about the own log."""
    held: int
    """Entries 1..held of the own log are stored and verified here."""
    surveyed: bool
    forked_at: int | None

    @property
    def ready(self) -> bool:
        """The user may confirm ``latest``: peers were asked, and all of it is here."""
        return (
            not self.confirmed
            and self.surveyed
            and self.held >= self.latest
            and self.forked_at is None
        )

    def summary(self) -> str:
        peers = "peer" if self.seen_on == 1 else "peers"
        return f"your log: latest entry {self.latest}, seen on {self.seen_on} {peers}"

    def advice(self) -> str:
        """The next step, naming a command that exists."""
        if self.confirmed:
            return "Publishing is allowed."
        if self.forked_at is not None:
            return (
                f"Your log is forked at entry {self.forked_at}: two different entries were "
                "signed there, and it cannot grow any more."
            )
        if not self.surveyed:
            return "lndesk has not finished asking your peers. " + STATUS_HINT
        if self.held < self.latest:
            return (
                f"Entries {self.held + 1}..{self.latest} have not arrived yet. Run lndesk sync, "
                "then lndesk restore-status again."
            )
        if self.sources == 0:
            return (
                "No peer reported your log. If you published before, connect to a peer that "
                "follows you (lndesk connect MULTIADDR) or import your latest export "
                "(lndesk import FILE), then run lndesk restore-status again. If you are "
                f"sure your latest entry is {self.latest}, run lndesk confirm-log {self.latest}."
            )
        return (
            f"If {self.latest} is your latest entry, run lndesk confirm-log {self.latest} "
            "to publish again."
        )


def status_json(status: RestoreStatus) -> dict[str, Any]:
    """``status`` as sent over the control socket (see :func:`status_from_json`)."""
    return {name: getattr(status, name) for name in RestoreStatus.__slots__}


def status_from_json(data: dict[str, Any]) -> RestoreStatus:
    return RestoreStatus(**{name: data[name] for name in RestoreStatus.__slots__})


def restore_status(service: Service) -> RestoreStatus:
    own_log = service.own_log
    held = service.store.feed_state(service.public_key)
    return RestoreStatus(
        confirmed=own_log.confirmed,
        latest=max(own_log.seen_height, held.max_seq),
        seen_on=len(own_log.seen_on),
        sources=own_log.sources,
        held=held.height,
        surveyed=own_log.surveyed,
        forked_at=held.forked_at,
    )


def confirm_own_log(service: Service, latest: int) -> RestoreStatus:
    """The user confirms ``latest`` as the last entry of their log: publishing resumes.

    Refused unless the peers were asked, ``latest`` is the highest entry any of them
    (or this device) reported, and entries 1..latest are stored and verified here.
    """
    status = restore_status(service)
    if status.confirmed:
        return status
    if status.forked_at is not None or not status.surveyed or status.held < status.latest:
        raise OwnLogUnknownError(
            f"publishing cannot resume yet ({status.summary()}, {status.held} here)",
            status.advice(),
        )
    if latest != status.latest:
        raise UsageError(
            f"{status.summary()}, not {latest}",
            f"Check the number, then run lndesk confirm-log {status.latest}.",
        )
    own_log = service.own_log
    own_log.state = OWN_LOG_CONFIRMED
    own_log.confirmed_height = latest
    save_own_log(service.data_dir, own_log)
    logger.info("own log confirmed at entry %d; publishing allowed", latest)
    return restore_status(service)


class OwnLogSurvey:
    """Asks every reachable peer and the DHT how far the own log goes (node thread only).

    Reports arrive through :meth:`note` (FeedSynced and PeerHolds events of the own
    feed) at any time; :meth:`run` reaches peers for a bounded window, asks each for the
    own log, waits for those sessions and marks the survey done.
    """

    def __init__(
        self,
        service: Service,
        node: Any,
        *,
        window: float = SURVEY_WINDOW,
        sync_timeout: float = SURVEY_SYNC_TIMEOUT,
    ) -> None:
        self.service = service
        self.node = node
        self.window = window
        self.sync_timeout = sync_timeout
        self._reports: dict[bytes, int] = {}
        self._lock = trio.Lock()
        self._confirmed = False
        self.finished = trio.Event()
        """Set when a survey has finished (or was not needed)."""

    def active(self) -> bool:
        """True while this identity may not publish yet."""
        self._confirmed = load_own_log(self.service.data_dir).confirmed
        return not self._confirmed

    def note(self, peer: bytes, height: int) -> None:
        """``peer`` says it holds the own log up to ``height``; the highest report wins."""
        if self._confirmed or height <= self._reports.get(peer, -1):
            return
        self._reports[peer] = height
        own_log = load_own_log(self.service.data_dir)
        if own_log.confirmed:
            self._confirmed = True
            return
        if self._record(own_log):
            self._save(own_log)

    def _record(self, own_log: OwnLog) -> bool:
        """Fold the reports into ``own_log``; True if it changed."""
        before = (own_log.seen_height, list(own_log.seen_on), own_log.sources)
        best = max([own_log.seen_height, *self._reports.values()])
        if best > own_log.seen_height:
            own_log.seen_height, own_log.seen_on = best, []
        for peer, height in self._reports.items():
            if len(own_log.seen_on) >= MAX_SEEN_ON:
                break
            if height == best and peer.hex() not in own_log.seen_on:
                own_log.seen_on.append(peer.hex())
        own_log.sources = max(own_log.sources, len(self._reports))
        return before != (own_log.seen_height, own_log.seen_on, own_log.sources)

    def _save(self, own_log: OwnLog) -> None:
        try:
            save_own_log(self.service.data_dir, own_log)
        except OSError as exc:
            self.node.warn(f"could not save what peers said about your log: {exc}")

    async def run(self) -> RestoreStatus:
        """Reach peers for at most ``window`` seconds, ask each for the own log, and
        record the outcome; returns the status the user confirms."""
        async with self._lock:
            own = self.service.public_key
            with trio.move_on_after(self.window):
                async with trio.open_nursery() as nursery:
                    for info in self._known_peers():
                        nursery.start_soon(self._dial, info)
                    nursery.start_soon(self._providers, own, nursery)
            self.node.check_holders(own)
            await self.node.wait_synced(self.sync_timeout)
            own_log = load_own_log(self.service.data_dir)
            if not own_log.confirmed:
                self._record(own_log)
                own_log.surveyed = True
                self._save(own_log)
            status = restore_status(self.service)
            self.finished.set()
            if not status.confirmed:
                self.node.warn(f"Restored identity: {status.summary()}. {status.advice()}")
            return status

    def confirm(self, latest: int) -> RestoreStatus:
        """:func:`confirm_own_log`, and no more reports are recorded."""
        status = confirm_own_log(self.service, latest)
        self._confirmed = True
        return status

    def _known_peers(self) -> list[Any]:
        from libp2p.peer.id import ID  # noqa: PLC0415 - the node has loaded libp2p already
        from libp2p.peer.peerinfo import PeerInfo  # noqa: PLC0415
        from multiaddr import Multiaddr  # noqa: PLC0415

        infos = list(self.node.discovery.bootstrap_peers)
        for known in self.node.peerbook.recent(KNOWN_PEERS):
            try:
                infos.append(
                    PeerInfo(ID.from_base58(known.peer_id), [Multiaddr(a) for a in known.addrs])
                )
            except Exception as exc:  # a damaged peer list entry
                logger.info("skipping known peer %s: %s", known.peer_id, exc)
        return infos

    async def _providers(self, own: bytes, nursery: trio.Nursery) -> None:
        try:
            # A lookup needs a first peer in the routing table (a bootstrap peer, say).
            await self.node.discovery.wait_routing_table(1)
            found = await self.node.discovery.find_providers(own)
        except Exception as exc:  # the DHT is best effort
            logger.info("looking up holders of the own log failed: %s", exc)
            return
        for info in found:
            nursery.start_soon(self._dial, info)

    async def _dial(self, info: Any) -> None:
        from lndesk.p2p.host import dial  # noqa: PLC0415

        host = self.node.host
        if info.peer_id == host.get_id() or info.peer_id in host.get_connected_peers():
            return
        if self.node.is_penalised(info.peer_id):
            return
        try:
            await dial(host, info)
        except Exception as exc:  # stale addresses are common
            logger.info("could not reach %s while asking for the own log: %s", info.peer_id, exc)
