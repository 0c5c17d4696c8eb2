"""The mutants of gossip and the transport under it: gossip RPCs and their relaying
(lndesk/p2p/pubsub.py, gossip*.py), libp2p's message signature, TCP read-ahead and yamux
frame writes; scripts/mutants.py adds them to its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

GOSSIP_MUTANTS = [
    # --- gossip RPCs (lndesk/p2p/pubsub.py) ---------------------------------------------
    Mutant(
        "gossip: our failed stream to a peer forgets the topics its live stream told us",
        "lndesk/p2p/pubsub.py",
        "        self._keep_topics = peer_id in self._reading and self._peer_is_connected(peer_id)",
        "        self._keep_topics = False",
        ("tests/p2p/test_gossip_hello.py",),
    ),
    Mutant(
        "gossip: a gossip stream that failed to open is not opened again while connected",
        "lndesk/p2p/pubsub.py",
        "            if peer_id in self.peers or not self._peer_is_connected(peer_id):",
        "            if True:",
        ("tests/p2p/test_gossip_hello.py",),
    ),
    Mutant(
        "gossip: a peer's reader handles a whole RPC's messages without letting others run",
        "lndesk/p2p/pubsub.py",
        "                await self.push_msg(peer_id, msg)\n            await pace.step()\n",
        "                await self.push_msg(peer_id, msg)\n",
        ("tests/p2p/test_gossip_pace.py",),
    ),
    Mutant(
        "gossip: the message cache keys by from and seqno, which no IWANT names",
        "lndesk/p2p/pubsub.py",
        "        self.mcache = IdCache(self.mcache.window_size, self.mcache.history_size)\n",
        "",
        ("tests/p2p/test_gossip_control.py",),
    ),
    Mutant(
        "quick lock: a lock held by another task is not waited for (gossip writes, reads)",
        "lndesk/p2p/quick_lock.py",
        "    except trio.WouldBlock:\n        await lock.acquire()",
        "    except trio.WouldBlock:\n        pass",
        ("tests/p2p/test_gossip_relay.py", "tests/p2p/test_read_ahead.py"),
    ),
    Mutant(
        "gossip: a message signed by the key it carries passes, whatever peer it names",
        "lndesk/p2p/gossip_signature.py",
        "    if ID.from_pubkey(public_key) != sender:\n        return None\n",
        "",
        ("tests/p2p/test_gossip_signature.py",),
    ),
    Mutant(
        "gossip: a message whose sender's key is found passes unverified",
        "lndesk/p2p/gossip_signature.py",
        "        return bool(public_key.verify(",
        "        return True or bool(public_key.verify(",
        ("tests/p2p/test_gossip_signature.py",),
    ),
    Mutant(
        "gossip: libp2p's message signature is not checked (the entry's is)",
        "lndesk/p2p/pubsub.py",
        "        strict_signing=True,",
        "        strict_signing=False,",
        ("tests/p2p/test_gossip_relay.py",),
    ),
    Mutant(
        "gossip: a relay forwards whatever one peer sends, over its forwarding rate",
        "lndesk/p2p/gossip_relay.py",
        "        if not self._check_spam_protection(msg_forwarder, pubsub_msg):",
        "        if False:",
        ("tests/p2p/test_gossip_relay.py",),
    ),
    Mutant(
        "gossip: a relay forwards two messages of one origin and sequence number",
        "lndesk/p2p/gossip_relay.py",
        "        if not self._check_equivocation(pubsub_msg):",
        "        if False:",
        ("tests/p2p/test_gossip_relay.py",),
    ),
    Mutant(
        "gossip: an RPC over a peer queue's size limit is queued whole",
        "lndesk/p2p/gossip_relay.py",
        "            or rpc.ByteSize() > queue.max_message_size\n",
        "",
        ("tests/p2p/test_gossip_relay.py",),
    ),
    Mutant(
        "gossip: a PRUNE waiting for its retry is left behind by relayed messages",
        "lndesk/p2p/gossip_relay.py",
        "            or peer_id in self._pending_control\n",
        "",
        ("tests/p2p/test_gossip_relay.py",),
    ),
    Mutant(
        "gossip: a head is not held for a connected peer whose gossip streams are not up yet",
        "lndesk/p2p/gossip_relay.py",
        "            if peer_id not in skip and peer_id not in self.direct_peers"
        " and peer_id not in held:",
        "            if False:",
        ("tests/p2p/test_gossip_late_peer.py",),
    ),
    Mutant(
        "gossip: a held head is dropped when our stream opens before the peer's topics come",
        "lndesk/p2p/gossip_relay.py",
        "                kept.append((stamp, rpc))",
        "                pass",
        ("tests/p2p/test_gossip_late_peer.py",),
    ),
    Mutant(
        "gossip: what was held for a peer that left stays held",
        "lndesk/p2p/gossip_relay.py",
        "            del self._pending_messages[peer_id]  # gone before its streams came",
        "            pass",
        ("tests/p2p/test_gossip_late_peer.py",),
    ),
    Mutant(
        "gossip: IHAVE of a topic not joined is asked for",
        "lndesk/p2p/gossip_control.py",
        "        if topic not in router.mesh:\n            continue\n",
        "",
        ("tests/p2p/test_gossip_control.py",),
    ),
    Mutant(
        "gossip: IHAVE ids are looked at (and asked for) without a bound",
        "lndesk/p2p/gossip_control.py",
        "MAX_IWANT_IDS in all.\n        for wire_id in entry.messageIDs[: MAX_IWANT_IDS - looked]:",
        "MAX_IWANT_IDS in all.\n        for wire_id in entry.messageIDs:",
        ("tests/p2p/test_gossip_control.py",),
    ),
    Mutant(
        "gossip: IDONTWANT ids longer than any message id are kept",
        "lndesk/p2p/gossip_control.py",
        "entry.messageIDs[:room] if len(i) <= MAX_ID_SIZE)",
        "entry.messageIDs[:room])",
        ("tests/p2p/test_gossip_control.py",),
    ),
    Mutant(
        "gossip: GRAFTs of unknown topics are answered without a bound",
        "lndesk/p2p/gossip_control.py",
        "if topic not in mesh][:MAX_UNKNOWN_GRAFTS]",
        "if topic not in mesh]",
        ("tests/p2p/test_gossip_control.py",),
    ),
    Mutant(
        "gossip: a PRUNE of a topic not joined leaves a back-off record",
        "lndesk/p2p/gossip_control.py",
        "            if prune.topicID in mesh:",
        "            if True:",
        ("tests/p2p/test_gossip_control.py",),
    ),
    Mutant(
        "gossip: a PRUNE's peer exchange is followed",
        "lndesk/p2p/gossip_control.py",
        '            prune.ClearField("peers")  # a PRUNE\'s peer exchange is never followed\n',
        "",
        ("tests/p2p/test_gossip_control.py",),
    ),
    Mutant(
        "gossip: a reader handles a whole RPC's GRAFTs without letting others run",
        "lndesk/p2p/gossip_control.py",
        "                await router.handle_graft(rpc_pb2.ControlGraft(topicID=topic), peer)\n"
        "                await pace.step()\n",
        "                await router.handle_graft(rpc_pb2.ControlGraft(topicID=topic), peer)\n",
        ("tests/p2p/test_gossip_control.py",),
    ),
    Mutant(
        "yamux: a window update for every second small read (py-libp2p's partial slack)",
        "lndesk/p2p/yamux_window.py",
        "                return\n",
        "",
        ("tests/p2p/test_gossip_cost.py",),
    ),
    Mutant(
        "gossip: an RPC's length prefix is not held to the size cap",
        "lndesk/p2p/pubsub.py",
        "read_varint_prefixed_bytes_limited(reader, self.max_inbound_rpc_size)",
        "read_varint_prefixed_bytes_limited(reader, 1 << 62)",
        ("tests/p2p/test_stream_guard.py",),
    ),
    # --- TCP read-ahead and yamux frame writes (lndesk/p2p/read_ahead.py, yamux_window.py)
    Mutant(
        "read-ahead: a socket read asks for whatever a peer has sent, up to a megabyte",
        "lndesk/p2p/read_ahead.py",
        "ask = n if n is not None and n > self.limit else self.limit",
        "ask = n if n is not None and n > self.limit else 1 << 20",
        ("tests/p2p/test_read_ahead.py",),
    ),
    Mutant(
        "read-ahead: a reader that waited for the lock reads the socket over what is held",
        "lndesk/p2p/read_ahead.py",
        "            if self._held:  # another task read ahead while this one waited\n",
        "            if False:\n",
        ("tests/p2p/test_read_ahead.py",),
    ),
    Mutant(
        "read-ahead: bytes held when the connection is closed here are still read",
        "lndesk/p2p/read_ahead.py",
        '    async def close(self) -> None:\n        self._held = b""\n',
        "    async def close(self) -> None:\n",
        ("tests/p2p/test_read_ahead.py",),
    ),
    Mutant(
        "yamux: a cancelled task's frame is encrypted and then not sent",
        "lndesk/p2p/yamux_window.py",
        "            await trio.lowlevel.checkpoint_if_cancelled()\n",
        "",
        ("tests/p2p/test_read_ahead.py",),
    ),
    Mutant(
        "yamux: a full data frame is written as two Noise messages, the second of 17 bytes",
        "lndesk/p2p/yamux_window.py",
        "    yamux.MAX_MESSAGE_SIZE = FRAME_LIMIT  #",
        "    yamux.MAX_MESSAGE_SIZE = 64 * 1024  #",
        ("tests/p2p/test_yamux_frame_size.py",),
    ),
    Mutant(
        "gossip signature: a huge from field is kept in the cache of signers",
        "lndesk/p2p/gossip_signature.py",
        "small = len(key) <= CACHED_KEY_SIZE and len(from_id) <= CACHED_KEY_SIZE",
        "small = len(key) <= CACHED_KEY_SIZE",
        ("tests/p2p/test_gossip_signature.py",),
    ),
]
