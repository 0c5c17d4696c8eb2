"""The mutants of the network protocols' checks (sync frames, the sync reader and server,
targeted fetch, helpful marks fetched with a thread, anti-entropy visits);
scripts/mutants.py adds them to its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

SYNC = (
    "tests/p2p/test_sync.py",
    "tests/p2p/test_sync_rules.py",
    "tests/p2p/test_read_states.py",
    "tests/test_network_vectors.py",
)
WIRE = ("tests/test_network_vectors.py",)
PIPELINE = ("tests/p2p/test_pipeline.py", "tests/p2p/test_read_states.py", *WIRE)
STALL = ("tests/p2p/test_serve_stall.py",)
TURNS = ("tests/p2p/test_serve_turns.py",)
BATCH_LAYOUT = ("tests/p2p/test_batch_frame.py",)
FETCH = ("tests/p2p/test_sync_rules.py", "tests/p2p/test_catchup_fetch.py")
VISIT_FRAMES = ("tests/p2p/test_visit_vectors.py",)
VISIT_RULES = ("tests/p2p/test_visit_rules.py",)

NETWORK_MUTANTS = [
    # --- sync frames (lndesk/p2p/wire.py) -----------------------------------------------
    Mutant(
        "wire: get may end below its first seq",
        "lndesk/p2p/wire.py",
        '    if last < first:\n        raise ProtocolError("get: last is below first")',
        '    if False:\n        raise ProtocolError("get: last is below first")',
        WIRE,
    ),
    Mutant(
        "wire: get may start at seq 0",
        "lndesk/p2p/wire.py",
        'first, last = _seq(doc["first"], zero=False), _seq(doc["last"], zero=False)',
        'first, last = _seq(doc["first"]), _seq(doc["last"], zero=False)',
        WIRE,
    ),
    Mutant(
        "wire: sequence numbers over 2^53-1 are accepted",
        "lndesk/p2p/wire.py",
        "if type(value) is not int or not (0 if zero else 1) <= value <= MAX_SEQ:",
        "if type(value) is not int or not (0 if zero else 1) <= value:",
        WIRE,
    ),
    Mutant(
        "wire: a feed key of any length is accepted",
        "lndesk/p2p/wire.py",
        "if type(value) is not bytes or len(value) != KEY_SIZE:",
        "if type(value) is not bytes:",
        WIRE,
    ),
    # --- batch frames read by their layout (lndesk/p2p/batch_frame.py) -----------------
    Mutant(
        "batch layout: a batch's entry need not have a shortest two-byte head",
        "lndesk/p2p/batch_frame.py",
        "if end - start < 0x100:",
        "if False:",
        BATCH_LAYOUT,
    ),
    Mutant(
        "batch layout: a batch's payload need not have a shortest two-byte head",
        "lndesk/p2p/batch_frame.py",
        "if pos - end - 3 < 0x100:",
        "if False:",
        BATCH_LAYOUT,
    ),
    Mutant(
        "batch layout: a batch's other heads need not be in shortest form",
        "lndesk/p2p/batch_frame.py",
        "if value < _MINIMUM[info]:",
        "if False:",
        BATCH_LAYOUT,
    ),
    Mutant(
        "batch layout: bytes after a batch's items are ignored",
        "lndesk/p2p/batch_frame.py",
        "    if pos != size:\n        return None",
        "    if pos > size:\n        return None",
        BATCH_LAYOUT,
    ),
    Mutant(
        "batch layout: a batch of more entries than its caps allow is taken",
        "lndesk/p2p/batch_frame.py",
        "if not 0 < count <= (limits.max_items - _FIXED_ITEMS) // 3:",
        "if not 0 < count:",
        BATCH_LAYOUT,
    ),
    Mutant(
        "batch layout: a batch's entry over 512 bytes is taken",
        "lndesk/p2p/batch_frame.py",
        "if end - start > longest or end > size:",
        "if end > size:",
        BATCH_LAYOUT,
    ),
    Mutant(
        "batch layout: a batch's payload over its limit is taken",
        "lndesk/p2p/batch_frame.py",
        "if pos - payload_start > longest_payload or pos > size:",
        "if pos > size:",
        BATCH_LAYOUT,
    ),
    Mutant(
        "batch layout: a batch body over its caps' bytes is read",
        "lndesk/p2p/batch_frame.py",
        "size > limits.max_bytes or ",
        "",
        BATCH_LAYOUT,
    ),
    # --- the sync reader and server (lndesk/p2p/sync.py) --------------------------------
    Mutant(
        "sync: a server may offer feeds that were not asked for",
        "lndesk/p2p/sync.py",
        "if not {offer.key for offer in have.feeds} <= set(asked):",
        "if False:",
        SYNC,
    ),
    Mutant(
        "sync: the server serves a get over request_entries",
        "lndesk/p2p/sync.py",
        "if message.last - message.first + 1 > self.server.limits.request_entries:",
        "if False:",
        SYNC,
    ),
    Mutant(
        "sync: the server takes a want over want_feeds",
        "lndesk/p2p/sync.py",
        "if len(first.feeds) > self.limits.want_feeds:",
        "if False:",
        SYNC,
    ),
    Mutant(
        "sync: a batch may reach outside the range asked",
        "lndesk/p2p/read_states.py",
        "        if not first <= seq <= last:",
        "        if False:",
        SYNC,
    ),
    Mutant(
        "sync: a batch of another feed than the one asked is taken",
        "lndesk/p2p/read_states.py",
        "    if not isinstance(message, Batch) or message.feed != ask.key:\n",
        "    if not isinstance(message, Batch):\n",
        SYNC,
    ),
    Mutant(
        "sync: a server claiming a height may send nothing of it",
        "lndesk/p2p/read_states.py",
        "    if ask.first <= offer.height:",
        "    if False:",
        SYNC,
    ),
    Mutant(
        "sync: a matching digest hides entries the server holds above the reader's heights",
        "lndesk/p2p/digest.py",
        "if same and held.max_seq > height and source.serves(key):",
        "if False:",
        ("tests/p2p/test_digest.py", "tests/p2p/test_visits.py"),
    ),
    Mutant(
        "sync: a remembered vector answers a digest from any peer",
        "lndesk/p2p/digest.py",
        "vectors = self._peers.get(peer)\n        canonical = None if",
        "vectors = next(iter(self._peers.values()), None)\n        canonical = None if",
        ("tests/p2p/test_digest.py",),
    ),
    Mutant(
        "sync: a head forwarded by anyone counts as held by its author",
        "lndesk/p2p/sync.py",
        "if self._key_of(peer) == author:",
        "if True:",
        ("tests/p2p/test_digest.py",),
    ),
    Mutant(
        "sync: a reader keeps the heights it holds at a session's end, not the server's vector",
        "lndesk/p2p/sync.py",
        "left = [(key, read.acked.get(key, height)) for key, height in asked]",
        "left = self._heights(feeds)",
        ("tests/p2p/test_digest.py",),
    ),
    Mutant(
        "sync: a want after differs is charged again for the feeds its digest named",
        "lndesk/p2p/sync.py",
        "uncharged = max(0, len(first.feeds) - charged)",
        "uncharged = len(first.feeds)",
        ("tests/p2p/test_digest.py",),
    ),
    Mutant(
        "sync: a remembered vector's bookkeeping is free (many small vectors pass the budget)",
        "lndesk/p2p/digest.py",
        "return len(canonical) + VECTOR_OVERHEAD",
        "return len(canonical)",
        ("tests/p2p/test_digest.py",),
    ),
    Mutant(
        "sync: a remembered reader is free (peer IDs with empty wants pass the budget)",
        "lndesk/p2p/digest.py",
        "            self.bytes += READER_OVERHEAD",
        "            pass",
        ("tests/p2p/test_digest.py",),
    ),
    Mutant(
        "sync: the server does not wait for acks (window)",
        "lndesk/p2p/sync.py",
        "        while self.window.full:",
        "        while False:",
        SYNC,
    ),
    Mutant(
        "sync: a fork proof may be several batches",
        "lndesk/p2p/read_states.py",
        "if not isinstance(message, Batch) or message.feed != ask.key or self.proof:",
        "if not isinstance(message, Batch) or message.feed != ask.key:",
        SYNC,
    ),
    Mutant(
        "sync: a pipelining server takes more gets than it may have in flight",
        "lndesk/p2p/sync.py",
        "if len(self.queue) + self.answering >= GETS_IN_FLIGHT:",
        "if False:",
        PIPELINE,
    ),
    Mutant(
        "sync: a pipelining reader takes a batch beyond the window",
        "lndesk/p2p/pipeline.py",
        "        if self.full:\n            raise ProtocolError(",
        "        if False:\n            raise ProtocolError(",
        PIPELINE,
    ),
    Mutant(
        "sync: a session may start with another message than want",
        "lndesk/p2p/sync.py",
        "if not isinstance(first, Want):",
        "if first is None:",
        SYNC,
    ),
    # --- a reader that stops reading (lndesk/p2p/wire.py, lndesk/p2p/sessions.py) --------
    Mutant(
        "serve: a server's writes wait for a reader that stopped reading",
        "lndesk/p2p/sessions.py",
        "frames.send_timeout = self.limits.send_timeout",
        "frames.send_timeout = frames.send_timeout",
        STALL,
    ),
    Mutant(
        "serve: a write past its deadline goes on",
        "lndesk/p2p/wire.py",
        "with trio.move_on_after(self.send_timeout) as waited:",
        "with trio.move_on_after(math.inf) as waited:",
        STALL,
    ),
    Mutant(
        "serve: resetting the stream of a stalled connection waits for it",
        "lndesk/p2p/sessions.py",
        "    with trio.move_on_after(CLOSE_SECONDS) as waited:\n        try:\n"
        "            await stream.reset()",
        "    with trio.move_on_after(1e9) as waited:\n        try:\n"
        "            await stream.reset()",
        STALL,
    ),
    Mutant(
        "serve: one address may hold all of the server's batch turns",
        "lndesk/p2p/admission.py",
        "self._per_address = max(1, min(limits.turns_per_ip, limits.served_batches))",
        "self._per_address = limits.served_batches",
        TURNS,
    ),
    Mutant(
        "serve: a session waiting for its address's turn keeps one of the server's",
        "lndesk/p2p/admission.py",
        "            async with turns, self.all:",
        "            async with self.all, turns:",
        TURNS,
    ),
    # --- one-ask sessions (lndesk/p2p/sessions.py) -------------------------------------
    Mutant(
        "ask: an answer of another message type is taken as the one asked for",
        "lndesk/p2p/sessions.py",
        "    if not isinstance(message, answer):\n        raise ProtocolError(",
        "    if False:\n        raise ProtocolError(",
        ("tests/p2p/test_catchup_fetch.py", "tests/p2p/test_stranger_profiles.py"),
    ),
    # --- targeted fetch (lndesk/p2p/fetch.py) -------------------------------------------
    Mutant(
        "fetch: a peer claiming a height may send nothing of it",
        "lndesk/p2p/fetch.py",
        "if not received and seq <= offer.height:",
        "if False:",
        FETCH,
    ),
    Mutant(
        "fetch: an answer may hold more than the one entry",
        "lndesk/p2p/fetch.py",
        "                or len(message.items) != 1\n",
        "",
        FETCH,
    ),
    # --- helpful marks fetched with a thread (lndesk/p2p/threads.py) --------------------
    Mutant(
        "thread-marks: a mark by someone other than the root's author is fetched",
        "lndesk/p2p/threads.py",
        "            if any(ref.author != root.author for ref in answer.marks or ()):",
        "            if False:",
        ("tests/p2p/test_thread_marks.py",),
    ),
    Mutant(
        "thread-marks: the root named among the marks is not refused",
        "lndesk/p2p/threads.py",
        "            if root in (answer.marks or ()):",
        "            if False:",
        ("tests/p2p/test_thread_marks.py",),
    ),
    Mutant(
        "thread-marks: a mark for another root is kept",
        "lndesk/p2p/threads.py",
        "if not isinstance(content, Helpful) or content.root.id != root.id:",
        "if not isinstance(content, Helpful):",
        ("tests/p2p/test_thread_marks.py",),
    ),
    Mutant(
        "thread-marks: a tombstone of a mark the asker did not name is kept",
        "lndesk/p2p/threads.py",
        "            if content.ref.id not in taken:",
        "            if False:",
        ("tests/p2p/test_thread_marks.py",),
    ),
    # --- anti-entropy visits (lndesk/p2p/visit.py, visit_frames.py) --------------------
    Mutant(
        "visit: a visit may name an inbox key twice",
        "lndesk/p2p/visit_frames.py",
        "    if len({c.to for c in checks}) != len(checks):",
        "    if False:",
        VISIT_FRAMES,
    ),
    Mutant(
        "visit: visited may say heights unchanged of a vector it does not know",
        "lndesk/p2p/visit_frames.py",
        "    elif heights:\n",
        "    elif False:\n",
        VISIT_FRAMES,
    ),
    Mutant(
        "visit: visited may name a forked feed twice",
        "lndesk/p2p/visit_frames.py",
        "        if len(set(forked)) != len(forked):",
        "        if False:",
        VISIT_FRAMES,
    ),
    Mutant(
        "visit: visited may name more forked feeds than the cap",
        "lndesk/p2p/visit_frames.py",
        "if type(forked) is not list or len(forked) > MAX_FORKED:",
        "if type(forked) is not list:",
        VISIT_FRAMES,
    ),
    Mutant(
        "visit: visited may answer another number of inbox keys than asked",
        "lndesk/p2p/visit.py",
        "            if len(answer.inbox) != len(visit.inbox):",
        "            if False:",
        VISIT_RULES,
    ),
    Mutant(
        "visit: visited may name a forked feed the visit did not ask about",
        "lndesk/p2p/visit.py",
        "if answer.forked is not None and not set(answer.forked) <= set(feeds):",
        "if False:",
        VISIT_RULES,
    ),
    Mutant(
        "visit: the server hides new inbox references behind the reader's digest",
        "lndesk/p2p/visit.py",
        "return None if refs_digest(refs) == check.seen else refs",
        "return None",
        ("tests/p2p/test_visit_rules.py", "tests/p2p/test_visits.py"),
    ),
    Mutant(
        "visit: the server says heights unchanged while forked is null (too many forks)",
        "lndesk/p2p/visit.py",
        "Visited(look.same and look.forked is not None, inbox, look.forked)",
        "Visited(look.same, inbox, look.forked)",
        VISIT_RULES,
    ),
    Mutant(
        "visit: a store error while a round is prepared is not a warning (it stopped the node)",
        "lndesk/p2p/visit.py",
        "        except StoreError as exc:  # our disk, not the peer",
        "        except ZeroDivisionError as exc:  # our disk, not the peer",
        ("tests/p2p/test_visits.py",),
    ),
    Mutant(
        "visit: the server names no forked feed",
        "lndesk/p2p/digest.py",
        "        if forks and held.forked_at is not None:",
        "        if False:",
        ("tests/p2p/test_visit_rules.py", "tests/p2p/test_visits.py"),
    ),
    Mutant(
        "visit: a reader visits with a vector above its heights now",
        "lndesk/p2p/digest.py",
        "if any(h > n for (_, h), (_, n) in zip(records(left), records(now), strict=True)):",
        "if False:",
        VISIT_RULES,
    ),
    Mutant(
        "visit: the reader trusts an inbox digest while references are still missing",
        "lndesk/p2p/inbox_delivery.py",
        "        if not missing and peer in self._connected():",
        "        if peer in self._connected():",
        ("tests/p2p/test_visits.py",),
    ),
    Mutant(
        "gossip: a peer's reader handles a whole RPC's subscriptions without letting others run",
        "lndesk/p2p/pubsub.py",
        "                    await pace.step()  # each new one starts tasks: let them run\n",
        "",
        ("tests/p2p/test_gossip_pace.py",),
    ),
    Mutant(
        "unsupported: peers that said na are remembered without a bound",
        "lndesk/p2p/unsupported.py",
        "        if len(self._until) > MAX_NOTED:",
        "        if False:",
        ("tests/p2p/test_unsupported.py",),
    ),
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
        "gossip: an RPC's length prefix is not held to the size cap",
        "lndesk/p2p/pubsub.py",
        "read_varint_prefixed_bytes_limited(reader, self.max_inbound_rpc_size)",
        "read_varint_prefixed_bytes_limited(reader, 1 << 62)",
        ("tests/p2p/test_stream_guard.py",),
    ),
    Mutant(
        "holders: a holder check is answered by a digest's same, which tells no height",
        "lndesk/p2p/sync.py",
        "if digests and not heights and await self._unchanged",
        "if digests and await self._unchanged",
        ("tests/p2p/test_holders.py",),
    ),
]
