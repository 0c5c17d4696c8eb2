"""A peer's GossipSub control messages (IHAVE, IWANT, GRAFT, PRUNE, IDONTWANT), bounded
before they are handled (used by ``lndesk.p2p.pubsub``).

py-libp2p 0.8.1 handles every entry of an RPC's control message on its own, and one RPC
within the size cap holds ten thousand of them: an IWANT naming one cached message ten
thousand times was answered with ten thousand copies of it, an IHAVE on a topic this
node never joined with an IWANT for every id, ten thousand IHAVEs of other topics with
ten thousand IWANT RPCs, ten thousand GRAFTs of unknown topics with ten thousand PRUNE
RPCs, and every PRUNE left a back-off record for its topic, joined or not, that nothing
ever removed. A PRUNE's peer exchange made the node dial the peers it named, at the
addresses their records gave, inside the reader. As docs/protocol.md section 21.5 says,
an RPC's control message is handled here as a whole, as go-libp2p does:

* IHAVE only for topics this node has joined; the ids it offers are asked for (in one
  IWANT) when not seen, each once, looking at no more than ``MAX_IWANT_IDS`` ids per
  RPC (seen or not: one RPC within the size cap names some 30,000);
* IWANT: each cached message it names is sent once, looking at no more than
  ``MAX_IWANT_IDS`` ids per RPC (py-libp2p's limit of IWANTs per second counts the
  RPC once);
* GRAFT of a joined topic as py-libp2p does; of any other topic, a PRUNE without peer
  exchange, all in one RPC, for at most ``MAX_UNKNOWN_GRAFTS`` topics per RPC;
* PRUNE only of joined topics, and the peers it offers are never dialled (peers are
  found by lndesk's own discovery, docs/protocol.md section 22);
* IDONTWANT: its ids together, as many as py-libp2p keeps per peer, each of them no
  longer than a message id can be (``gossip_ids.MAX_ID_SIZE``): they are kept until
  the next heartbeat, and ten ids of 100 kB would hold a megabyte per peer.

Each topic is handled once per RPC, however often it is named. None of this is a
violation (section 24): a peer is not penalised for it. The reader lets other tasks run
every ``PACE`` entries (``lndesk.p2p.gossip_streams.Pace``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.utils import safe_bytes_from_hex

from lndesk.p2p.gossip_ids import MAX_ID_SIZE
from lndesk.p2p.gossip_streams import Pace

if TYPE_CHECKING:
    from libp2p.pubsub.gossipsub import GossipSub

logger = logging.getLogger(__name__)

MAX_IWANT_IDS = 5000
"""Message ids of one RPC's IHAVEs looked at (and so asked for), and of its IWANTs looked
up (go-libp2p's ``GossipSubMaxIHaveLength``)."""
MAX_UNKNOWN_GRAFTS = 64
"""Topics not joined whose GRAFT one RPC gets a PRUNE for."""


async def handle_control(router: GossipSub, rpc: rpc_pb2.RPC, peer: ID, pace: Pace) -> None:
    """Handle ``rpc.control`` from ``peer`` as the module docstring says."""
    control = rpc.control
    mesh = router.mesh
    if control.ihave:
        await _ihave(router, control.ihave, peer, pace)
    if control.iwant:
        await _iwant(router, control.iwant, peer, pace)
    if control.graft:
        grafts = await _topics(control.graft, pace)
        for topic in grafts:
            if topic in mesh:
                await router.handle_graft(rpc_pb2.ControlGraft(topicID=topic), peer)
                await pace.step()
        unknown = [topic for topic in grafts if topic not in mesh][:MAX_UNKNOWN_GRAFTS]
        if unknown:
            prunes = [
                rpc_pb2.ControlPrune(topicID=topic, backoff=router.prune_back_off)
                for topic in unknown
            ]
            await router.emit_control_message(rpc_pb2.ControlMessage(prune=prunes), peer)
    if control.prune:
        joined: dict[str, rpc_pb2.ControlPrune] = {}
        for prune in control.prune:
            if prune.topicID in mesh:
                joined[prune.topicID] = prune
            await pace.step()
        for prune in joined.values():
            prune.ClearField("peers")  # a PRUNE's peer exchange is never followed
            await router.handle_prune(prune, peer)
            await pace.step()
    if control.idontwant:
        ids: list[bytes] = []
        for entry in control.idontwant:
            if len(ids) >= router.max_idontwant_messages:
                break
            room = router.max_idontwant_messages - len(ids)
            # Kept until the next heartbeat: only what can be a message id.
            ids.extend(i for i in entry.messageIDs[:room] if len(i) <= MAX_ID_SIZE)
            await pace.step()
        await router.handle_idontwant(rpc_pb2.ControlIDontWant(messageIDs=ids), peer)


async def _topics(entries: Iterable[rpc_pb2.ControlGraft], pace: Pace) -> list[str]:
    """The distinct topics ``entries`` name, in order."""
    topics: dict[str, None] = {}
    for entry in entries:
        topics[entry.topicID] = None
        await pace.step()
    return list(topics)


async def _ihave(
    router: GossipSub, entries: Iterable[rpc_pb2.ControlIHave], peer: ID, pace: Pace
) -> None:
    """Ask (in one IWANT) for the messages offered on joined topics that were not seen."""
    pubsub = router.pubsub
    if pubsub is None:
        return
    wanted: dict[bytes, None] = {}
    limited: dict[str, bool] = {}
    looked = 0
    for entry in entries:
        await pace.step()
        topic = entry.topicID
        if topic not in router.mesh:
            continue
        if topic not in limited:  # py-libp2p's IHAVEs per second, one per topic and RPC
            limited[topic] = not router._check_ihave_rate_limit(peer, topic)
        if limited[topic]:
            continue
        # Ids seen or not ids at all are looked at too: at most MAX_IWANT_IDS in all.
        for wire_id in entry.messageIDs[: MAX_IWANT_IDS - looked]:
            msg_id = safe_bytes_from_hex(wire_id)
            if msg_id is not None and not pubsub.seen_messages.has(msg_id):
                wanted[msg_id] = None
        looked = min(MAX_IWANT_IDS, looked + len(entry.messageIDs))
    if wanted:
        await router.emit_iwant(list(wanted), peer)


async def _iwant(
    router: GossipSub, entries: Iterable[rpc_pb2.ControlIWant], peer: ID, pace: Pace
) -> None:
    """Send each cached message the IWANTs name, once, in one RPC."""
    if not router._check_iwant_rate_limit(peer):
        logger.debug("ignored the IWANTs of an RPC from %s (rate)", peer)
        return
    found: dict[bytes, rpc_pb2.Message] = {}
    looked = 0
    for entry in entries:
        await pace.step()
        for wire_id in entry.messageIDs[: MAX_IWANT_IDS - looked]:
            msg_id = safe_bytes_from_hex(wire_id)
            if msg_id is not None and msg_id not in found:
                msg = router.mcache.get(msg_id)
                if msg is not None:
                    found[msg_id] = msg
        looked = min(MAX_IWANT_IDS, looked + len(entry.messageIDs))
    if found:
        router.send_rpc(peer, rpc_pb2.RPC(publish=list(found.values())))
