"""The mutants of scripts/mutate.py: one-line changes to the checks that keep forged,
broken and hostile data out, each with the tests that must catch it. The network
protocols' mutants are in scripts/mutants_network.py, the store's crash and file handling
ones (a full disk, damaged files, compaction, the request journal) in
scripts/mutants_store.py, the batch layout reader's in scripts/mutants_layout.py, the web
feeds' in scripts/mutants_feeds.py (and admission, serving and files each in theirs)."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path
from mutants_admission import ADMISSION_MUTANTS
from mutants_feeds import FEEDS_MUTANTS
from mutants_files import FILES_MUTANTS
from mutants_files2 import FILES2_MUTANTS
from mutants_gossip import GOSSIP_MUTANTS
from mutants_layout import LAYOUT_MUTANTS
from mutants_network import NETWORK_MUTANTS
from mutants_relay import RELAY_MUTANTS
from mutants_serving import SERVING_MUTANTS
from mutants_store import STORE_MUTANTS

VECTORS = ("tests/test_vectors.py", "tests/test_ingest_vectors.py")
ENTRY = ("tests/test_entry.py", "tests/test_entry_parser.py", *VECTORS)
CANONICAL = ("tests/test_canonical.py", "tests/test_vectors.py")
INGEST = ("tests/test_store_ingest.py", "tests/test_ingest_vectors.py")


MUTANTS = [
    # --- store ingest (lndesk/store/ingest.py) ------------------------------------------
    Mutant(
        "ingest: a batch starting at a stored entry counts as anchored",
        "lndesk/store/ingest.py",
        "anchored = last.seq in stored",
        "anchored = first.seq in stored",
        INGEST,
    ),
    Mutant(
        "ingest: the last signature of an unanchored batch is not checked",
        "lndesk/store/ingest.py",
        "    if not anchored:\n        try:\n            last.verify_signature()",
        "    if False:\n        try:\n            last.verify_signature()",
        INGEST,
    ),
    Mutant(
        "ingest: a conflicting entry is kept as fork proof without checking its signature",
        "lndesk/store/ingest.py",
        "            entry.verify_signature()\n            plan.fork_proof = entry",
        "            plan.fork_proof = entry",
        INGEST,
    ),
    Mutant(
        "ingest: a conflicting entry at a stored seq is not noticed",
        "lndesk/store/ingest.py",
        "if held is not None and held[0] != entry.id:",
        "if False:",
        INGEST,
    ),
    Mutant(
        "ingest: the first entry need not link to the stored entry before it",
        "lndesk/store/ingest.py",
        "if below is not None and first.prev != below[0]:",
        "if False:",
        INGEST,
    ),
    Mutant(
        "ingest: the stored successor need not name the last entry",
        "lndesk/store/ingest.py",
        "if stored_prev(last.seq + 1) != last.id:",
        "if False:",
        INGEST,
    ),
    Mutant(
        "batch: more than 10000 entries are decoded and checked",
        "lndesk/batch.py",
        "if len(items) > MAX_BATCH:",
        "if False:",
        ("tests/test_ingest_vectors.py",),
    ),
    Mutant(
        "ingest: an entry of another author than the feed is accepted",
        "lndesk/batch.py",
        "    if entry.author != author:\n        raise ChainError(",
        "    if False:\n        raise ChainError(",
        INGEST,
    ),
    Mutant(
        "ingest: a payload is not checked against its entry",
        "lndesk/batch.py",
        "    if payload is not None and payload is not entry.matched:",
        "    if False:",
        INGEST,
    ),
    Mutant(
        "ingest: the entries of a batch need not link",
        "lndesk/batch.py",
        "    authenticate_range(entries, trusted_last=True)",
        "    pass",
        INGEST,
    ),
    Mutant(
        "ingest: stored entries are stored again",
        "lndesk/store/ingest.py",
        "        if entry.seq in stored:\n            plan.duplicates += 1",
        "        if False:\n            plan.duplicates += 1",
        INGEST,
    ),
    Mutant(
        "ingest: a batch with nothing stored around it is not checked for forks",
        "lndesk/store/ingest.py",
        "for entry in entries if stored else ():",
        "for entry in ():",
        INGEST,
    ),
    Mutant(
        "ingest: a batch is taken as new whatever is stored around it",
        "lndesk/store/ingest.py",
        "    if not stored:\n        plan.new = list(",
        "    if True:\n        plan.new = list(",
        INGEST,
    ),
    Mutant(
        "store: the payloads a batch brings for held entries are indexed as new entries",
        "lndesk/store/store.py",
        "self._append(fills, received_ms, max_seq, parsed)",
        "self._append(fills, received_ms, max_seq, parsed, unheld=True)",
        ("tests/test_store_fill.py",),
    ),
    Mutant(
        "store: a frozen feed takes new batches",
        "lndesk/store/store.py",
        "        if forked_at is not None:\n            raise ForkedFeedError(\n"
        '                f"{short_key(author)} signed',
        "        if False:\n            raise ForkedFeedError(\n"
        '                f"{short_key(author)} signed',
        INGEST,
    ),
    # --- tombstones (lndesk/store/refs.py) ----------------------------------------------
    Mutant(
        "tombstone: another author's tombstone deletes",
        "lndesk/store/refs.py",
        "if content.ref.author == author and content.ref.seq < entry.seq:",
        "if content.ref.seq < entry.seq:",
        ("tests/test_store_ingest.py", "tests/test_store_purge.py"),
    ),
    # --- forgetting expired requests (lndesk/store/derive.py, index.py, forget.py) ------
    Mutant(
        "forget: the edit of a forgotten request is kept and shown after a rebuild",
        "lndesk/store/derive.py",
        '"AND deleted = 1",',
        '"AND deleted = 2",',
        ("tests/test_store_forget.py",),
    ),
    Mutant(
        "forget: a rebuild reads a purged entry as not deleted",
        "lndesk/store/index.py",
        "int(state == PAYLOAD_PURGED),",
        "0,",
        ("tests/test_store_forget.py",),
    ),
    Mutant(
        "forget: a forgotten hole's record stays a hole, which its payload fills later",
        "lndesk/store/forget.py",
        "            holes.append((stored.offset, stored.id))",
        "            pass",
        ("tests/test_store_forget.py",),
    ),
    Mutant(
        "forget: the purge leaves a forgotten hole's record unmarked",
        "lndesk/store/purge.py",
        "if record.kind != KIND_ENTRY or record.purged:",
        "if record.kind != KIND_ENTRY or record.payload is None:",
        ("tests/test_store_forget.py",),
    ),
    # --- inbox quotas (lndesk/app/inbox_quota.py) --------------------------------------
    Mutant(
        "inbox quota: a follower keeps a notice from outside its circle",
        "lndesk/app/inbox_quota.py",
        "        if others and not requests:",
        "        if False:",
        ("tests/p2p/test_inbox_quota.py",),
    ),
    # --- full-text index (lndesk/store/fulltext.py) ------------------------------------
    Mutant(
        "snippets: a long text of several matching words goes to FTS5's snippet(), quadratic",
        "lndesk/store/snippets.py",
        "if len(query.phrases) < 2 or len(text) > LONG_TEXT or (query.typing",
        "if len(query.phrases) < 2 or (query.typing",
        ("tests/test_snippets.py",),
    ),
    Mutant(
        "snippets: an ASCII text's match may start inside a word",
        "lndesk/store/snippets.py",
        "if (not at or shape[at - 1] == SEPARATOR) and (not whole",
        "if True and (not whole",
        ("tests/test_snippets.py",),
    ),
    Mutant(
        "snippets: an ASCII text's match of a whole word may end inside a word",
        "lndesk/store/snippets.py",
        "and (not whole or shape[end : end + 1] != _MARK):",
        "and True:",
        ("tests/test_snippets.py",),
    ),
    Mutant(
        "snippets: an ASCII text's phrase match skips the words after its first",
        "lndesk/store/snippets.py",
        "        if at < 0 or not lowered.startswith(word, at):",
        "        if at < 0:",
        ("tests/test_snippets.py",),
    ),
    Mutant(
        "snippets: the folds of characters asked about are kept without bound",
        "lndesk/store/folding.py",
        "if len(table) + len(missing) > len(_seed()) + FOLDS_LIMIT or not table:",
        "if not table:",
        ("tests/test_snippets.py",),
    ),
    Mutant(
        "full-text: a removed document's words stay in the index",
        "lndesk/store/fulltext.py",
        "        self.conn.execute(_DELETE, (rowid, found.text, found.facets))",
        "        pass",
        ("tests/test_search_index.py", "tests/test_store_purge.py"),
    ),
    Mutant(
        "full-text: a removed document's filter words stay in the index",
        "lndesk/store/fulltext.py",
        "self.conn.execute(_DELETE, (rowid, found.text, found.facets))",
        'self.conn.execute(_DELETE, (rowid, found.text, ""))',
        ("tests/test_search_index.py", "tests/test_store_learning.py"),
    ),
    # --- entries (lndesk/entry.py) ------------------------------------------------------
    Mutant(
        "entry: the signature is not verified",
        "lndesk/entry.py",
        "            verify_signature(self.author, self.signed_message(), self.signature)",
        "            pass",
        ENTRY,
    ),
    Mutant(
        "entry: a decoded entry counts as verified, so its signature is never checked",
        "lndesk/entry.py",
        "verified: bool = field(default=False,",
        "verified: bool = field(default=True,",
        (*ENTRY, *INGEST),
    ),
    Mutant(
        "entry: an entry counts as verified once a check of its signature began",
        "lndesk/entry.py",
        "        if self.verified:\n            return\n        try:",
        "        if self.verified:\n            return\n        self.verified = True\n        try:",
        ENTRY,
    ),
    Mutant(
        "entry: the id does not cover the signature",
        "lndesk/entry.py",
        "hashlib.blake2b(raw, digest_size=HASH_SIZE).digest(),",
        "hashlib.blake2b(raw[:-_SIGNATURE_TAIL], digest_size=HASH_SIZE).digest(),",
        ENTRY,
    ),
    Mutant(
        "entry: the signed message lacks the context prefix",
        "lndesk/entry.py",
        'return SIGNATURE_CONTEXT + b"\\x88" + self.raw[1:-_SIGNATURE_TAIL]',
        'return b"\\x88" + self.raw[1:-_SIGNATURE_TAIL]',
        ENTRY,
    ),
    Mutant(
        "entry: a payload is checked by its size only",
        "lndesk/entry.py",
        "if len(payload) != self.payload_size or blake2b_256(payload) != self.payload_hash:",
        "if len(payload) != self.payload_size:",
        ENTRY,
    ),
    Mutant(
        "range: seqs need not be consecutive when prev links",
        "lndesk/entry.py",
        "if after.seq != before.seq + 1 or after.prev != before.id:",
        "if after.prev != before.id:",
        ENTRY,
    ),
    Mutant(
        "range: prev need not be the id of the entry before",
        "lndesk/entry.py",
        "if after.seq != before.seq + 1 or after.prev != before.id:",
        "if after.seq != before.seq + 1:",
        ENTRY,
    ),
    Mutant(
        "range: a run may mix authors",
        "lndesk/entry.py",
        "        if after.author != author:\n            raise ChainError(",
        "        if False:\n            raise ChainError(",
        ENTRY,
    ),
    Mutant(
        "range: the last signature is not checked",
        "lndesk/entry.py",
        "    if not trusted_last:\n        entries[-1].verify_signature()",
        "    if False:\n        entries[-1].verify_signature()",
        ENTRY,
    ),
    Mutant(
        "entry: a 513-byte entry is accepted",
        "lndesk/entry.py",
        "if len(raw) > MAX_ENTRY_SIZE:",
        "if len(raw) > MAX_ENTRY_SIZE + 1:",
        ENTRY,
    ),
    Mutant(
        "entry: bytes after the signature are ignored",
        "lndesk/entry.py",
        "if end != len(raw):",
        "if end > len(raw):",
        ENTRY,
    ),
    Mutant(
        "entry: seq 0 is accepted",
        "lndesk/entry.py",
        '    if not 1 <= seq <= MAX_SEQ:\n        raise DecodeError("entry sequence',
        '    if not 0 <= seq <= MAX_SEQ:\n        raise DecodeError("entry sequence',
        ENTRY,
    ),
    Mutant(
        "entry: a later entry may have prev null",
        "lndesk/entry.py",
        "if (seq == 1) != (prev is None):",
        "if seq == 1 and prev is not None:",
        ENTRY,
    ),
    Mutant(
        "entry: a timestamp of 2^53 is accepted",
        "lndesk/entry.py",
        "    if claimed_ms > MAX_TIMESTAMP_MS:",
        "    if claimed_ms > MAX_TIMESTAMP_MS + 1:",
        ENTRY,
    ),
    Mutant(
        "entry: a payload size over 65536 is accepted",
        "lndesk/entry.py",
        '_ -")\n    if payload_size > MAX_PAYLOAD_SIZE:',
        '_ -")\n    if False:',
        ENTRY,
    ),
    Mutant(
        "entry: integers need not be in shortest form",
        "lndesk/entry.py",
        "if value < _UINT_MINIMUM[size]:",
        "if False:",
        ENTRY,
    ),
    Mutant(
        "entry: byte strings of any length are read as 32 or 64",
        "lndesk/entry.py",
        "if raw[pos] != 0x58 or raw[pos + 1] != size:",
        "if raw[pos] != 0x58:",
        ENTRY,
    ),
    # --- deterministic CBOR (lndesk/canonical.py) ---------------------------------------
    Mutant(
        "cbor: keys of one length need not be in bytewise order",
        "lndesk/canonical.py",
        "if key_len < previous_len or (key_len == previous_len and encoded <= previous):",
        "if key_len < previous_len:",
        CANONICAL,
    ),
    Mutant(
        "cbor: a longer key may come first",
        "lndesk/canonical.py",
        "if key_len < previous_len or (key_len == previous_len and encoded <= previous):",
        "if key_len == previous_len and encoded <= previous:",
        CANONICAL,
    ),
    Mutant(
        "cbor: one level deeper is accepted",
        "lndesk/canonical.py",
        "    if depth >= MAX_DEPTH:\n"
        '        raise DecodeError(f"CBOR value nested deeper than {MAX_DEPTH} levels")\n'
        "    if kind is list:\n        size",
        "    if depth > MAX_DEPTH:\n"
        '        raise DecodeError(f"CBOR value nested deeper than {MAX_DEPTH} levels")\n'
        "    if kind is list:\n        size",
        CANONICAL,
    ),
    Mutant(
        "cbor: integers beyond 64 bits are accepted",
        "lndesk/canonical.py",
        "if not _INT_MIN <= value <= _INT_MAX:",
        "if False:",
        CANONICAL,
    ),
    Mutant(
        "cbor: map keys need not be text",
        "lndesk/canonical.py",
        "            if type(key) is not str:\n"
        '                raise DecodeError("map keys must be text strings")\n'
        "            encoded",
        "            if False:\n"
        '                raise DecodeError("map keys must be text strings")\n'
        "            encoded",
        CANONICAL,
    ),
    Mutant(
        "cbor: the input need not be as long as its deterministic encoding",
        "lndesk/canonical.py",
        "if _encoded_size(value, 0) != len(data):",
        "if False:",
        CANONICAL,
    ),
    Mutant(
        "cbor: floats and other values are allowed",
        "lndesk/canonical.py",
        '    raise DecodeError(f"CBOR value of type {kind.__name__} '
        'is not allowed in lndesk data")\n\n\ndef decode(',
        "    return 0\n\n\ndef decode(",
        CANONICAL,
    ),
    Mutant(
        "cbor: indefinite lengths are decoded",
        "lndesk/canonical.py",
        "allow_indefinite=False,",
        "allow_indefinite=True,",
        CANONICAL,
    ),
    Mutant(
        "cbor: duplicate keys are decoded",
        "lndesk/canonical.py",
        "allow_duplicate_keys=False,",
        "allow_duplicate_keys=True,",
        CANONICAL,
    ),
    *LAYOUT_MUTANTS,  # the batch layout reader (scripts/mutants_layout.py)
    *NETWORK_MUTANTS,  # the sync, fetch and thread protocols (scripts/mutants_network.py)
    *GOSSIP_MUTANTS,  # gossip, its signatures, read-ahead and yamux (scripts/mutants_gossip.py)
    *SERVING_MUTANTS,  # stalled readers, batch turns, limits per address, penalties
    *ADMISSION_MUTANTS,  # fair sessions, unread addresses, want charging, redials
    *STORE_MUTANTS,  # a full disk, damaged files, compaction, the request journal
    *FILES_MUTANTS,  # bootstrap peers and backup files bounded (scripts/mutants_files.py)
    *FILES2_MUTANTS,  # files read back from the data dir (scripts/mutants_files2.py)
    *FEEDS_MUTANTS,  # web feeds fetched, followed and parsed (scripts/mutants_feeds.py)
    *RELAY_MUTANTS,  # a relaying follower's head path (scripts/mutants_relay.py)
    # --- reveals of pseudonyms (docs/protocol.md 10.13) --------------------------------
    Mutant(
        "reveal: a reveal is indexed without checking its proof",
        "lndesk/store/derive.py",
        "case Reveal(key=key, proof=proof) if reveal_holds(own, key, proof):",
        "case Reveal(key=key, proof=proof):",
        ("tests/test_store_reveals.py",),
    ),
    Mutant(
        "reveal: a pseudonym claimed with proofs by two people is shown as one's",
        "lndesk/store/reveals.py",
        "    if len(rows) != 1:",
        "    if not rows:",
        ("tests/test_store_reveals.py",),
    ),
    Mutant(
        "reveal: a main identity is shown as someone else's pseudonym",
        "lndesk/store/reveals.py",
        "    if _reveals_any(store, key):",
        "    if False:",
        ("tests/test_store_reveals.py",),
    ),
    Mutant(
        "reveal: a deleted reveal loses its payload and its effect",
        "lndesk/store/derive.py",
        "if row.type in (TOMBSTONE, REVEAL):",
        "if row.type == TOMBSTONE:",
        ("tests/test_store_reveals.py",),
    ),
    Mutant(
        "reveal: a reveal synced after its tombstone is stored without its payload",
        "lndesk/store/refs.py",
        "item.entry.type in (TOMBSTONE, REVEAL):",
        "item.entry.type == TOMBSTONE:",
        ("tests/test_store_reveals.py",),
    ),
    Mutant(
        "reveal: a name may carry what reads as a pseudonym's attribution",
        "lndesk/names.py",
        "            if _is_opening(char) and _attribution(name, i):",
        "            if False:",
        ("tests/test_reveal_readers.py", "tests/test_names.py"),
    ),
    Mutant(
        "names: a key written with look-alikes of its letters is left in a name",
        "lndesk/names.py",
        'for part in unicodedata.normalize("NFD", folded).translate(_KEY_LOOK_ALIKES):',
        'for part in unicodedata.normalize("NFD", folded):',
        ("tests/test_names.py", "tests/test_names_idempotent.py"),
    ),
    Mutant(
        "names: a key whose l is a Latin capital iota is left in a name",
        "lndesk/names.py",
        '        "\\u0196": "l",  # Latin capital iota\n',
        "",
        ("tests/test_names.py",),
    ),
    Mutant(
        "names: a key with combining marks on its letters is left in a name",
        "lndesk/names.py",
        "            if unicodedata.category(part) not in _MARK_CATEGORIES:",
        "            if True:",
        ("tests/test_names.py", "tests/test_names_idempotent.py"),
    ),
    Mutant(
        "names: a name is cleaned in one pass, what it leaves shown as it is",
        "lndesk/names.py",
        "        if cleaned == name:\n            return name",
        "        if True:\n            return cleaned",
        ("tests/test_names_idempotent.py",),
    ),
    Mutant(
        "reveal: a pseudonym's helpful mark of my own answer links the two",
        "lndesk/app/answers.py",
        "    if author != signer and author in mine and signer in mine:",
        "    if False:",
        ("tests/test_cli_pseudonym_marks.py",),
    ),
    Mutant(
        "reveal: a pseudonym's question is marked by the main identity",
        "lndesk/app/pseudonym_marks.py",
        "journaled_publish(service.store, identity, content, service.publishing_request)",
        "service.publish(content)",
        ("tests/test_cli_pseudonym_marks.py", "tests/p2p/test_pseudonym_marks_nodes.py"),
    ),
    Mutant(
        "exactly-once: a lost request is looked for in the own log, not the log it names",
        "lndesk/app/requests.py",
        "            log, after + 1, after + SCAN_LIMIT, SCAN_LIMIT, 1 << 26",
        "            own, after + 1, after + SCAN_LIMIT, SCAN_LIMIT, 1 << 26",
        ("tests/test_exactly_once_pseudonyms.py",),
    ),
    # --- answers to questions (docs/protocol.md 32.5, lndesk/store/questions.py) -------
    Mutant(
        "answers: a stranger's reply to any post of the owner skips Requests",
        "lndesk/store/threads.py",
        '"(e.feed, e.seq) IN (SELECT r.feed, r.seq FROM questions q "',
        '"(e.feed, e.seq) IN (SELECT r.feed, r.seq FROM entries q "',
        ("tests/test_learning_service.py", "tests/test_store_questions.py"),
    ),
    Mutant(
        "answers: a stranger who replied to any post of the owner is served",
        "lndesk/store/threads.py",
        '"SELECT 1 FROM questions q JOIN entries o ON o.feed = q.feed AND o.seq = q.seq "',
        '"SELECT 1 FROM entries q JOIN entries o ON o.feed = q.feed AND o.seq = q.seq "',
        ("tests/test_store_questions.py",),
    ),
    Mutant(
        "answers: an edit of a reply makes it a question",
        "lndesk/store/derive.py",
        'if row.type == "post" and asks(current):',
        "if asks(current):",
        ("tests/test_store_questions.py",),
    ),
    # --- a sparse feed served (lndesk/p2p/sync.py, lndesk/store/index.py) ---------------
    Mutant(
        "sync sparse: the server reads the whole rest of a get's range at every gap",
        "lndesk/p2p/sync.py",
        "after = ahead.next_from(seq)",
        "after = HeldAhead(source, get.feed, seq, get.last, get.last).next_from(seq)",
        ("tests/p2p/test_sync.py",),
    ),
    Mutant(
        "sync sparse: a run read for a batch goes on past a gap",
        "lndesk/store/index.py",
        "if seq != first + len(offsets):",
        "if False:",
        ("tests/test_store.py",),
    ),
    # --- a thread's audience (lndesk/store/threads.py) ----------------------------------
    Mutant(
        "threads audience: a replier's two hops are found by a walk of every follow",
        "lndesk/store/threads.py",
        '"SELECT 1 FROM follows f2 INDEXED BY follows_by_dst "',
        '"SELECT 1 FROM follows f2 NOT INDEXED "',
        ("tests/test_store_threads.py",),
    ),
]
