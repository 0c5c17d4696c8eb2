"""Pseudonyms: second identities a person keeps beside their main one, and their reveal.

A pseudonym is an ordinary Ed25519 identity with its own log; nothing in either log
names the other. Its key file lives in the data directory under
``pseudonyms/<name>.key`` (the name in lowercase), written like the main key file
(:mod:`lndesk.keyfile`: atomic, mode 0600, sealed with the same passphrase as the main
key when that one is sealed). The name is also the pseudonym's profile name, and the
only thing its profile says.

A pseudonym is revealed by a ``reveal`` entry of the main identity (docs/protocol.md
10.13) carrying the pseudonym's key and ``proof``: the pseudonym's signature of
:data:`REVEAL_CONTEXT` followed by the main identity's key. The proof makes the claim
two-sided: nobody can reveal a pseudonym that is not theirs, and the context keeps the
signature from meaning anything else (no entry starts with those bytes).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from lndesk.errors import LndeskError, SignatureError, UsageError
from lndesk.identity import Identity, verify_signature
from lndesk.keyfile import public_key_of, read_key_file
from lndesk.names import MAX_NAME_CHARS as MAX_SHOWN_CHARS
from lndesk.names import clean_name

log = logging.getLogger(__name__)

DIRECTORY = "pseudonyms"
KEY_SUFFIX = ".key"
MAX_NAME_CHARS = 32
REVEAL_CONTEXT = b"lndesk reveal v1\x00"
"""What a reveal's proof signs before the main key (17 bytes, NUL-terminated)."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
SHOWN_PSEUDONYM_CHARS = 24
"""Most characters of a revealed pseudonym's own name shown after its owner's name."""
UNNAMED_OWNER = "someone"


def check_name(name: str) -> str:
    """``name`` if it can name a pseudonym (its file and its profile), else a clear error."""
    if not 0 < len(name) <= MAX_NAME_CHARS or _NAME.fullmatch(name) is None:
        raise UsageError(
            f"{name[:40]!r} cannot name a pseudonym",
            f"A pseudonym's name is 1 to {MAX_NAME_CHARS} letters, digits, '-', '_' or '.' "
            "(starting with a letter or digit), like curious-fox. Choose one that says "
            "nothing about you: it is the pseudonym's public name.",
        )
    return name


def key_path(data_dir: Path, name: str) -> Path:
    """Where the key file of pseudonym ``name`` lives (names differ by more than case)."""
    return data_dir / DIRECTORY / f"{check_name(name).lower()}{KEY_SUFFIX}"


def names_in(data_dir: Path) -> list[str]:
    """The (lowercase) names of the pseudonyms kept in ``data_dir``, sorted."""
    folder = data_dir / DIRECTORY
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        stem = path.name.removesuffix(KEY_SUFFIX)
        if path.name.endswith(KEY_SUFFIX) and _NAME.fullmatch(stem) and len(stem) <= 32:
            found.append(stem)
    return sorted(found)


def pseudonym_keys(data_dir: Path) -> frozenset[bytes]:
    """The public keys of the pseudonyms kept in ``data_dir`` (no passphrase needed);
    a damaged key file is left out (and logged), so it cannot stop the node."""
    keys = set()
    for name in names_in(data_dir):
        try:
            keys.add(public_key_of(read_key_file(key_path(data_dir, name))))
        except (LndeskError, OSError) as exc:
            log.warning("the key file of pseudonym %s is unreadable: %s", name, exc)
    return frozenset(keys)


Stamp = tuple[tuple[str, int, int, int], ...]


def key_files_stamp(data_dir: Path) -> Stamp:
    """Name, inode, size and modification time of every file in the pseudonyms' folder."""
    found = []
    try:
        entries = os.scandir(data_dir / DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return ()
    with entries:
        for entry in entries:
            try:
                st = entry.stat()
            except OSError:
                continue  # removed while listed, or unreadable (its key is left out too)
            found.append((entry.name, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(sorted(found))


class PseudonymKeys:
    """The keys of the pseudonyms kept in a data directory, read once and again on
    :meth:`refresh` (after an action that may have made one), so the node's checks on
    every synced batch read no file; :meth:`current` reads them again only when the key
    files changed. The service keeps one for every list and command
    (:attr:`lndesk.app.service.Service.pseudonyms`); the node keeps its own, whose
    :meth:`refresh` tells it which pseudonyms' topics to join."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._read = self._now()

    def _now(self) -> tuple[Stamp, frozenset[bytes]]:
        """Read the keys, after a stamp of their folder: a change while they are read is
        seen next time. Stamp and keys are kept as one (another thread sees both)."""
        stamp = key_files_stamp(self._data_dir)
        self._read = read = (stamp, pseudonym_keys(self._data_dir))
        return read

    def __call__(self) -> frozenset[bytes]:
        return self._read[1]

    def refresh(self) -> frozenset[bytes]:
        """Read the keys again; returns those that are new."""
        before = self._read[1]
        return self._now()[1] - before

    def current(self) -> frozenset[bytes]:
        """The keys as the key files say now, read again only if a file was added,
        removed or replaced since they were last read (by this app, by a command, or by
        hand): a list of posts built on the node's thread lists a directory instead of
        reading and decoding every key file."""
        read = self._read
        if key_files_stamp(self._data_dir) != read[0]:
            read = self._now()
        return read[1]


def reveal_message(main_key: bytes) -> bytes:
    """The bytes a pseudonym signs to say that ``main_key`` may reveal it."""
    return REVEAL_CONTEXT + main_key


def reveal_proof(pseudonym: Identity, main_key: bytes) -> bytes:
    """The pseudonym's signature that lets ``main_key`` reveal it."""
    return pseudonym.sign(reveal_message(main_key))


def reveal_holds(author: bytes, pseudonym_key: bytes, proof: bytes) -> bool:
    """Whether a reveal by ``author`` of ``pseudonym_key`` with ``proof`` counts."""
    if author == pseudonym_key:
        return False
    try:
        verify_signature(pseudonym_key, reveal_message(author), proof)
    except SignatureError:
        return False
    return True


def attribution(pseudonym: str | None) -> str:
    """What is said of a revealed pseudonym beside its owner's name: "as curious-fox"
    (its own name, cleaned and cut), or "as a pseudonym" when it has none."""
    own = clean_name(pseudonym, SHOWN_PSEUDONYM_CHARS)
    return f"as {own}" if own else "as a pseudonym"


def owner_name(owner: str | None) -> str:
    """A revealed pseudonym's owner as named beside it (cleaned; "someone" if empty)."""
    return clean_name(owner) or UNNAMED_OWNER


def attributed_name(owner: str | None, pseudonym: str | None) -> str:
    """How a revealed pseudonym's entries name their author on one line of text (the
    commands): ``owner``'s name (what this app calls the person who revealed it) and the
    pseudonym's own name, as in "Ann (as curious-fox)", cleaned and within a shown
    name's length, so a long name cannot push the pseudonym's out of the line. No
    cleaned name contains "(as " (:func:`lndesk.names.clean_name` removes it), so no
    name can pass for this; the app draws the attribution apart from the name."""
    return with_attribution(owner, attribution(pseudonym))


def with_attribution(owner: str | None, said: str, unnamed: str = UNNAMED_OWNER) -> str:
    """``owner``'s name (cleaned, ``unnamed`` if that leaves nothing) and ``said``, what
    :func:`attribution` says of the pseudonym, on one line: "Ann (as curious-fox)",
    within a shown name's length whatever the owner's name is."""
    suffix = f" ({said})"
    return (clean_name(owner, MAX_SHOWN_CHARS - len(suffix)) or unnamed) + suffix
