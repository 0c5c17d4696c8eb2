"""Questions and their answers: marking an answer as helpful, open and answered
questions, and a whole thread with the helpful answers first (docs/protocol.md 10.12).

Shared by the commands (``lndesk helpful``, ``lndesk questions``, ``lndesk thread``, as
actions) and the app (:mod:`lndesk.app.desk_answers`). Only the asker marks: a mark is a
``helpful`` entry in the asker's own log, and taking it back publishes a tombstone of
each mark of that answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lndesk.app.describe import entry_body
from lndesk.app.service import Service
from lndesk.content import Edit, Helpful, Post, Reply, Tombstone
from lndesk.entry_refs import PostKey, Ref, ref_of
from lndesk.errors import ContentError, UsageError
from lndesk.keytext import key_to_text
from lndesk.names import display_name
from lndesk.store import views
from lndesk.store.helpful import answered, helpful_answers, marks_of, newest_posts
from lndesk.store.reading import StoredEntry, StoreReader

QUESTION_SCAN = 5000
"""How many of the newest stored posts a list of questions looks through: whether a post
is a question is in its payload (or its latest edit's), not in the index."""
THREAD_LIMIT = 2000
"""Replies of one thread read at most (as the app's thread view)."""

QuestionState = Literal["all", "open", "answered"]


@dataclass(frozen=True, slots=True)
class Question:
    """A stored question, with what a list of questions says of it."""

    stored: StoredEntry
    answered: bool
    answers: int
    """Replies under it held here."""


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


def is_question(stored: StoredEntry, edit: StoredEntry | None) -> bool:
    """Whether ``stored`` is a post asked as a question, in its current version."""
    current = edit.content if edit is not None else stored.content
    if isinstance(current, Edit | Post):
        return current.question
    return False


def questions(
    store: StoreReader,
    state: QuestionState = "all",
    limit: int = 20,
    *,
    hidden: frozenset[bytes] = frozenset(),
) -> list[Question]:
    """The newest stored questions (of the newest QUESTION_SCAN posts), open or answered
    ones only if ``state`` says so, leaving out posts by ``hidden`` authors."""
    posts = [s for s in newest_posts(store, QUESTION_SCAN) if s.entry.author not in hidden]
    edits = views.current_versions(store, posts)
    asked = [s for s in posts if is_question(s, edits.get((s.entry.author, s.entry.seq)))]
    done = answered(store, [ref_of(s.entry) for s in asked])
    found = []
    for stored in asked:
        is_answered = stored.entry.id in done
        if state == "all" or (state == "answered") == is_answered:
            count = views.reply_count(store, stored.entry.id)
            found.append(Question(stored, is_answered, count))
            if len(found) >= limit:
                break
    return found


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


def _shown(stored: StoredEntry, nicknames: Mapping[bytes, str]) -> dict[str, Any]:
    entry = stored.entry
    return {
        "id": entry.id.hex(),
        "author": key_to_text(entry.author),
        "who": nicknames.get(entry.author) or display_name(stored.author_name, entry.author),
        "claimed_ms": entry.claimed_ms,
        "type": entry.type,
        "body": entry_body(stored),
    }


def list_questions(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """``lndesk questions [--open|--answered]``."""
    state = args.get("state", "all")
    if state not in ("all", "open", "answered"):
        raise UsageError("state must be all, open or answered")
    limit = args.get("limit", 20)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise UsageError("limit must be a whole number of at least 1")
    nicknames = service.local.nicknames()
    found = questions(service.store, state, limit, hidden=service.hidden())
    return {
        "questions": [
            _shown(q.stored, nicknames) | {"answered": q.answered, "answers": q.answers}
            for q in found
        ]
    }


def show_thread(service: Service, args: dict[str, Any]) -> dict[str, Any]:
    """``lndesk thread ID``: the whole known conversation, helpful answers first."""
    entry_id = args.get("entry_id")
    if not isinstance(entry_id, str):
        raise UsageError("entry_id must be text")
    root = thread_root(service.resolve(entry_id))
    entries, marked = whole_thread(service.store, root, hidden=service.hidden())
    nicknames = service.local.nicknames()
    edits = views.current_versions(service.store, entries)
    shown = []
    for stored in entries:
        key = (stored.entry.author, stored.entry.seq)
        current = edits.get(key)
        item = _shown(stored, nicknames)
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
