"""The mutants of what a server holds for its peers and their addresses: writes to a
reader that stops reading, the batch turns and their fair handing out, the limits per
address and how addresses are grouped, the counts per peer, the penalty box, and the
frame caps docs/protocol.md states; scripts/mutants.py adds them to its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

STALL = ("tests/p2p/test_serve_stall.py",)
TURNS = ("tests/p2p/test_serve_turns.py",)
FAIR_TURNS = ("tests/p2p/test_fair_turns.py",)
ADDRESS_GROUPS = ("tests/p2p/test_address_groups.py",)
CONNECTION_CAP = ("tests/p2p/test_connection_cap.py",)
PENALTY_ENDS = ("tests/p2p/test_penalty_ends.py",)

SERVING_MUTANTS = [
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
        "serve: a session waiting for its address's turn takes one freed by another",
        "lndesk/p2p/admission.py",
        "            if not self._may_take(address):\n                continue",
        "            if False:\n                continue",
        FAIR_TURNS,
    ),
    Mutant(
        "serve: a freed turn goes to the longest waiting, whatever its address holds",
        "lndesk/p2p/admission.py",
        "rank = (self._held[address], queue[0].order)",
        "rank = (0, queue[0].order)",
        FAIR_TURNS,
    ),
    Mutant(
        "serve: a session that gave up waiting for a turn is still handed one",
        "lndesk/p2p/admission.py",
        "                queue.remove(waiter)",
        "                pass",
        FAIR_TURNS,
    ),
    Mutant(
        "serve: a session asking again at once loses its turn to an address holding more",
        "lndesk/p2p/admission.py",
        "if self._waiting and task not in self._kept"
        " and self._comes_before(address, self._next()):",
        "if False:",
        FAIR_TURNS,
    ),
    Mutant(
        "serve: a turn kept for a session that let others run stays kept",
        "lndesk/p2p/admission.py",
        "        if self._kept.pop(task, _NOT_KEPT) is not _NOT_KEPT:",
        "        if False:",
        FAIR_TURNS,
    ),
    Mutant(
        "serve: a session handed a turn as it was cancelled does not pass it on",
        "lndesk/p2p/admission.py",
        "            if waiter.granted:",
        "            if False:",
        FAIR_TURNS,
    ),
    Mutant(
        "admission: a peer over IPv6 has no address, so no limit per address",
        "lndesk/p2p/inbound.py",
        "if not isinstance(peer, tuple) or len(peer) < 2:",
        "if not isinstance(peer, tuple) or len(peer) != 2:",
        ("tests/p2p/test_admission.py",),
    ),
    Mutant(
        "admission: every IPv6 address is counted apart, not by its /64",
        "lndesk/p2p/admission.py",
        "network = ipaddress.IPv6Network((address, ipv6_bits), strict=False)",
        "network = ipaddress.IPv6Network((address, 128), strict=False)",
        ADDRESS_GROUPS,
    ),
    Mutant(
        "admission: an IPv4-mapped IPv6 address is not read as its IPv4 address",
        "lndesk/p2p/admission.py",
        "if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:",
        "if False:",
        ADDRESS_GROUPS,
    ),
    Mutant(
        "admission: a 6to4 address is counted by its /64, not by its IPv4 address",
        "lndesk/p2p/admission.py",
        "    if address.sixtofour is not None:",
        "    if False:",
        ADDRESS_GROUPS,
    ),
    Mutant(
        "admission: a Teredo address is counted by its /64, not by its client's address",
        "lndesk/p2p/admission.py",
        "    if address.teredo is not None:",
        "    if False:",
        ADDRESS_GROUPS,
    ),
    Mutant(
        "admission: a NAT64 address is counted by its /64, not by its IPv4 address",
        "lndesk/p2p/admission.py",
        "    if address in NAT64_PREFIX:",
        "    if False:",
        ADDRESS_GROUPS,
    ),
    Mutant(
        "admission: sessions and work are counted by address, not by its group",
        "lndesk/p2p/admission.py",
        "        return address_key(ip)",
        "        return ip",
        ADDRESS_GROUPS,
    ),
    Mutant(
        "admission: batch turns are counted by address, not by its group",
        "lndesk/p2p/admission.py",
        "return address_key(address, SITE_IPV6_BITS) if _is_limited(address, limits) else None",
        "return address if _is_limited(address, limits) else None",
        ADDRESS_GROUPS,
    ),
    Mutant(
        "serve: a refused peer keeps an entry in the count of sessions per peer",
        "lndesk/p2p/sessions.py",
        "if self._open.get(peer, 0) >= self.limits.streams_per_peer:",
        "if self._open[peer] >= self.limits.streams_per_peer:",
        ("tests/p2p/test_admission.py",),
    ),
    Mutant(
        "admission: a relayed stream has no address, so no limit per address",
        "lndesk/p2p/admission.py",
        "        if remote:\n            return str(remote[0])\n",
        "        if remote:\n            return None if any('/p2p-circuit' in str(a) for a in"
        " stream.muxed_conn.get_transport_addresses()) else str(remote[0])\n",
        ("tests/p2p/test_admission.py",),
    ),
    Mutant(
        "admission: the link-local addresses of every link are one address",
        "lndesk/p2p/admission.py",
        "        if address.is_link_local:\n",
        "        if False:\n",
        ADDRESS_GROUPS,
    ),
    Mutant(
        "conncap: one holder of an IPv6 /48 counts as 65,536 addresses",
        "lndesk/p2p/inbound.py",
        "CONNECTION_IPV6_BITS = 48\n",
        "CONNECTION_IPV6_BITS = 64\n",
        CONNECTION_CAP,
    ),
    Mutant(
        "penalties: each penalised peer holds a task until its penalty ends",
        "lndesk/p2p/peering.py",
        "            self._nursery.start_soon(self._disconnect, peer)\n",
        "            self._nursery.start_soon(self._disconnect, peer)"
        "; self._nursery.start_soon(trio.sleep, self.penalties.seconds)\n",
        PENALTY_ENDS,
    ),
    Mutant(
        "penalties: a penalty given while none is pending never ends",
        "lndesk/p2p/peering.py",
        "        self._ending_changed.set()\n",
        "        pass\n",
        PENALTY_ENDS,
    ),
    Mutant(
        "holders: a reader over the want rate is penalised, as if it broke the protocol",
        "lndesk/p2p/holders.py",
        "            raise ServerBusy(\n",
        "            raise __import__('lndesk.errors').errors.ProtocolError(\n",
        ("tests/p2p/test_want_rate_honest.py",),
    ),
    Mutant(
        "penalties: ended penalties of peers never seen again are kept",
        "lndesk/p2p/penalty.py",
        "        if len(self._peers) >= self._sweep_at:",
        "        if False:",
        ("tests/p2p/test_penalty_box.py",),
    ),
    # --- inbound connections per address (lndesk/p2p/inbound.py) -------------------------
    Mutant(
        "conncap: one address fills every inbound connection slot",
        "lndesk/p2p/inbound.py",
        "        if self.held()[key] >= self.per_address:",
        "        if False:",
        CONNECTION_CAP,
    ),
    Mutant(
        "conncap: loopback counts against the cap without limit_loopback",
        "lndesk/p2p/inbound.py",
        "    if not limit_loopback:\n        try:",
        "    if False:\n        try:",
        CONNECTION_CAP,
    ),
    Mutant(
        "conncap: the pruner does not begin with the address holding the most",
        "lndesk/p2p/inbound.py",
        "        return by_address_held(ordered, address_of)",
        "        return ordered",
        CONNECTION_CAP,
    ),
    Mutant(
        "caps: the item caps are not those docs/protocol.md states",
        "lndesk/p2p/frame_caps.py",
        "_SLACK = 40",
        "_SLACK = 48",
        ("tests/p2p/test_caps_doc.py",),
    ),
]
