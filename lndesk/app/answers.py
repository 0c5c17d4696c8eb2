"""Questions and their answers: marking an answer as helpful, open and answered
questions, and a whole thread with the helpful answers first (docs/protocol.md 10.12).

Shared by the commands (``lndesk helpful``, ``lndesk questions``, ``lndesk thread``, as
actions) and the app (:mod:`lndesk.app.desk_answers`). Only the asker marks: a mark is a
``helpful`` entry in the asker's own log, and taking it back publishes a tombstone of
each mark of that answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lndesk.app.action_args import optional_text_arg, text_arg
from lndesk.app.describe import entry_body, entry_fields
from lndesk.app.desk_naming import ShownNames
from lndesk.app.service import Service
from lndesk.content import Helpful, Reply, Tombstone
from lndesk.entry_refs import PostKey, Ref, ref_of
from lndesk.errors import ContentError, UsageError
from lndesk.store import views
from lndesk.store.helpful import answered, helpful_answers, marks_of
from lndesk.store.questions import QuestionFilter, question_page
from lndesk.store.reading import StoredEntry, StoreReader
from lndesk.store.threads import known_replies

THREAD_LIMIT = 2000
"""Replies of one thread read at most (as the app's thread view)."""
MAX_LISTED = 500
"""Most questions one ``lndesk questions`` lists (``--limit``); page with ``--before``."""

QuestionState = Literal["all", "open", "answered"]


@dataclass(frozen=True, slots=True)
class Question:
    """A stored question, with what a list of questions says of it."""

    stored: StoredEntry
    answered: bool
    answers: int
    """Replies in its thread held here (not deleted, not claimed in the future)."""


def answer_to_mark(answer: StoredEntry, own: bytes) -> Helpful:
    """The mark ``own`` may publish for ``answer``, or a clear error if it may not."""
    content = answer.content
    if answer.deleted or not isinstance(content, Reply):
        raise ContentError(
            "only an answer can be marked as helpful: that entry is no reply",
            "Run lndesk thread QUESTION_ID to see its answers and their ids.",
        )
    if content.root.author != own:
        raise ContentError(
            "only the person who asked can mark an answer as helpful: that reply answers "
            "someone else's post",
            "Reply to it instead (lndesk reply ID TEXT), or mark answers to your own questions.",
        )
    return Helpful(ref_of(answer.entry), content.root)


def asker_of(answer: StoredEntry) -> bytes | None:
    """Who asked the question ``answer`` answers (None: it is no reply)."""
    content = answer.content
    return content.root.author if isinstance(content, Reply) else None


def check_unlinked(answer: StoredEntry, signer: bytes, mine: frozenset[bytes]) -> None:
    """A clear error if a mark by ``signer`` of ``answer`` would link two identities of
    ``mine`` (the main one and its pseudonyms): a mark names the answer's author."""
    author = answer.entry.author
    if author != signer and author in mine and signer in mine:
        raise ContentError(
            "that answer is your own (as yourself or under a pseudonym), and a mark names "
            "the answer's author: it would link your identity and your pseudonym",
            "Leave it unmarked, or mark someone else's answer.",
        )


def unmarks(store: StoreReader, answer: StoredEntry, own: bytes) -> list[Tombstone]:
    """Tombstones taking back every mark ``own`` published for ``answer``; a clear error
    if there is none."""
    seqs = marks_of(store, own, answer.entry.id)
    if not seqs:
        raise ContentError(
            "that answer is not marked as helpful",
            "Run lndesk thread QUESTION_ID to see which answers are marked.",
        )
    stored = views.load_keys(store, [(own, seq) for seq in seqs])
    return [Tombstone(ref_of(mark.entry)) for mark in stored]


def questions(
    store: StoreReader,
    state: QuestionState = "all",
    limit: int = 20,
    *,
    hidden: frozenset[bytes] = frozenset(),
    older_than: views.Cursor = views.NEWEST,
) -> list[Question]:
    """The newest stored questions older than ``older_than`` (a question's ``cursor``:
    the next page), open or answered ones only if ``state`` says so, leaving out posts
    by ``hidden`` authors. Read from the index's questions (:mod:`lndesk.store.questions`),
    so every question stored is found, however many posts there are."""
    found = question_page(store, QuestionFilter(state, hidden), older_than, limit)
    done = answered(store, [ref_of(s.entry) for s in found])
    return [
        Question(stored, stored.entry.id in done, known_replies(store, stored.entry.id))
        for stored in found
    ]


def thread_root(stored: StoredEntry) -> Ref:
    """The first post of the thread ``stored`` belongs to."""
    content = stored.content
    return content.root if isinstance(content, Reply) else ref_of(stored.entry)


def whole_thread(
    store: StoreReader, root: Ref, *, hidden: frozenset[bytes] = frozenset()
) -> tuple[list[StoredEntry], set[PostKey]]:
    """The thread under ``root`` as held here: the root (if stored), then the answers its
    author marked as helpful, then the other replies, each part oldest first; without
    what ``hidden`` authors wrote. Also the (author, seq) of the helpful answers."""
    entries = views.thread(store, root.post_key, root.id, THREAD_LIMIT)
    entries = [e for e in entries if e.entry.author not in hidden]
    marked = helpful_answers(store, root)
    head = [e for e in entries if e.entry.id == root.id]
    rest = [e for e in entries if e.entry.id != root.id]
    chosen = [e for e in rest if (e.entry.author, e.entry.seq) in marked]
    others = [e for e in rest if (e.entry.author, e.entry.seq) not in marked]
    return head + chosen + others, marked


def mark(service: Service, answer_id: str, *, undo: bool = False) -> dict[str, Any]:
    """``lndesk helpful ID``: mark my question's answer ``answer_id`` as helpful, or take
    the mark back (``undo``: a tombstone of the newest mark). One entry per call, so a
    retried command never appends twice; marking a marked answer again is refused."""
    answer = service.resolve(answer_id)
    own = service.public_key
    mine = service.pseudonyms.current()
    if asker_of(answer) in mine:
        raise UsageError(
            "that question was asked under one of your pseudonyms: its key signs the mark",
            f"Run lndesk helpful {answer.entry.id.hex()[:12]} (it asks for the passphrase "
            "when the pseudonym's key file is sealed).",
        )
    check_unlinked(answer, own, mine | {own})
    if undo:
        tombstones = unmarks(service.store, answer, own)
        entry = service.publish(tombstones[-1])
        return {"id": entry.id.hex(), "seq": entry.seq, "still_marked": len(tombstones) > 1}
    content = answer_to_mark(answer, own)
    if marks_of(service.store, own, answer.entry.id):
        raise ContentError(
            "that answer is already marked as helpful",
            f"To take the mark back: lndesk helpful --undo {answer.entry.id.hex()[:12]}",
        )
    entry = service.publish(content)
    return {"id": entry.id.hex(), "seq": entry.seq, "still_marked": False}


def list_questions(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """``lndesk questions [--open|--answered]``."""
    state = args.get("state", "all")
    if state not in ("all", "open", "answered"):
        raise UsageError("state must be all, open or answered")
    limit = args.get("limit", 20)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LISTED:
        raise UsageError(f"limit must be a whole number from 1 to {MAX_LISTED}")
    older_than = views.NEWEST
    before = optional_text_arg(args, "before")
    if before is not None:
        older_than = service.resolve(before).cursor
    nicknames = ShownNames(service.store, service.local)  # and revealed pseudonyms' owners
    found = questions(
        service.store, state, limit + 1, hidden=service.hidden(), older_than=older_than
    )
    shown = [
        entry_fields(q.stored, nicknames) | {"answered": q.answered, "answers": q.answers}
        for q in found[:limit]
    ]
    return {"questions": shown, "more": len(found) > limit}


def show_thread(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """``lndesk thread ID``: the whole known conversation, helpful answers first."""
    root = thread_root(service.resolve(text_arg(args, "entry_id")))
    entries, marked = whole_thread(service.store, root, hidden=service.hidden())
    nicknames = ShownNames(service.store, service.local)  # and revealed pseudonyms' owners
    edits = views.current_versions(service.store, entries)
    shown = []
    for stored in entries:
        key = (stored.entry.author, stored.entry.seq)
        current = edits.get(key)
        item = entry_fields(stored, nicknames)
        if current is not None:
            item["body"] = entry_body(current)
        shown.append(item | {"helpful": key in marked, "root": stored.entry.id == root.id})
    root_held = bool(shown) and shown[0]["root"]
    return {
        "root_id": root.id.hex(),
        "root_held": root_held,
        "answered": bool(marked) or bool(answered(service.store, [root])),
        "entries": shown,
    }
