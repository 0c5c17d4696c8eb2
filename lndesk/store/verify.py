"""``lndesk verify``: re-check everything stored against the rules it was stored under."""

from __future__ import annotations

from dataclasses import dataclass, field

from lndesk.entry import Entry, decode_entry
from lndesk.errors import EntryError, StoreCorruptError
from lndesk.keytext import short_key
from lndesk.store.logfile import Record, ScanEnd
from lndesk.store.store import Store


@dataclass(slots=True)
class VerifyReport:
    records: int = 0
    entries: int = 0
    feeds: int = 0
    signatures: int = 0
    payloads: int = 0
    forked: list[tuple[bytes, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_store(store: Store, *, every_signature: bool = False) -> VerifyReport:
    """Check the log's framing, then every feed's chain, signatures and payload hashes.

    Each contiguous run of a feed is authenticated like a received batch: its hash links
    plus the signature of its last entry. ``every_signature`` checks each entry's own
    signature as well (slower, about 9,000 entries/s per core).
    """
    report = VerifyReport()
    for item in store.log.scan():
        if isinstance(item, ScanEnd):
            if item.torn:
                report.problems.append(f"log damaged at offset {item.valid_end}: {item.problem}")
            break
        report.records += 1
    for state in store.feeds():
        if state.max_seq == 0:
            continue
        report.feeds += 1
        if state.forked_at is not None:
            report.forked.append((state.key, state.forked_at))
        _verify_feed(store, state.key, report, every_signature)
    return report


def _verify_feed(store: Store, key: bytes, report: VerifyReport, every_signature: bool) -> None:
    name = short_key(key)
    previous: Entry | None = None
    for row in store.feed_rows(key, 2000):
        try:
            record: Record = store.log.read(row.offset)
            entry = decode_entry(record.entry)
        except (StoreCorruptError, EntryError) as exc:
            report.problems.append(f"{name} entry {row.seq}: {exc}")
            if previous is not None:
                _check_signature(previous, report, name)  # its run ends here
            previous = None
            continue
        report.entries += 1
        if entry.author != key or entry.seq != row.seq or entry.id != row.id:
            report.problems.append(f"{name} entry {row.seq}: index and log disagree")
        if record.payload is not None:
            report.payloads += 1
            try:
                entry.check_payload(record.payload)
            except EntryError as exc:
                report.problems.append(f"{name} entry {row.seq}: {exc}")
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


def _check_signature(entry: Entry, report: VerifyReport, name: str) -> None:
    report.signatures += 1
    try:
        entry.verify_signature()
    except EntryError:
        report.problems.append(f"{name} entry {entry.seq}: signature does not verify")
