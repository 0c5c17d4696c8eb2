"""Exactly-once publishing for commands that publish through a running node.

`lndesk post` (and the other publishing commands) send their action over the control
socket with a request id the command chose. If the node dies mid-request, the command
cannot tell from the lost connection whether the entry was stored; retrying blindly
would publish it twice. So the node keeps a small journal, ``requests.jsonl`` in the
data directory, one JSON object per line, each written and fsynced before the step it
describes is acknowledged:

* ``{"id": R, "log": K, "after": H, "digest": D}`` before appending: the log of key K
  (hex; the own log, or one of the pseudonyms' logs kept here) held 1..H, and the payload
  about to be signed hashes (BLAKE2b-256) to D. A line written before pseudonyms' publishes
  were journaled has no ``log``: it means the own log;
* ``{"id": R, "seq": N, "entry": E}`` once entry N (id E) is in that log;
* ``{"id": R, "result": {...}}`` once the action has finished (what the command prints).

An intent line that cannot be written fails the request before anything is signed; the
later lines, once the entry is in its log, are only logged when they cannot be written
(a full disk): the intent line lets the entry be found in the log.

Whichever key signs, one request appends at most one journaled entry
(:func:`journaled_publish`); an entry the action appends before it (a new pseudonym's
profile) is not the request's entry and is not looked for.

:meth:`RequestJournal.outcome` answers "was R published?" from the journal and the log:
recorded as done, or else an entry of log K after H whose payload hashes to D and that no
other request's line names (the node died between the append and its journal line), or
else not published (it died before the
append; no process is left that could still append it). Only this data directory holds
the secret keys of the logs a request can append to, so nothing else can have appended
to K after H in the meantime but this node's own later requests. A request id the node
has seen is never run twice (:class:`lndesk.app.once.OnceOnly`).

Once the file passes ``MAX_BYTES`` it is rewritten atomically with the newest requests
only (at most ``KEEP``, in at most half of ``MAX_BYTES``).

The file is read as anything else on the disk: as something that may have been damaged
or planted. Only its newest ``READ_LIMIT`` bytes are read (a journal this node wrote is
far smaller; the requests a crash left pending are its last lines), and a line is taken
only whole and of one of the three shapes above, so a damaged line, wherever it is, can
neither hide a request nor change what another line says of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from lndesk.app.datadir import KEY_NAME
from lndesk.atomicfile import atomic_write, fsync_directory
from lndesk.content import Content, encode_content
from lndesk.entry import MAX_SEQ, Entry, decode_entry
from lndesk.errors import StoreError, StoreLockedError, UsageError
from lndesk.identity import Identity
from lndesk.keyfile import public_key_of, read_key_file
from lndesk.keytext import key_to_text
from lndesk.regularfile import NotRegularFileError, open_regular
from lndesk.store.space import disk_full_error
from lndesk.store.store import Store

logger = logging.getLogger(__name__)

JOURNAL_NAME = "requests.jsonl"
KEEP = 500
MAX_BYTES = 256 * 1024
READ_LIMIT = 4 * MAX_BYTES
"""The most of the journal read, from its end: a journal over it was not written by this
node alone (it shortens its own below ``MAX_BYTES`` as each request finishes)."""
_GROUPS = (frozenset({"after", "digest"}), frozenset({"seq", "entry"}), frozenset({"result"}))
"""The fields written together: each group is all there or all missing (``log`` goes
with the first, but a line written before pseudonyms' publishes has none)."""
MAX_ID = 64
SCAN_LIMIT = 1000
"""Own entries after ``after`` searched for a request's payload (a node appends few
entries between a request's intent line and its crash: this is a generous bound)."""


def check_request_id(value: object) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= MAX_ID or not value.isalnum():
        raise UsageError("a request id is 8 to 64 letters or digits")
    return value


def payload_digest(content: Content) -> str:
    return hashlib.blake2b(encode_content(content), digest_size=32).hexdigest()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a request: published (entry ``seq``) or not."""

    published: bool
    seq: int | None = None
    entry_id: str | None = None
    result: dict[str, Any] | None = None
    """The action's own answer, when the node lived to record it."""
    log: bytes | None = None
    """The key of the log the entry went to (None: not known, the own log)."""

    def as_result(self) -> dict[str, Any]:
        """The answer a command prints for a request that was published (recovered: the
        entry, and ``log``, the key of the log that holds it, when that is known)."""
        if self.result is not None:
            return self.result
        found: dict[str, Any] = {"id": self.entry_id, "seq": self.seq, "recovered": True}
        if self.log is not None:
            found["log"] = key_to_text(self.log)
        return found


class RequestJournal:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / JOURNAL_NAME
        self._reported: tuple[int, int] = (0, 0)
        """The size and damaged lines of the journal last reported (:meth:`_report`)."""

    # --- writing -----------------------------------------------------------------

    def _append(self, record: dict[str, Any]) -> None:
        created = not self.path.exists()
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # A line a crash tore ends without its newline: end it, or this line
                # would be read as part of it and skipped with it.
                line = b"\n" + line
            view = memoryview(line)
            while view:  # a disk filling up writes part of it, then fails
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_directory(self.path.parent)

    def error(self, exc: OSError) -> StoreError:
        """What to say when a line could not be written (nothing was published)."""
        return disk_full_error(self.path.parent, exc) or StoreError(
            f"the request journal {self.path} cannot be written: {exc}",
            "Check that you may write to the data directory and that its disk works.",
        )

    def intent(self, request_id: str, log: bytes, after: int, content: Content) -> None:
        self._append(
            {"id": request_id, "log": log.hex(), "after": after, "digest": payload_digest(content)}
        )

    def appended(self, request_id: str, entry: Entry) -> None:
        self._after_append({"id": request_id, "seq": entry.seq, "entry": entry.id.hex()})

    def finished(self, request_id: str, result: dict[str, Any]) -> None:
        if self._after_append({"id": request_id, "result": result}):
            try:
                self._compact()
            except OSError as exc:
                logger.warning("the request journal could not be shortened: %s", exc)

    def _after_append(self, record: dict[str, Any]) -> bool:
        """Write a line about an entry that is in its log already; whether it was. One
        that cannot be written is only logged: the request was carried out, and its
        intent line lets :meth:`outcome` find its entry in the log, so saying it failed
        would have the command run again, under another id, and publish it twice."""
        try:
            self._append(record)
        except OSError as exc:
            logger.warning("the request journal could not be written (%s): %s", record, exc)
            return False
        return True

    # --- reading -----------------------------------------------------------------

    def records(self) -> dict[str, dict[str, Any]]:
        """Each request's lines merged (in order of first appearance), read from the
        journal's newest ``READ_LIMIT`` bytes; a torn, damaged or unknown line is
        skipped. A journal that is not a regular file (a named pipe would never end) is
        refused with a StoreError."""
        try:
            with open_regular(self.path) as file:
                size = os.fstat(file.fileno()).st_size
                start = max(0, size - READ_LIMIT - 1)
                file.seek(start)
                data = file.read(READ_LIMIT + 1)
        except FileNotFoundError:
            return {}
        except NotRegularFileError as exc:
            raise StoreError(
                f"the request journal {self.path} cannot be read: {exc}",
                f"only a regular file belongs there, and it holds no request: move "
                f"it aside (mv {self.path} {self.path}.bad), then run the command again.",
            ) from exc
        if start:  # begun inside a line (or just after one's newline): from the next one
            data = data[data.find(b"\n") + 1 :] if b"\n" in data else b""
        lines = data.split(b"\n")
        torn = lines.pop()  # b"" after the last newline; else a line a crash cut short
        merged: dict[str, dict[str, Any]] = {}
        damaged = 0
        for line in lines:
            record = _parse_line(line)
            if record is None:
                damaged += 1
                continue
            merged.setdefault(record["id"], {}).update(record)
        record = _parse_line(torn) if torn else None
        if record is not None:  # whole but for its newline
            merged.setdefault(record["id"], {}).update(record)
        self._report(size, damaged)
        return merged

    def _report(self, size: int, damaged: int) -> None:
        """Say (once for each state of the file) what was not read of the journal."""
        if (size, damaged) == self._reported or (size <= READ_LIMIT and not damaged):
            return
        self._reported = (size, damaged)
        if size > READ_LIMIT:
            logger.warning(
                "the request journal %s holds %d bytes, more than lndesk writes to it: only "
                "its last %d bytes were read. It is shortened to its newest requests when the "
                "next request through the running node finishes; if it grows again, find what "
                "else writes to the data directory.",
                self.path,
                size,
                READ_LIMIT,
            )
        if damaged:
            logger.warning(
                "skipped %d damaged lines of the request journal %s (a crash damages at most "
                "its last line): they say nothing of a request and are dropped when it is next "
                "shortened. If lines keep being damaged, check the disk.",
                damaged,
                self.path,
            )

    def known(self, request_id: str) -> bool:
        return request_id in self.records()

    def outcome(self, request_id: str, store: Store, own: bytes) -> Outcome | None:
        """What became of ``request_id`` (None: this journal never saw it)."""
        records = self.records()
        record = records.get(request_id)
        if record is None:
            return None
        result = record.get("result") if isinstance(record.get("result"), dict) else None
        log = _log_of(record, own)
        if _number(record.get("seq"), 1) and isinstance(record.get("entry"), str):
            return Outcome(True, record["seq"], record["entry"], result, log)
        if result is not None:
            return Outcome(False, result=result)  # an action that published nothing
        after, digest = record.get("after"), record.get("digest")
        if not _number(after, 0) or not isinstance(digest, str) or log is None:
            return Outcome(False)
        held = _held_by_others(records, request_id, log, own)
        for seq, entry, payload in store.read_run(
            log, after + 1, after + SCAN_LIMIT, SCAN_LIMIT, 1 << 26
        ):
            if (
                seq not in held
                and payload is not None
                and hashlib.blake2b(payload, digest_size=32).hexdigest() == digest
            ):
                found = decode_entry(entry)
                self._after_append({"id": request_id, "seq": seq, "entry": found.id.hex()})
                return Outcome(True, seq, found.id.hex(), log=log)
        return Outcome(False)

    def _compact(self) -> None:
        try:
            if self.path.stat().st_size <= MAX_BYTES:
                return
        except FileNotFoundError:
            return
        kept: list[bytes] = []
        size = 0
        for record in reversed(list(self.records().values())[-KEEP:]):
            line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
            size += len(line)
            if size > MAX_BYTES // 2:
                break
            kept.append(line)
        lines = b"".join(reversed(kept))
        atomic_write(self.path, lines, mode=0o600)


def _held_by_others(
    records: dict[str, dict[str, Any]], request_id: str, log: bytes, own: bytes
) -> set[int]:
    """The seqs of ``log`` that requests other than ``request_id`` are recorded to have
    appended: a request whose entry is looked for by its payload's hash must not take
    one of theirs (the same words published twice, the first lost before its append)."""
    return {
        record["seq"]
        for other, record in records.items()
        if other != request_id and _number(record.get("seq"), 1) and _log_of(record, own) == log
    }


def _number(value: object, least: int) -> TypeGuard[int]:
    """Whether a line's ``value`` can be a height or seq of a log, at least ``least`` (a
    damaged line's may be anything: a flag, a number no log reaches)."""
    return type(value) is int and least <= value <= MAX_SEQ


def _hex_key(value: object) -> bool:
    """Whether ``value`` is 32 bytes in hex (a key, an entry id or a digest)."""
    if not isinstance(value, str) or len(value) != 64:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def _parse_line(line: bytes) -> dict[str, Any] | None:
    """The record of one line of the journal, or None unless it is whole and holds only
    the fields this module writes, whole groups of them (see its docstring), each of its
    type: a line a crash tore, damaged bytes or a planted line must not change what the
    others say of a request. A shortened journal's lines are merges of a request's lines:
    several groups."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # torn, or damaged (nested too deep)
        return None
    if not isinstance(record, dict):
        return None
    request_id = record.get("id")
    if not isinstance(request_id, str) or not 8 <= len(request_id) <= MAX_ID:
        return None
    fields = set(record) - {"id"}
    if not fields or ("log" in fields and "after" not in fields):
        return None
    if any(group & fields and not group <= fields for group in _GROUPS):
        return None  # a torn merge: a group's fields are written in one line
    valid = all(_field_holds(name, record[name]) for name in fields)
    return record if valid else None


def _field_holds(name: str, value: object) -> bool:
    """Whether ``value`` is what a line's field ``name`` holds (an unknown name: no)."""
    if name in ("after", "seq"):
        return _number(value, 0 if name == "after" else 1)
    if name in ("digest", "log", "entry"):
        return _hex_key(value)
    return name == "result" and isinstance(value, dict)


def _log_of(record: dict[str, Any], own: bytes) -> bytes | None:
    """The key of the log a request's entry went to (None: the line names none that can
    be a key)."""
    log = record.get("log")
    if log is None:
        return own  # written before pseudonyms' publishes were journaled
    if not isinstance(log, str) or len(log) != 64:
        return None
    try:
        return bytes.fromhex(log)
    except ValueError:
        return None


def journaled_publish(
    store: Store,
    identity: Identity,
    content: Content,
    request: tuple[RequestJournal, str] | None,
) -> Entry:
    """Append ``content`` to ``identity``'s log; while a request is carried out
    (``request``: its journal and id), its intent line is written before the append and
    its entry's line after, so a retry finds the entry in that log whichever key signed."""
    if request is None:
        return store.publish(identity, content)
    journal, request_id = request
    key = identity.public_key
    try:
        journal.intent(request_id, key, store.feed_state(key).height, content)
    except OSError as exc:
        raise journal.error(exc) from exc
    entry = store.publish(identity, content)
    journal.appended(request_id, entry)
    return entry


def outcome_json(outcome: Outcome | None) -> dict[str, Any]:
    if outcome is None:
        return {"state": "unknown"}
    if outcome.published:
        return {"state": "published", "result": outcome.as_result()}
    return {"state": "not published"}


def stored_outcome(data_dir: Path, request_id: str) -> dict[str, Any] | None:
    """What the data directory's journal and log say of ``request_id`` (as
    :func:`outcome_json`), or None while another process holds the directory (then ask
    that node)."""
    try:
        store = Store(data_dir)
    except StoreLockedError:
        return None
    with store:
        own = public_key_of(read_key_file(data_dir / KEY_NAME))
        outcome = RequestJournal(data_dir).outcome(request_id, store, own)
    # A request the journal never saw did not reach the publishing step.
    return outcome_json(outcome if outcome is not None else Outcome(False))
