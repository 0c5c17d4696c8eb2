"""Marking an answer to a pseudonym's question as helpful (docs/protocol.md 10.12, 10.13).

A ``helpful`` mark counts only when the question's author signs it, so the mark of an
answer to a question asked under a pseudonym is signed by the pseudonym's key and
appended to the pseudonym's log, never to the main identity's. Its key file is opened
with the passphrase when it is sealed (as for asking, :mod:`lndesk.app.pseudonyms`), and
only after every check that needs no secret has passed, so a refused mark asks nothing
and a wrong passphrase publishes nothing.

A mark names the answer it marks, author included: a pseudonym's mark of my own answer
(or of another pseudonym's) would link the two identities, and so would my mark of my
pseudonym's answer. Both are refused (:func:`lndesk.app.answers.check_unlinked`).

The commands ask :func:`act_signer` first (which identity signs, and whether its key
needs the passphrase), then run :func:`act_mark`; the app does the same through
:class:`lndesk.app.desk_answers.Answers`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lndesk.app.action_args import flag_arg, optional_text_arg, text_arg
from lndesk.app.answers import answer_to_mark, asker_of, check_unlinked, unmarks
from lndesk.app.pseudonyms import needs_passphrase, unlock
from lndesk.app.requests import journaled_publish
from lndesk.app.service import Service
from lndesk.entry import Entry
from lndesk.errors import ContentError, KeyFileError, LndeskError, UsageError
from lndesk.keyfile import public_key_of, read_key_file
from lndesk.pseudonyms import key_path, names_in
from lndesk.store.helpful import marks_of
from lndesk.store.reading import StoredEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs a mark of an answer: me (``pseudonym`` None) or one of my pseudonyms."""

    pseudonym: str | None
    """The name of the pseudonym's key file (None: my main identity signs)."""
    sealed: bool = False
    """Its key file is sealed: the passphrase is needed to sign."""


def pseudonym_named(data_dir: Path, key: bytes) -> str | None:
    """The name of the pseudonym kept here whose key is ``key`` (None: none is)."""
    for name in names_in(data_dir):
        try:
            if public_key_of(read_key_file(key_path(data_dir, name))) == key:
                return name
        except (LndeskError, OSError) as exc:
            log.warning("the key file of pseudonym %s is unreadable: %s", name, exc)
    return None


def signer_of(service: Service, answer: StoredEntry) -> Signer:
    """Who would sign a mark of ``answer``: the pseudonym that asked its question, if
    one of mine did, else me (and then only my own questions' answers can be marked)."""
    return signer_in(service.data_dir, service.public_key, answer)


def signer_in(data_dir: Path, own: bytes, answer: StoredEntry) -> Signer:
    """:func:`signer_of` for the identity ``own`` whose pseudonyms are kept in
    ``data_dir``."""
    name = asking_pseudonym(data_dir, own, answer)
    if name is None:
        return Signer(None)
    return Signer(name, needs_passphrase(data_dir, name))


def asking_pseudonym(data_dir: Path, own: bytes, answer: StoredEntry) -> str | None:
    """The name of the pseudonym kept in ``data_dir`` that asked the question ``answer``
    answers (None: ``own`` asked it, or none of the pseudonyms kept there did)."""
    asker = asker_of(answer)
    if asker is None or asker == own:
        return None
    return pseudonym_named(data_dir, asker)


def mark(
    service: Service,
    answer: StoredEntry,
    *,
    undo: bool = False,
    passphrase: str | None = None,
) -> tuple[str, Entry, bool]:
    """Mark ``answer`` as helpful as the pseudonym that asked its question (or, with
    ``undo``, take its newest mark back): the pseudonym's name, the entry appended to its
    log, and whether an earlier mark still stands."""
    name = signer_of(service, answer).pseudonym
    if name is None:
        raise UsageError(
            "that question was not asked under one of your pseudonyms",
            f"Run lndesk helpful {answer.entry.id.hex()[:12]}: it signs with the identity "
            "that asked.",
        )
    asker = asker_of(answer)
    assert asker is not None  # a pseudonym was found for it
    check_unlinked(answer, asker, service.pseudonyms.current() | {service.public_key})
    if undo:
        tombstones = unmarks(service.store, answer, asker)
        content: Any = tombstones[-1]
        still = len(tombstones) > 1
    else:
        content = answer_to_mark(answer, asker)
        if marks_of(service.store, asker, answer.entry.id):
            raise ContentError(
                "that answer is already marked as helpful",
                f"To take the mark back: lndesk helpful --undo {answer.entry.id.hex()[:12]}",
            )
        still = False
    identity = unlock(service, name, passphrase)
    if identity is None or identity.public_key != asker:
        raise KeyFileError(f"the key file of pseudonym {name} changed while it was used")
    entry = journaled_publish(service.store, identity, content, service.publishing_request)
    log.info("a pseudonym published a helpful mark (or took one back)")
    return name, entry, still


# --- actions (run here, or in the node that holds the data directory) ----------------


def act_signer(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """Before ``lndesk helpful ID``: which identity signs the mark (``pseudonym``: the
    name of mine that asked, None: me) and whether its key needs the passphrase."""
    signer = signer_of(service, service.resolve(text_arg(args, "entry_id")))
    return {"pseudonym": signer.pseudonym, "passphrase": signer.sealed}


def act_mark(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """``lndesk helpful ID [--undo]`` for a question one of my pseudonyms asked."""
    passphrase = optional_text_arg(args, "passphrase")
    undo = flag_arg(args, "undo")
    name, entry, still = mark(
        service, service.resolve(text_arg(args, "entry_id")), undo=undo, passphrase=passphrase
    )
    return {"id": entry.id.hex(), "seq": entry.seq, "still_marked": still, "pseudonym": name}
