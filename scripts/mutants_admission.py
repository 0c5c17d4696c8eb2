"""The mutants of network admission: who yields when a server's sessions run out,
streams whose address cannot be read, the order a ``want`` is charged in, the bounds on
the peers a node dials again, the yamux frames that close a connection, the streams,
pings and dropped data a peer may send on one, the /48 an IPv6 session counts in, and a
server session's first message;
scripts/mutants.py adds them to its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

FAIR = ("tests/p2p/test_fair_sessions.py",)
ADMISSION = ("tests/p2p/test_admission.py",)
REDIAL = ("tests/p2p/test_redial_bounds.py", "tests/p2p/test_redial.py")
YAMUX = ("tests/p2p/test_yamux_errors.py",)
STREAMS = ("tests/p2p/test_yamux_streams.py",)
GROUPS = ("tests/p2p/test_address_groups.py",)
PINGS = ("tests/p2p/test_yamux_pings.py",)
WRITES = ("tests/p2p/test_yamux_write_stall.py",)

ADMISSION_MUTANTS = [
    # --- who yields when sessions run out (lndesk/p2p/fair_sessions.py) ----------------
    Mutant(
        "fair sessions: an address holding more takes the last free sessions from waiters",
        "lndesk/p2p/fair_sessions.py",
        "        if fewer and self.max_sessions - open_total <= fewer:\n",
        "        if False:\n",
        FAIR,
    ),
    Mutant(
        "fair sessions: an address refused by a full server is not remembered as waiting",
        "lndesk/p2p/sessions.py",
        "                self.fair.refused_full(address)\n",
        "                pass\n",
        FAIR,
    ),
    Mutant(
        "fair sessions: an address that got a session goes on waiting",
        "lndesk/p2p/fair_sessions.py",
        "        self.held[address] += 1\n        self._waiting.pop(address, None)\n",
        "        self.held[address] += 1\n",
        FAIR,
    ),
    Mutant(
        "fair sessions: an address waits for ever",
        "lndesk/p2p/fair_sessions.py",
        "            if now - since < FAIR_WAIT_SECONDS:\n",
        "            if True:\n",
        FAIR,
    ),
    Mutant(
        "fair sessions: waiting addresses are remembered without bound",
        "lndesk/p2p/fair_sessions.py",
        "        while len(self._waiting) > MAX_WAITING:\n",
        "        while False:\n",
        FAIR,
    ),
    # --- streams whose address cannot be read (lndesk/p2p/admission.py) ----------------
    Mutant(
        "admission: streams whose address cannot be read are exempt from the session limits",
        "lndesk/p2p/admission.py",
        "        if ip is None:\n            return UNREAD_ADDRESS\n",
        "        if ip is None:\n            return None\n",
        ADMISSION,
    ),
    # --- the order a want is charged in (lndesk/p2p/sync.py) ---------------------------
    Mutant(
        "sync: a want refused by the peer's rate still costs its address",
        "lndesk/p2p/sync.py",
        "        self._want_rate.charge(peer, feeds)\n"
        "        charge_want(self.sessions.admission, stream, feeds)\n",
        "        charge_want(self.sessions.admission, stream, feeds)\n"
        "        self._want_rate.charge(peer, feeds)\n",
        FAIR,
    ),
    # --- dialling lost peers again (lndesk/p2p/redial.py) ------------------------------
    Mutant(
        "redial: the lost peers waiting to be dialled again are not capped",
        "lndesk/p2p/redial.py",
        "        while len(self._lost) > MAX_PENDING:\n",
        "        while False:\n",
        REDIAL,
    ),
    Mutant(
        "redial: every due lost peer is dialled at once, however many",
        "lndesk/p2p/redial.py",
        "            if not self._due or self._dialling >= DIALS_AT_ONCE:\n",
        "            if not self._due:\n",
        REDIAL,
    ),
    Mutant(
        "peering: the peers this node dialled are remembered without bound",
        "lndesk/p2p/redial.py",
        "        while len(self._peers) > self._most:\n",
        "        while False:\n",
        REDIAL,
    ),
    # --- yamux frames that close a connection (lndesk/p2p/yamux_window.py) -----------
    Mutant(
        "yamux: a frame body that fails to decrypt leaves the connection open",
        "lndesk/p2p/yamux_window.py",
        "        broken(self, failed)\n",
        "",
        YAMUX,
    ),
    Mutant(
        "yamux: a connection that broke in a data frame's body is not closed",
        "lndesk/p2p/yamux_window.py",
        '            if getattr(self, "_broken", False) and not self.event_closed.is_set():\n',
        "            if False:\n",
        YAMUX,
    ),
    Mutant(
        "yamux: a frame of an unknown version is taken",
        "lndesk/p2p/yamux_window.py",
        "    if version != VERSION or kind not in TYPES:\n",
        "    if kind not in TYPES:\n",
        YAMUX,
    ),
    Mutant(
        "yamux: a frame of an unknown type is skipped",
        "lndesk/p2p/yamux_window.py",
        "    if version != VERSION or kind not in TYPES:\n",
        "    if version != VERSION:\n",
        YAMUX,
    ),
    Mutant(
        "yamux: data over an open stream's receive window is buffered anyway",
        "lndesk/p2p/yamux_window.py",
        "        window = None if stream is None else stream.recv_window  # unknown: dropped\n",
        "        window = None\n",
        YAMUX,
    ),
    Mutant(
        "yamux: a new stream's first data frame may exceed its initial window",
        "lndesk/p2p/yamux_window.py",
        "        window: int | None = yamux.DEFAULT_WINDOW_SIZE  # a new stream's\n",
        "        window: int | None = None\n",
        YAMUX,
    ),
    # --- a server session's first message (lndesk/p2p/sessions.py) ----------------------
    Mutant(
        "sessions: a server takes any first message as the ask it expects",
        "lndesk/p2p/sessions.py",
        "    if not isinstance(message, kind):\n        raise ProtocolError(wrong)\n",
        "    if False:\n        raise ProtocolError(wrong)\n",
        ("tests/p2p/test_visit_rules.py", "tests/p2p/test_catchup_fetch.py"),
    ),
    # --- the streams a peer holds open on a connection (lndesk/p2p/yamux_window.py) -----
    Mutant(
        "yamux: a peer may hold any number of streams it opened on one connection",
        "lndesk/p2p/yamux_window.py",
        "    return opened >= MAX_INBOUND_STREAMS\n",
        "    return False\n",
        STREAMS,
    ),
    Mutant(
        "yamux: a new stream over the cap is answered RST and then opened anyway",
        "lndesk/p2p/yamux_window.py",
        "version, kind, flags & ~yamux.FLAG_SYN, stream_id, length",
        "version, kind, flags, stream_id, length",
        STREAMS,
    ),
    Mutant(
        "yamux: a reset stream keeps what it buffered until py-libp2p's sweeper runs",
        "lndesk/p2p/yamux_window.py",
        "                buffer.clear()  # never read again: a reset stream's reads fail\n",
        "                pass\n",
        STREAMS,
    ),
    # --- the /64s of one IPv6 /48 (lndesk/p2p/admission.py) ----------------------------
    Mutant(
        "admission: the /64s of one IPv6 /48 hold any number of sessions together",
        "lndesk/p2p/admission.py",
        "if site is not None and self._open_sites[site] >= self.limits.sessions_per_site:",
        "if False:",
        GROUPS,
    ),
    Mutant(
        "admission: batch turns count an IPv6 address by its /64, four of them holding all",
        "lndesk/p2p/admission.py",
        "return address_key(address, SITE_IPV6_BITS) if _is_limited(address, limits) else None",
        "return address_key(address) if _is_limited(address, limits) else None",
        GROUPS,
    ),
    # --- a peer's pings answered at a bounded rate (lndesk/p2p/yamux_window.py) ---------
    Mutant(
        "yamux: every ping of a peer is answered, thousands from one Noise message",
        "lndesk/p2p/yamux_window.py",
        "        return ping_or_dropped(reader, header)\n",
        "        return header\n",
        PINGS,
    ),
    Mutant(
        "yamux: a connection's ping budget never runs out",
        "lndesk/p2p/yamux_window.py",
        "        if self._tokens < 1:\n            return False\n",
        "        if False:\n            return False\n",
        PINGS,
    ),
    Mutant(
        "yamux: a frame for a stream not open is held whole before it is dropped",
        "lndesk/p2p/yamux_window.py",
        "            if window is None:  # a stream not open: dropped as it is read\n",
        "            if False:\n",
        STREAMS,
    ),
    # --- a frame written whole or its connection closed (lndesk/p2p/yamux_window.py) ---
    Mutant(
        "yamux: a frame its peer takes nothing of is waited for, for ever",
        "lndesk/p2p/yamux_window.py",
        "        with trio.move_on_after(seconds) as writing:\n",
        "        with trio.move_on_after(seconds * 1e9) as writing:\n",
        WRITES,
    ),
    Mutant(
        "yamux: a connection whose frame was cut short is written on",
        "lndesk/p2p/yamux_window.py",
        '        await cut_short(conn, "a frame was cut short (its writer was cancelled)")\n',
        "        pass\n",
        WRITES,
    ),
]
