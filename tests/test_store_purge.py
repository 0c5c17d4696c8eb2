"""Purging deleted payloads from the log: the record format, and crashes mid-purge.

A tombstone's target loses its payload in place (docs/protocol.md 14.4): the record is
rewritten with the PURGED flag and zeros where the payload was. The crash tests kill a
child process (``os._exit``, no clean-up) at each step of a purge and check that the
next open finishes it, with a log that scans clean and chains that still verify.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from search_index import assert_words_are_the_documents, indexed_texts, staged_documents
from store_helpers import check_feed, child_env, make_chain, make_entry, make_identity, wire

from lndesk.content import Post, Tombstone, encode_content
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.errors import StoreCorruptError
from lndesk.store.logfile import (
    FLAG_PAYLOAD,
    FLAG_PURGED,
    HEADER_SIZE,
    KIND_ENTRY,
    LogFile,
    Record,
    ScanEnd,
    encode_record,
    purged_record,
)
from lndesk.store.purge import JOURNAL_NAME, purge_payloads
from lndesk.store.store import LOG_NAME, Store
from lndesk.store.verify import verify_store

ALICE = make_identity(31)
BOB = make_identity(32)
SECRET = "a sentence I regret writing"
TESTS_DIR = Path(__file__).resolve().parent


def log_bytes(directory: Path) -> bytes:
    return (directory / LOG_NAME).read_bytes()


def scan_all(path: Path) -> tuple[list[object], ScanEnd]:
    log_file = LogFile(path)
    try:
        items = list(log_file.scan())
    finally:
        log_file.close()
    end = items.pop()
    assert isinstance(end, ScanEnd)
    return items, end


def assert_clean(directory: Path) -> None:
    """The log scans to its end, the chains verify, no purge is pending."""
    records, end = scan_all(directory / LOG_NAME)
    assert not end.torn, end.problem
    assert not (directory / JOURNAL_NAME).exists()
    with Store(directory) as store:
        report = verify_store(store, every_signature=True)
        assert report.ok, report.problems
        assert report.records == len(records)
        check_feed(store, ALICE.public_key)
        assert store.index.pending_purges() == []


def assert_text_gone(store: Store, text: str, entry: Entry) -> None:
    """No full-text document holds ``text`` (and the index keeps none of its words), and
    none is staged for ``entry`` (staged documents hold no text, only which entry's
    payload to read it from)."""
    conn = store.index.conn
    assert [d for d in indexed_texts(store) if text in d] == [], "a document keeps the text"
    quoted = '"' + text.replace('"', '""') + '"'
    assert conn.execute("SELECT rowid FROM search WHERE search MATCH ?", (quoted,)).fetchall() == []
    assert_words_are_the_documents(store)
    staged = conn.execute(
        "SELECT p.seq FROM search_pending p JOIN feeds f ON f.feed = p.feed "
        "WHERE f.key = ? AND ? IN (p.seq, p.source)",
        (entry.author, entry.seq),
    )
    assert staged.fetchall() == [], "the deleted entry is still staged for indexing"
    assert [d for d in staged_documents(store) if text in d.text] == []


# --- the record format ----------------------------------------------------------------


def test_a_purged_record_keeps_its_place_and_loses_its_payload(tmp_path: Path) -> None:
    (entry, payload), (second, second_payload) = make_chain(ALICE, 2, text=SECRET)
    path = tmp_path / LOG_NAME
    log_file = LogFile(path)
    first, middle = log_file.append(
        [
            encode_record(KIND_ENTRY, 1, entry.raw, payload),
            encode_record(KIND_ENTRY, 2, second.raw, second_payload),
        ]
    )
    size = path.stat().st_size
    assert purge_payloads(log_file, [(first, entry.id)]) == 1
    assert purge_payloads(log_file, [(first, entry.id)]) == 0  # already purged
    assert purge_payloads(log_file, [(middle, entry.id)]) == 0  # not that entry: left alone
    purged = log_file.read(first)
    assert (purged.payload, purged.purged, purged.entry) == (None, True, entry.raw)
    assert purged.size == middle - first and path.stat().st_size == size
    assert log_file.read(middle).payload == second_payload
    log_file.close()
    assert f"{SECRET} 1".encode() not in path.read_bytes()
    assert f"{SECRET} 2".encode() in path.read_bytes()
    records, end = scan_all(path)
    assert [r.offset for r in records] == [first, middle]  # type: ignore[attr-defined]
    assert not end.torn and not (tmp_path / JOURNAL_NAME).exists()


def body_of(flags: int, entry: bytes, rest: bytes, received_ms: int = 7) -> bytes:
    """A whole record: length, CRC, then the body, built by hand from protocol 14.2."""
    body = bytes([KIND_ENTRY, flags]) + received_ms.to_bytes(8, "big")
    body += len(entry).to_bytes(2, "big")
    body += entry + rest
    return len(body).to_bytes(4, "big") + zlib.crc32(body).to_bytes(4, "big") + body


@pytest.mark.parametrize(
    ("flags", "rest", "valid"),
    [
        (FLAG_PURGED, bytes(10), True),
        (FLAG_PURGED, b"", True),
        (FLAG_PURGED, bytes(9) + b"x", False),  # not zeroed
        (FLAG_PURGED | FLAG_PAYLOAD, bytes(10), False),  # both
        (0, bytes(10), False),  # bytes after the entry, no flag saying why
    ],
)
def test_purged_record_rules(tmp_path: Path, flags: int, rest: bytes, valid: bool) -> None:
    path = tmp_path / LOG_NAME
    LogFile(path).close()
    with path.open("ab") as handle:
        handle.write(body_of(flags, b"entry", rest))
    records, end = scan_all(path)
    assert (len(records) == 1) is valid
    assert end.torn is not valid


def test_the_purged_form_of_a_record_is_what_the_protocol_says() -> None:
    (entry, payload) = make_chain(ALICE, 1)[0]
    record = Record(HEADER_SIZE, KIND_ENTRY, 5, entry.raw, payload)
    prefix, size = purged_record(record)
    rewritten = prefix + bytes(size - len(prefix))
    assert size == len(encode_record(KIND_ENTRY, 5, entry.raw, payload))
    assert rewritten == body_of(FLAG_PURGED, entry.raw, bytes(len(payload)), received_ms=5)


# --- through the store ------------------------------------------------------------------


def test_a_tombstone_purges_its_target_from_the_log(data_dir: Path) -> None:
    with Store(data_dir) as store:
        kept = store.publish(ALICE, Post("kept"))
        gone = store.publish(ALICE, Post(SECRET))
        store.publish(ALICE, Tombstone(ref_of(gone)))
        assert SECRET.encode() not in log_bytes(data_dir)
        assert_text_gone(store, SECRET, gone)  # deleted while staged for indexing
        stored = {item.entry.seq: item for item in store.feed_entries(ALICE.public_key)}
        assert (stored[2].payload, stored[2].content, stored[2].deleted) == (None, None, True)
        assert stored[1].payload is not None and kept.seq == 1
        run = store.read_run(ALICE.public_key, 1, 3, 10, 1 << 20)
        assert [(seq, payload is None) for seq, _, payload in run] == [
            (1, False),
            (2, True),
            (3, False),
        ]
        assert store.reindex() == 3
        assert store.feed_entries(ALICE.public_key)[1].payload is None
    assert_clean(data_dir)
    with Store(data_dir) as reopened:
        assert reopened.warnings == []


@pytest.mark.parametrize("indexed", [False, True], ids=["staged", "indexed"])
def test_a_deleted_entry_leaves_no_text_to_search(store: Store, indexed: bool) -> None:
    store.publish(ALICE, Post("kept"))
    gone = store.publish(ALICE, Post(SECRET))
    if indexed:
        assert store.index_text() == 0
        assert indexed_texts(store) == sorted(["kept", SECRET])
    store.publish(ALICE, Tombstone(ref_of(gone)))
    assert_text_gone(store, SECRET, gone)
    assert store.index_text() == 0
    assert_text_gone(store, SECRET, gone)
    assert indexed_texts(store) == ["kept"]
    store.reindex()
    assert_text_gone(store, SECRET, gone)


def test_an_entry_arriving_after_its_tombstone_is_stored_without_its_payload(
    store: Store,
) -> None:
    post, post_payload = make_entry(BOB, 1, None, text=SECRET)
    tombstone_payload = encode_content(Tombstone(ref_of(post)))
    tombstone, _ = make_entry(BOB, 2, post.id, type="tombstone", payload=tombstone_payload)
    store.ingest(BOB.public_key, [(tombstone.raw, tombstone_payload)])
    store.ingest(BOB.public_key, [(post.raw, post_payload)])
    assert SECRET.encode() not in log_bytes(store.directory)
    first = store.feed_entries(BOB.public_key)[-1]
    assert (first.entry.seq, first.deleted, first.payload) == (1, True, None)
    record = store.log.read(store.index.stored_ids(BOB.public_key, 1, 1)[1][1])
    assert (record.payload, record.purged, record.padding) == (None, True, 0)  # never written
    assert_text_gone(store, SECRET, post)


def test_a_log_written_before_purging_is_purged_when_indexed(tmp_path: Path) -> None:
    chain = make_chain(ALICE, 1, text=SECRET)
    tombstone_payload = encode_content(Tombstone(ref_of(chain[0][0])))
    tombstone = make_entry(ALICE, 2, chain[0][0].id, type="tombstone", payload=tombstone_payload)
    log_file = LogFile(tmp_path / LOG_NAME)
    log_file.append([encode_record(KIND_ENTRY, 1, e.raw, p) for e, p in [*chain, tombstone]])
    log_file.close()
    assert SECRET.encode() in log_bytes(tmp_path)
    with Store(tmp_path) as store:  # no index yet: built from the log, by today's rules
        assert store.feed_entries(ALICE.public_key)[-1].deleted
    assert SECRET.encode() not in log_bytes(tmp_path)
    assert_clean(tmp_path)


# --- crashes in the middle of a purge ---------------------------------------------------

CHILD = """
import os, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from store_helpers import make_identity
from lndesk.content import Post, Tombstone
from lndesk.entry_refs import ref_of
from lndesk.store import logfile, purge
from lndesk.store.store import Store

def die(*_args, **_kwargs):
    os._exit(9)

def half_overwrite(self, offset, prefix, size):
    data = prefix + bytes(size - len(prefix))
    os.pwrite(self._fd, data[: size // 2], offset)
    os.fsync(self._fd)
    os._exit(9)

def half_journal(path, log_id, overwrites):
    real_write_journal(path, log_id, overwrites)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    os._exit(9)

real_write_journal = purge._write_journal
step = sys.argv[2]
alice = make_identity(31)
store = Store(Path(sys.argv[1]))
store.publish(alice, Post("kept"))
gone = store.publish(alice, Post({secret!r}))
if step == "before purging":
    purge.purge_payloads = die
    import lndesk.store.store as store_module
    store_module.purge_payloads = die
elif step == "journal torn":
    purge._write_journal = half_journal
elif step == "overwrite torn":
    logfile.LogFile.overwrite = half_overwrite
elif step == "journal not removed":
    purge._remove = die
store.publish(alice, Tombstone(ref_of(gone)))
print("no crash")
"""


@pytest.mark.parametrize(
    "step", ["before purging", "journal torn", "overwrite torn", "journal not removed"]
)
def test_a_purge_interrupted_by_a_crash_is_finished_on_open(data_dir: Path, step: str) -> None:
    code = CHILD.format(tests=str(TESTS_DIR), secret=SECRET)
    result = subprocess.run(
        [sys.executable, "-c", code, str(data_dir), step],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 9, result.stdout + result.stderr
    journal = data_dir / JOURNAL_NAME
    assert journal.exists() is (step != "before purging")
    if step == "overwrite torn":
        # Without the journal, this log would be damaged in the middle: prove it is.
        records, end = scan_all(data_dir / LOG_NAME)
        assert end.torn and len(records) == 1
        log_file = LogFile(data_dir / LOG_NAME)
        with pytest.raises(StoreCorruptError):
            log_file.read(end.valid_end)
        log_file.close()
    purged_already = step == "journal not removed"
    assert (SECRET.encode() in log_bytes(data_dir)) is not purged_already

    with Store(data_dir) as store:
        entries = {item.entry.seq: item for item in store.feed_entries(ALICE.public_key)}
        assert sorted(entries) == [1, 2, 3]
        assert entries[2].deleted and entries[2].payload is None
        assert entries[1].payload is not None
        if step in ("overwrite torn", "journal not removed"):
            assert any("interruption" in w for w in store.warnings), store.warnings
    assert SECRET.encode() not in log_bytes(data_dir)
    assert_clean(data_dir)
    with Store(data_dir) as store:
        assert store.reindex() == 3
        assert store.publish(ALICE, Post("after the crash")).seq == 4
    assert_clean(data_dir)


def test_a_journal_of_another_log_is_not_applied(data_dir: Path) -> None:
    with Store(data_dir) as store:
        store.ingest(ALICE.public_key, wire(make_chain(ALICE, 2)))
    before = log_bytes(data_dir)
    other = data_dir.parent / "other"
    with Store(other) as store:
        entry = store.publish(ALICE, Post(SECRET))
        offset = store.index.stored_ids(ALICE.public_key, 1, 1)[1][1]
        from lndesk.store import purge as purge_module

        record = store.log.read(offset)
        prefix, size = purged_record(record)
        purge_module._write_journal(
            data_dir / JOURNAL_NAME, store.log.log_id, [(offset, prefix, size)]
        )
        assert entry.seq == 1
    with Store(data_dir) as store:
        assert store.feed_state(ALICE.public_key).height == 2
    assert log_bytes(data_dir) == before
    assert not (data_dir / JOURNAL_NAME).exists()


def test_a_failed_purge_is_reported_and_retried_on_the_next_open(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lndesk.store.store as store_module

    def broken(*_args: object) -> int:
        raise OSError(28, "No space left on device")

    with Store(data_dir) as store:
        gone = store.publish(ALICE, Post(SECRET))
        monkeypatch.setattr(store_module, "purge_payloads", broken)
        tombstone = store.publish(ALICE, Tombstone(ref_of(gone)))  # stored all the same
        assert tombstone.seq == 2
        assert any("could not yet remove" in w for w in store.warnings)
        assert len(store.index.pending_purges()) == 1
        assert store.feed_entries(ALICE.public_key)[-1].deleted
    assert SECRET.encode() in log_bytes(data_dir)
    monkeypatch.undo()
    assert_clean(data_dir)  # opening it retried the purge
    assert SECRET.encode() not in log_bytes(data_dir)


def test_a_purge_that_failed_mid_write_is_finished_before_the_next_one(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An overwrite the disk failed half-way leaves a damaged record that only its journal
    # can repair; the next purge, in the same process, must not replace that journal
    # with its own before the damaged record is whole again.
    overwrite = LogFile.overwrite

    def failing_half_way(log_file: LogFile, offset: int, prefix: bytes, size: int) -> None:
        monkeypatch.undo()
        os.pwrite(log_file._fd, (prefix + bytes(size - len(prefix)))[: size // 2], offset)
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with Store(data_dir) as store:
        store.publish(ALICE, Post("kept"))
        gone = store.publish(ALICE, Post(SECRET))
        later = store.publish(ALICE, Post("regretted later"))
        monkeypatch.setattr(LogFile, "overwrite", failing_half_way)
        store.publish(ALICE, Tombstone(ref_of(gone)))
        assert LogFile.overwrite is overwrite
        assert any("could not yet remove" in w for w in store.warnings)
        store.publish(ALICE, Tombstone(ref_of(later)))
        assert store.log.read(store.index.stored_ids(ALICE.public_key, 2, 2)[2][1]).purged
    assert SECRET.encode() not in log_bytes(data_dir)
    assert b"regretted later" not in log_bytes(data_dir)
    assert_clean(data_dir)
