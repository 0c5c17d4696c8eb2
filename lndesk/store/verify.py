"""``lndesk verify``: re-check everything stored against the rules it was stored under.

The log is checked itself, record by record, not through the index: every valid record
(damaged ranges are reported and skipped), no two different entries of one author at
one position outside a kept fork proof, every feed's chain, signatures and payload
hashes. The index is then compared with what the log holds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from lndesk.entry import Entry, decode_entry
from lndesk.entry_refs import PostKey
from lndesk.errors import EntryError, StoreCorruptError
from lndesk.keytext import short_key
from lndesk.store.logfile import KIND_FORK_PROOF, Record
from lndesk.store.salvage import Damaged, salvage_scan
from lndesk.store.store import Store

REINDEX = "Run lndesk reindex to rebuild the index from the log (nothing is lost)."
REPAIR = (
    "Run lndesk repair: it keeps every valid record, moves the damaged bytes into a "
    "file beside the log and says what was lost."
)

DOUBLE_SIGNED = (
    "Two signed entries at one position cannot be undone; both stay in the log as they "
    "are. Peers that see both take nothing newer from its author: tell the people who follow them."
)
BAD_ENTRIES = (
    "Entries that fail their checks are never served to peers. Keep a copy of the data "
    "directory and report the problem; lndesk export --out FILE saves your own posts."
)


@dataclass(slots=True)
class VerifyReport:
    records: int = 0
    entries: int = 0
    feeds: int = 0
    signatures: int = 0
    payloads: int = 0
    forked: list[PostKey] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    double_signed: list[PostKey] = field(default_factory=list)
    """(author, seq) where the log holds two different entries outside a fork proof."""
    damaged: list[Damaged] = field(default_factory=list)
    index_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def advice(self) -> list[str]:
        """The next step for each kind of problem found, most important first."""
        steps = []
        if self.damaged:
            steps.append(REPAIR)
        if self.double_signed:
            steps.append(DOUBLE_SIGNED)
        if self.index_problems:
            steps.append(REINDEX)
        if len(self.problems) > self.index_problems + len(self.damaged) + len(self.double_signed):
            steps.append(BAD_ENTRIES)
        return steps


@dataclass(slots=True)
class _Held:
    offset: int
    id: bytes


def verify_store(store: Store, *, every_signature: bool = False) -> VerifyReport:
    """Check the log's records, then every feed's chain, signatures and payload hashes,
    then that the index matches the log.

    Each contiguous run of a feed is authenticated like a received batch: its hash links
    plus the signature of its last entry. ``every_signature`` checks each entry's own
    signature as well (slower, about 9,000 entries/s per core).
    """
    report = VerifyReport()
    feeds = _read_log(store, report)
    intact = _index_intact(store, report)  # if not, the log is checked all the same
    forks = {state.key: state.forked_at for state in store.feeds()} if intact else {}
    for key in sorted(feeds):
        held = feeds[key]
        report.feeds += 1
        if forks.get(key) is not None:
            report.forked.append((key, forks[key] or 0))
        _verify_feed(store, key, held, report, every_signature)
        if intact:
            _compare_index(store, key, held, report)
    for key, forked_at in forks.items():
        if forked_at is not None and key not in feeds:
            report.forked.append((key, forked_at))
    return report


def _index_intact(store: Store, report: VerifyReport) -> bool:
    """SQLite's own check of the index file (every page and b-tree)."""
    try:
        rows = store.index.conn.execute("PRAGMA quick_check").fetchall()
        problem = None if [tuple(row) for row in rows] == [("ok",)] else str(rows[0][0])
    except sqlite3.DatabaseError as exc:
        problem = str(exc)
    if problem is None:
        return True
    report.index_problems += 1
    report.problems.append(f"the index is damaged: {problem}")
    return False


def _read_log(store: Store, report: VerifyReport) -> dict[bytes, dict[int, _Held]]:
    feeds: dict[bytes, dict[int, _Held]] = {}
    for item in salvage_scan(store.log):
        if isinstance(item, Damaged):
            report.damaged.append(item)
            where = "to the end" if item.end >= store.log.end else f"to offset {item.end}"
            report.problems.append(
                f"log damaged from offset {item.start} {where} ({item.size} bytes: {item.problem})"
            )
            continue
        report.records += 1
        if item.kind == KIND_FORK_PROOF:
            continue
        try:
            entry = decode_entry(item.entry)
        except EntryError as exc:
            report.problems.append(f"log record at offset {item.offset}: {exc}")
            continue
        seqs = feeds.setdefault(entry.author, {})
        first = seqs.get(entry.seq)
        if first is None:
            seqs[entry.seq] = _Held(item.offset, entry.id)
        elif first.id == entry.id:
            if item.payload is not None:  # a payload that came later: a filled hole (14.2)
                seqs[entry.seq] = _Held(item.offset, entry.id)
        elif first.id != entry.id:
            report.double_signed.append((entry.author, entry.seq))
            report.problems.append(
                f"{short_key(entry.author)} entry {entry.seq}: two different entries are "
                f"stored at this position (log offsets {first.offset} and {item.offset})"
            )
    return feeds


def _verify_feed(
    store: Store, key: bytes, held: dict[int, _Held], report: VerifyReport, every_signature: bool
) -> None:
    name = short_key(key)
    previous: Entry | None = None
    for seq in sorted(held):
        try:
            record: Record = store.log.read(held[seq].offset)
            entry = decode_entry(record.entry)
        except (StoreCorruptError, EntryError) as exc:  # pragma: no cover - scanned just now
            report.problems.append(f"{name} entry {seq}: {exc}")
            previous = None
            continue
        report.entries += 1
        if record.payload is not None:
            report.payloads += 1
            try:
                entry.check_payload(record.payload)
            except EntryError as exc:
                report.problems.append(f"{name} entry {seq}: {exc}")
        if previous is not None and previous.seq + 1 == entry.seq:
            if entry.prev != previous.id:
                report.problems.append(f"{name} entry {entry.seq}: chain link broken")
            if every_signature:
                _check_signature(previous, report, name)
        elif previous is not None:
            _check_signature(previous, report, name)  # end of a contiguous run
        previous = entry
    if previous is not None:
        _check_signature(previous, report, name)


def _compare_index(store: Store, key: bytes, held: dict[int, _Held], report: VerifyReport) -> None:
    """Every entry the log holds is indexed, as the same entry, and nothing else is."""
    name = short_key(key)
    indexed = {row.seq: row for row in store.feed_rows(key, 2000)}
    missing = [seq for seq in held if seq not in indexed]
    wrong = [seq for seq, row in indexed.items() if seq in held and row.id != held[seq].id]
    extra = [seq for seq in indexed if seq not in held]
    if missing and store.index_behind:
        missing = []  # a failed index write: the index catches up by itself
    for label, seqs in (
        ("stored in the log but missing from the index", missing),
        ("different in the index and the log", wrong),
        ("in the index but not in the log", extra),
    ):
        if seqs:
            report.index_problems += 1
            report.problems.append(f"{name}: {len(seqs)} entries {label} (from entry {min(seqs)})")


def _check_signature(entry: Entry, report: VerifyReport, name: str) -> None:
    report.signatures += 1
    try:
        entry.verify_signature()
    except EntryError:
        report.problems.append(f"{name} entry {entry.seq}: signature does not verify")
