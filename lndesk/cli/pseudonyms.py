"""``lndesk ask [--pseudonym NAME]`` and ``lndesk pseudonym list|reveal`` (README
"Pseudonyms", docs/protocol.md 10.13).

Each runs as an action (:mod:`lndesk.app.pseudonyms`): here, or in the node process that
holds the data directory while the app or ``lndesk serve`` runs. The passphrase is asked
here, and only when the pseudonym's secret key is needed and its key file is sealed (or,
for a new pseudonym, the main key file is).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from lndesk.app.pseudonyms import WHAT_IT_DOES_NOT_HIDE, needs_passphrase
from lndesk.cli.render import terminal_text
from lndesk.keytext import key_to_link, parse_key_or_link

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]
Act = Callable[..., dict[str, Any]]
ReadText = Callable[[str], str]
PassphraseSource = Callable[[], str | None]


def register(
    add: Add,
    act: Act,
    read_text: ReadText,
    passphrase: PassphraseSource,
    common: argparse.ArgumentParser,
) -> None:
    """Add the commands to the parser (``act`` runs an action; ``common`` holds the
    options every command takes)."""

    def secret(args: argparse.Namespace, name: str) -> str | None:
        return passphrase() if needs_passphrase(args.data_dir, name) else None

    def cmd_ask(args: argparse.Namespace) -> int:
        text = read_text(args.text)
        if args.pseudonym is None:
            done = act(args, "post", text=text, tags=args.tag, links=args.link, question=True)
            print(f"asked {done['id'][:12]} (entry {done['seq']} of your log)")
            return 0
        done = act(
            args,
            "ask_pseudonym",
            pseudonym=args.pseudonym,
            text=text,
            tags=args.tag,
            links=args.link,
            passphrase=secret(args, args.pseudonym),
        )
        # A request the node stored but could not answer comes back with the key of the
        # log that holds the question (``log``), not the action's own answer.
        link = done.get("link") or key_to_link(parse_key_or_link(done["log"])[0], args.pseudonym)
        if done.get("created"):
            print(f"Created the pseudonym {args.pseudonym}: its own key, log and name.")
            print(f"  its share link: {link}")
            print(f"  {WHAT_IT_DOES_NOT_HIDE}")
        print(f"asked {done['id'][:12]} as {args.pseudonym} (entry {done['seq']} of its log)")
        print(f"Readers find it by the pseudonym's link: {link}")
        return 0

    def cmd_list(args: argparse.Namespace) -> int:
        found = act(args, "pseudonyms")["pseudonyms"]
        if not found:
            print('No pseudonyms here yet: lndesk ask --pseudonym NAME "question" makes one.')
        for item in found:
            if "problem" in item:
                print(f"{item['name']}  (unreadable: {terminal_text(item['problem'])})")
                continue
            count = item["entries"]
            revealed = "  (revealed)" if item.get("revealed") else ""
            print(f"{terminal_text(item['name'])}  {count} entries  {item['link']}{revealed}")
        return 0

    def cmd_reveal(args: argparse.Namespace) -> int:
        done = act(args, "pseudonym_reveal", name=args.name, passphrase=secret(args, args.name))
        print(
            f"Revealed {args.name} (entry {done['seq']} of your log): everyone who reads "
            "your posts can now see that it is you. A reveal cannot be taken back."
        )
        return 0

    ask = add("ask", cmd_ask, "ask a question, as yourself or under a pseudonym")
    ask.add_argument("text", help="the question (markdown; - reads standard input)")
    ask.add_argument(
        "--pseudonym",
        metavar="NAME",
        help="ask as this pseudonym (made on first use; its profile says only NAME)",
    )
    ask.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    ask.add_argument("--link", action="append", default=[], help="a URL (repeatable)")
    pseudonym = add("pseudonym", lambda _args: _usage(pseudonym), "list or reveal pseudonyms")
    actions = pseudonym.add_subparsers(dest="pseudonym_command", metavar="ACTION")
    listing = actions.add_parser("list", help="the pseudonyms kept here", parents=[common])
    listing.set_defaults(handler=cmd_list)
    reveal = actions.add_parser(
        "reveal", help="say, as yourself, that a pseudonym is yours", parents=[common]
    )
    reveal.add_argument("name", metavar="NAME")
    reveal.set_defaults(handler=cmd_reveal)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0
