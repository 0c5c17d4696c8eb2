"""Network settings of a node: what it listens on, whom it asks first, what it limits.

These are plain values so the application can keep them in its settings file and the
tests can build nodes with small limits. Nothing here touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

DEFAULT_PORT = 4747
"""The listening port a desktop node tries first; 0 lets the system choose."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps that keep one peer from taking all of a node's memory or time."""

    max_frame: int = 2 * 1024 * 1024
    """Largest sync frame accepted, in bytes (a batch is cut well below this)."""
    batch_entries: int = 2000
    """Entries per batch frame; one store append and one index transaction each."""
    batch_bytes: int = 1024 * 1024
    """A batch is closed once its entries and payloads reach this many bytes."""
    request_entries: int = 10_000
    """Most entries one `get` may ask for."""
    want_feeds: int = 5000
    """Most feeds named in one `want`."""
    want_feeds_per_minute: int = 20_000
    """Feeds one peer may name in its wants per minute (a bucket refilling continuously);
    more is answered busy (docs/protocol.md section 20.13)."""
    window: int = 3
    """Batches a server sends before it waits for the reader's ack on ``/lndesk/sync/1``;
    on ``/lndesk/sync/2`` it uses ``pipeline_window``."""
    pipeline_window: int = 8
    """Batches a server sends before it waits for an ack on ``/lndesk/sync/2`` (at most
    8, and less than 8 MiB of them: docs/protocol.md section 20.14)."""
    gets_in_flight: int = 8
    """Gets a pipelining reader sends before the ``done`` of the first (at most 8); with 1
    the reader proposes only ``/lndesk/sync/1``."""
    streams_per_peer: int = 2
    """Concurrent sync sessions served to one peer; more are refused as busy."""
    max_sessions: int = 64
    """Concurrent sessions of one protocol served in all, to every peer; more are
    refused as busy."""
    sessions_per_ip: int = 8
    """Concurrent sessions served to one IP address, whatever peer ids it uses. This
    limit and the others "per IP address" count an IPv6 address by its /64
    (``lndesk.p2p.admission.address_key``); ``sessions_per_site`` and
    ``turns_per_ip`` by its /48."""
    sessions_per_site: int = 16
    """Concurrent sessions served to one IPv6 /48 (a site's network), all its /64s
    together, whatever peer ids they use; each /64 still holds ``sessions_per_ip`` at
    most. A tunnel broker hands a /48 to anyone who asks: counted by /64 alone, one
    holder had 65,536 addresses' sessions and took every session of a server."""
    new_ids_per_ip: int = 8
    """Peer ids not seen before that get sessions from one IP address per
    ``new_id_seconds``; more are refused as busy (ids are free to make)."""
    new_id_seconds: float = 60.0
    ip_feeds_per_minute: int = 50_000
    """Feeds one IP address may name in ``want`` frames per minute (a bucket refilling
    continuously); a session over it is ended as busy."""
    ip_entries_per_minute: int = 2_000_000
    """Entries one IP address may be sent in batches per minute (a bucket refilling
    continuously, far above what an honest sync takes); a session over it is ended as
    busy."""
    limit_loopback: bool = False
    """Apply the per-address limits to loopback connections too (tests, benchmarks)."""
    served_batches: int = 16
    """Batches read from the store, encoded and being written at once over all the sync
    sessions a node serves; a session waits its turn for the next one. Each is up to
    ``batch_bytes``, so this bounds the memory serving takes however many readers come
    (50 readers once held 50 batches and their frames at once)."""
    turns_per_ip: int = 4
    """Of the ``served_batches`` turns, the most the sessions of one IP address (an
    IPv6 /48) hold at once (a relayed session counts against its relay's); its others
    wait for one of these, so that readers that stop reading on a few addresses cannot
    hold them all. A turn freed goes to the waiting address that holds the fewest."""
    session_timeout: float = 60.0
    """Seconds a sync session may wait for one frame before it is dropped."""
    send_timeout: float = 20.0
    """Seconds a server waits for a reader to take one write (a batch, with the small
    frames queued before it) before it ends the session: a write holds one of the
    ``served_batches`` turns, and a reader that stops reading must not keep it. A
    megabyte batch in 20 s is some 400 kbit/s, far below an honest link."""
    gossip_payload: int = 4096
    """A head announcement carries the entry's payload when it is at most this big."""
    mesh_high: int = 8
    """Most peers kept in one topic's GossipSub mesh (D_high); a heartbeat prunes a
    bigger mesh back to 4. An always-on node keeps every follower that grafts it
    (:meth:`NodeConfig.always_on`): a pruned follower with no other peer on the topic
    grafted again after the minute's back-off, so 200 of them kept a hub's heartbeat
    busy every second, pruning, and most followers out of its mesh."""


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """How a node takes part in the network."""

    listen_host: str = "0.0.0.0"  # noqa: S104 - a node listens on the LAN by design
    listen_port: int = DEFAULT_PORT
    port_fallback: bool = False
    """When ``listen_port`` is taken, listen on any free port instead of refusing to start
    (for the default port; a port the user chose is used or refused)."""
    bootstrap: tuple[str, ...] = ()
    """Multiaddrs (with /p2p/<id>) dialled at start and used to fill the DHT."""
    mdns: bool = True
    dht: bool = True
    relay_hop: bool = False
    """Offer circuit relay v2 to others (for nodes with a public address)."""
    relay_client: bool = True
    """Reserve a slot on known relays when this node cannot be dialled directly."""
    max_connections: int = 32
    low_watermark: int = 4
    high_watermark: int = 12
    """libp2p's AutoConnector dials known peers up to the midpoint of the two
    watermarks (8 here; 200 with its defaults) and prunes above the high one."""
    connections_per_ip: int | None = None
    """Inbound connections held at once from one IP address (an IPv6 /64; a relayed
    one counts against its relay's), whatever peer ids it uses; more are closed before
    their handshake. None: a quarter of ``max_connections``, at least 4
    (:meth:`inbound_per_ip`; docs/protocol.md section 24.1). Loopback is exempt unless
    ``limits.limit_loopback``."""
    liveness_interval: float = 20.0
    """Seconds a connection may be silent before the side that dialled it pings it; the
    dialled side waits ``liveness_timeout - liveness_interval`` (``lndesk.p2p.liveness``)."""
    liveness_timeout: float = 60.0
    """Seconds of silence, pings unanswered, after which a connection is closed (a closed
    laptop, a dropped Wi-Fi; without this TCP would keep it "connected" for many
    minutes). Generous on purpose: a peer on a loaded machine answers late, not never."""
    resync_interval: float = 120.0
    """Seconds between anti-entropy rounds with each connected peer (repairs lost gossip);
    the peers' rounds are spread evenly over it."""
    address_check_interval: float = 10.0
    """Seconds between checks of this machine's addresses (they change with the network)."""
    provide_interval: float = 600.0
    """Seconds between re-announcing held feeds as DHT provider records."""
    penalty_seconds: float = 600.0
    """How long a peer that sent bad data is refused."""
    dht_loopback: bool = False
    """Dial loopback addresses learned from the network: from the DHT, and in the dials
    py-libp2p makes by itself (only for many nodes on one machine, as in tests). By
    default a node never dials its own machine because a stranger said so
    (``lndesk.p2p.dialable``)."""
    newest_first: bool = True
    """When far behind on a feed, fetch its newest entries first (a readable timeline soon)."""
    limits: Limits = field(default_factory=Limits)

    def inbound_per_ip(self) -> int:
        """The inbound connections one address may hold: ``connections_per_ip``, or a
        quarter of ``max_connections`` and at least ``MIN_CONNECTIONS_PER_IP`` (8 on a
        desktop, 128 on an always-on node): one machine with any number of peer ids
        cannot take every slot, and a classroom behind one NAT still reaches an
        always-on node."""
        if self.connections_per_ip is not None:
            return self.connections_per_ip
        return max(MIN_CONNECTIONS_PER_IP, self.max_connections // CONNECTIONS_PER_IP_SHARE)

    def always_on(self) -> NodeConfig:
        """This configuration with an always-on node's connection limits (``lndesk
        serve``): it holds hundreds of followers (``ALWAYS_ON_MAX_CONNECTIONS``) where
        a desktop keeps a dozen, and keeps each follower that grafts it in its
        GossipSub meshes (``Limits.mesh_high``). The per-peer and per-address limits
        of ``limits`` and the admission of new peer ids (``lndesk.p2p.admission``) stay
        as they are."""
        return replace(
            self,
            max_connections=ALWAYS_ON_MAX_CONNECTIONS,
            low_watermark=ALWAYS_ON_LOW_WATERMARK,
            high_watermark=ALWAYS_ON_HIGH_WATERMARK,
            limits=replace(self.limits, mesh_high=ALWAYS_ON_MAX_CONNECTIONS),
        )


CONNECTIONS_PER_IP_SHARE = 4
"""One address holds at most ``max_connections`` divided by this many inbound connections."""
MIN_CONNECTIONS_PER_IP = 4
"""... and at least this many, however small ``max_connections``."""

ALWAYS_ON_MAX_CONNECTIONS = 512
"""Connections an always-on node holds at most: 200 followers and room to spare."""
ALWAYS_ON_HIGH_WATERMARK = 400
"""Above this many connections an always-on node prunes idle ones (those without an
open stream; every follower keeps its gossip stream open, so followers stay)."""
ALWAYS_ON_LOW_WATERMARK = 16
