"""Commands of questions and answers: ``lndesk thread``, ``lndesk helpful`` and
``lndesk questions`` (docs/protocol.md 10.12).

Each runs as an action (:mod:`lndesk.app.answers`): here, or in the node process that
holds the data directory while the app or ``lndesk serve`` runs. ``lndesk helpful`` on
an answer to a question asked under a pseudonym marks it as that pseudonym
(:mod:`lndesk.app.pseudonym_marks`), asking the passphrase when its key file is sealed.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from typing import Any

from lndesk.cli.argtypes import positive_int
from lndesk.cli.render import format_time, terminal_text
from lndesk.wording import counted

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]
Act = Callable[..., dict[str, Any]]
PassphraseSource = Callable[[], str | None]
_WIDTH = 78


def register(add: Add, act: Act, passphrase: PassphraseSource) -> None:
    """Add the commands to the parser (``act`` runs an action; ``passphrase`` asks for
    it, needed only to mark as a pseudonym whose key file is sealed)."""

    def cmd_thread(args: argparse.Namespace) -> int:
        done = act(args, "thread", entry_id=args.entry_id)
        entries = done["entries"]
        if not done["root_held"]:
            print(f"(the post the thread starts with, {done['root_id'][:12]}, is not stored here)")
        replies = [item for item in entries if not item["root"]]
        for item in entries:
            if item["root"]:
                state = "answered" if done["answered"] else "open"
                print(f"{_header(item)}  [{state}, {counted(len(replies), 'answer')}]")
                print(textwrap.indent(_fill(item["body"]), "    "))
        for item in replies:
            mark = "  [helpful]" if item["helpful"] else ""
            print(f"  {_header(item)}{mark}")
            print(textwrap.indent(_fill(item["body"]), "      "))
        if not replies:
            print("No answers stored here yet.")
        return 0

    def cmd_helpful(args: argparse.Namespace) -> int:
        signer = act(args, "helpful_signer", entry_id=args.entry_id)
        name = signer["pseudonym"]
        if name is None:
            done = act(args, "helpful", entry_id=args.entry_id, undo=args.undo)
        else:
            # A question asked under a pseudonym: its key signs, in its own log.
            done = act(
                args,
                "helpful_pseudonym",
                entry_id=args.entry_id,
                undo=args.undo,
                passphrase=passphrase() if signer["passphrase"] else None,
            )
            print(f"As your pseudonym {terminal_text(name)} (in its log, not yours):")
        if args.undo:
            print(f"Mark taken back (entry {done['seq']}).")
            if done.get("still_marked"):  # not told when the node died before answering
                print(
                    "It is still marked by an earlier entry: run "
                    f"lndesk helpful --undo {args.entry_id} again."
                )
        else:
            print(f"Marked as helpful (entry {done['seq']}): every reader of the question sees it.")
        return 0

    def cmd_questions(args: argparse.Namespace) -> int:
        state = "open" if args.open else "answered" if args.answered else "all"
        done = act(args, "questions", state=state, limit=args.limit, before=args.before)
        found = done["questions"]
        if not found:
            print(
                {
                    "all": "No questions stored here yet.",
                    "open": "No open questions: every question stored here is answered.",
                    "answered": "No answered questions yet: an asker marks a helpful answer "
                    "with lndesk helpful ID.",
                }[state]
            )
        for item in found:
            state_word = "answered" if item["answered"] else "open"
            print(f"{_header(item)}  [{state_word}, {counted(item['answers'], 'answer')}]")
            print(textwrap.indent(_fill(item["body"]), "    "))
        if done["more"]:
            flag = {"all": [], "open": ["--open"], "answered": ["--answered"]}[state]
            older = " ".join(["lndesk questions", *flag, "--before", found[-1]["id"][:12]])
            print(f"Older ones: {older}")
        return 0

    thread = add("thread", cmd_thread, "show a whole conversation, helpful answers first")
    thread.add_argument("entry_id", metavar="ENTRY_ID", help="the question or any reply in it")
    helpful = add("helpful", cmd_helpful, "mark an answer to your question as helpful")
    helpful.add_argument("entry_id", metavar="ENTRY_ID", help="the answer (a reply)")
    helpful.add_argument("--undo", action="store_true", help="take the mark back")
    questions = add("questions", cmd_questions, "list the questions stored here")
    which = questions.add_mutually_exclusive_group()
    which.add_argument("--open", action="store_true", help="only questions with no helpful answer")
    which.add_argument("--answered", action="store_true", help="only answered questions")
    questions.add_argument(
        "--limit", type=positive_int, default=20, help="at most this many (up to 500)"
    )
    questions.add_argument(
        "--before", metavar="ENTRY_ID", help="only questions older than this one (the next page)"
    )


def _header(item: dict[str, Any]) -> str:
    when = format_time(int(item["claimed_ms"]))
    return f"{item['id'][:12]}  {terminal_text(item['who'])}  {when}  {item['type']}"


def _fill(text: str) -> str:
    text = terminal_text(text)
    return "\n".join(textwrap.fill(p, _WIDTH - 6) if p else "" for p in text.splitlines()[:12])
