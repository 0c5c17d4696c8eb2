"""The ``lndesk`` command line: every command works offline against a data directory."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lndesk import __version__
from lndesk.app.actions import PUBLISHING, run_action
from lndesk.app.control import ControlClient
from lndesk.app.datadir import ENV_DATA_DIR, ENV_PASSPHRASE, default_data_dir
from lndesk.app.desk_naming import Naming, ShownNames
from lndesk.app.failures import INDEX_ERRORS, disk_full, index_failure
from lndesk.app.service import Service, create_identity, restore_identity
from lndesk.cli import answers, learning, maintenance, network
from lndesk.cli import feeds as feed_commands
from lndesk.cli import pseudonyms as pseudonym_commands
from lndesk.cli import restore as restore_commands
from lndesk.cli.argtypes import output_dir, output_file, pixels
from lndesk.cli.datadir_check import check_data_dir
from lndesk.cli.passphrase import TerminalPassphrase
from lndesk.cli.render import describe_entry, describe_feed, terminal_text
from lndesk.cli.settle import new_request_id, settle
from lndesk.errors import (
    ControlConnectionLost,
    LndeskError,
    PassphraseError,
    StoreError,
    StoreLockedError,
    UsageError,
    sole_error,
)
from lndesk.keytext import key_to_link, key_to_text, short_key
from lndesk.webfeeds import web_address
from lndesk.wording import counted

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


_passphrase_source = TerminalPassphrase()
"""Asks for the key file's passphrase (three tries) when a command needs the secret key."""


def _new_passphrase() -> str:
    value = os.environ.get(ENV_PASSPHRASE)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise PassphraseError(
            "a new passphrase was asked for but there is no terminal",
            f"Set {ENV_PASSPHRASE} for non-interactive use.",
        )
    first = getpass.getpass("New passphrase: ")
    if first != getpass.getpass("Repeat passphrase: "):
        raise PassphraseError("the two passphrases differ", "Run the command again.")
    return first


def _service(args: argparse.Namespace, *, lazy: bool = False, reading: bool = False) -> Service:
    return Service(args.data_dir, _passphrase_source, lazy=lazy, reading=reading)


READING_ACTIONS = frozenset({"search", "questions", "thread", "helpful_signer"})
"""Actions that only read: they work on a store that can only be opened read-only."""


def _read_text(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


# --- commands -----------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    passphrase = _new_passphrase() if args.passphrase else None
    identity = create_identity(args.data_dir, passphrase)
    # The key is already unlocked: hand it over instead of asking for the passphrase again.
    with Service(args.data_dir, _passphrase_source, identity=identity) as service:
        if args.name:
            service.set_profile(args.name)
    print(f"Created your identity in {args.data_dir}")
    print(f"  public key: {identity.key_text}")
    print(f"  share link: {key_to_link(identity.public_key, args.name)}")
    print("Next: write down your backup words with lndesk key backup.")
    return 0


_NAME_UNAVAILABLE: tuple[type[Exception], ...] = (StoreError, OSError, *INDEX_ERRORS)
"""Why ``lndesk id`` may print the key without a name: the store could not be read."""


def cmd_id(args: argparse.Namespace) -> int:
    # The key file alone answers this: the name is added when the store can say it.
    with _service(args, lazy=True, reading=True) as service:
        key = service.public_key
        try:
            name = service.own_state().name
        except _NAME_UNAVAILABLE as exc:
            log.info("the profile name is not available: %s", exc)
            name = None
    print(key_to_text(key))
    print(key_to_link(key, name))
    return 0


def _act(args: argparse.Namespace, name: str, /, **params: Any) -> dict[str, Any]:
    """Run a publishing action here, or in the node that holds the data directory.

    Through the node, the request carries an id chosen here: if the node stops before
    answering, the command finds out whether the entry was stored before saying so.
    """
    try:
        with _service(args, reading=name in READING_ACTIONS) as service:
            return run_action(service, name, params)
    except StoreLockedError:
        client = ControlClient(args.data_dir)
        if not client.available():
            raise
        if name not in PUBLISHING:
            plain: dict[str, Any] = client.call("act", name=name, args=params)
            return plain
        request_id = new_request_id()
        try:
            result: dict[str, Any] = client.call(
                "act", name=name, args=params, request_id=request_id
            )
        except ControlConnectionLost:
            result = settle(args.data_dir, request_id)
            print(
                f"lndesk: the node stopped before answering; entry {result['seq']} was stored",
                file=sys.stderr,
            )
            if "key" in params:
                result = {"key": params["key"], "changed": True, **result}
        return result


def cmd_post(args: argparse.Namespace) -> int:
    done = _act(
        args,
        "post",
        text=_read_text(args.text),
        tags=args.tag,
        links=args.link,
        mentions=args.mention,
        question=args.question,
    )
    print(f"published {done['id'][:12]} (entry {done['seq']} of your log)")
    return 0


def cmd_reply(args: argparse.Namespace) -> int:
    text = _read_text(args.text)
    done = _act(
        args,
        "reply",
        entry_id=args.entry_id,
        text=text,
        tags=args.tag,
        links=args.link,
        mentions=args.mention,
    )
    print(f"published reply {done['id'][:12]} (entry {done['seq']} of your log)")
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    done = _act(args, "share", entry_id=args.entry_id, comment=args.comment or "")
    print(f"published share {done['id'][:12]} (entry {done['seq']} of your log)")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    done = _act(args, "delete", entry_id=args.entry_id)
    print(f"published deletion {done['id'][:12]}; peers that honour it drop the post")
    return 0


def cmd_follow(args: argparse.Namespace) -> int:
    if web_address(args.key) is not None:  # a web feed, or a site that names one
        args.url = args.key
        return feed_commands.follow_web_feed(args)
    done = _act(args, "follow", key=args.key)
    if done["changed"]:
        print(f"following {done['key']}")
    else:
        print(f"already following {done['key']}")
    return 0


def cmd_unfollow(args: argparse.Namespace) -> int:
    done = _act(args, "unfollow", key=args.key)
    if done["changed"]:
        print(f"no longer following {done['key']}")
    else:
        print(f"you were not following {done['key']}")
    return 0


def cmd_following(args: argparse.Namespace) -> int:
    with _service(args, reading=True) as service:
        feeds = service.following()
        nicknames = dict(service.local.nicknames())
        naming = Naming(service.store, service.local)
        revealed = {state.key: naming.revealed(state.key) for state in feeds}
    if not feeds:
        print("You follow nobody yet. Follow someone with lndesk follow <key or link>.")
    for state in feeds:
        print(describe_feed(state, nicknames.get(state.key)))
        for key, name in revealed[state.key]:
            print(f"  revealed pseudonym: {terminal_text(name)}  {key_to_text(key)}")
    return 0


def _reading_service(args: argparse.Namespace) -> Service:
    return _service(args, reading=True)


def _following_people(args: argparse.Namespace) -> list[tuple[bytes, str]]:
    with _service(args, reading=True) as service:
        nicknames = dict(service.local.nicknames())
        return [(s.key, nicknames.get(s.key) or s.name or "") for s in service.following()]


def cmd_profile(args: argparse.Namespace) -> int:
    with _service(args, reading=True) as service:
        current = service.own_state()
    if args.name is None and args.bio is None:
        print(f"name: {current.name or '(not set)'}")
        print(f"bio:  {current.bio or '(not set)'}")
        return 0
    name = args.name if args.name is not None else current.name
    if not name:
        raise UsageError("a profile needs a name", 'Add --name "Your Name".')
    bio = args.bio if args.bio is not None else (current.bio or "")
    _act(args, "profile", name=name, bio=bio)  # here, or through the node that runs
    print("profile updated")
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    with _service(args, reading=True) as service:
        items = (
            service.feed(args.author, args.limit) if args.author else service.timeline(args.limit)
        )
        if not items:
            print('Nothing here yet. Write something with lndesk post "...".')
        edits = service.current_versions(items)
        # nicknames, and revealed pseudonyms by their owner
        names = ShownNames(service.store, service.local)
        for item in items:
            key = (item.entry.author, item.entry.seq)
            print(describe_entry(item, edits.get(key), names.get(item.entry.author)))
        _warn(service)  # how it was opened, and any entry left out as damaged
    return 0


def _warn(service: Service) -> None:
    """Say how the store was opened when it matters (read-only, a damaged log)."""
    for warning in service.store.warnings:
        print(f"lndesk: note: {warning}", file=sys.stderr)


def cmd_verify(args: argparse.Namespace) -> int:
    with _service(args, reading=True) as service:
        _warn(service)
        report = service.verify(every_signature=args.all_signatures)
    print(
        f"checked {counted(report.records, 'log record')}: "
        f"{counted(report.entries, 'entry', 'entries')} of "
        f"{counted(report.feeds, 'person', 'people')}, "
        f"{counted(report.signatures, 'signature')}, "
        f"{counted(report.payloads, 'post content', 'post contents')}"
    )
    for key, seq in report.forked:
        print(f"forked: {short_key(key)} at entry {seq} (both entries kept as proof)")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    if report.ok:
        print("everything verifies")
        return 0
    print("Some stored data does not verify. What to do:")
    for step in report.advice():
        print(f"  - {step}")
    return 1


def cmd_export(args: argparse.Namespace) -> int:
    with _service(args, lazy=True) as service:
        count = service.export(args.out)
    print(f"wrote your key and {counted(count, 'entry', 'entries')} to {args.out}")
    print("Keep this file safe: it contains your key (sealed if you set a passphrase).")
    return 0


def cmd_key_backup(args: argparse.Namespace) -> int:
    with _service(args, lazy=True) as service:
        words = service.backup_words().split()
    print("Your backup words. Write them down, in order, and keep them offline.")
    print("Anyone who has them can publish as you.\n")
    for row in range(0, 24, 6):
        print("  " + "  ".join(f"{row + i + 1:2}. {words[row + i]:<10}" for i in range(6)))
    return 0


def cmd_key_restore(args: argparse.Namespace) -> int:
    words = input("Enter your 24 backup words: ") if sys.stdin.isatty() else sys.stdin.read()
    passphrase = _new_passphrase() if args.passphrase else None
    identity = restore_identity(args.data_dir, words, passphrase, fresh=args.fresh)
    print(f"restored identity {identity.key_text}")
    if not args.fresh:
        print(
            "Publishing is paused until lndesk knows your own latest entry. Run "
            "lndesk restore-status to ask your peers, then confirm the number it shows with "
            "lndesk confirm-log N; or import an export of your log (lndesk import FILE "
            "--latest). If this key never published anything, restore it into an empty data "
            "directory instead: lndesk --data-dir NEW_DIRECTORY key restore --fresh."
        )
    return 0


def _with_service(command: Callable[[argparse.Namespace, Any], int]) -> Handler:
    """A command of another module, handed this module's way of opening the service."""
    return lambda args: command(args, _service)


# --- parser -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"where your key and data live (default: ${ENV_DATA_DIR} or {default_data_dir()})",
    )
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="lndesk",
        description="lndesk: follow people by public key; publish signed notes, offline first.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"lndesk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        command.set_defaults(handler=handler)
        return command

    def text_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
        command.add_argument("--link", action="append", default=[], help="a URL (repeatable)")
        command.add_argument(
            "--mention",
            action="append",
            default=[],
            metavar="KEY_OR_LINK",
            help="someone to address (repeatable; @lnd1... in the text works too)",
        )

    init = add("init", cmd_init, "create your identity")
    init.add_argument("--passphrase", action="store_true", help="protect the key file")
    init.add_argument("--name", help="your display name")
    add("id", cmd_id, "print your public key and share link")
    post = add("post", cmd_post, "publish a note (markdown; - reads standard input)")
    post.add_argument("text")
    text_options(post)
    post.add_argument("--question", action="store_true", help="ask it as a question")
    reply = add("reply", cmd_reply, "reply to an entry")
    reply.add_argument("entry_id", metavar="ENTRY_ID")
    reply.add_argument("text")
    text_options(reply)
    share = add("share", cmd_share, "share an entry with a comment")
    share.add_argument("entry_id", metavar="ENTRY_ID")
    share.add_argument("--comment")
    delete = add("delete", cmd_delete, "delete one of your entries")
    delete.add_argument("entry_id", metavar="ENTRY_ID")
    follow = add("follow", cmd_follow, "follow someone by key or share link, or a web feed by URL")
    follow.add_argument("key", metavar="KEY_OR_LINK")
    unfollow = add("unfollow", cmd_unfollow, "stop following someone")
    unfollow.add_argument("key", metavar="KEY_OR_LINK")
    add("following", cmd_following, "list the people you follow")
    profile = add("profile", cmd_profile, "show or set your name and bio")
    profile.add_argument("--name")
    profile.add_argument("--bio")
    log_cmd = add("log", cmd_log, "show entries, newest first")
    log_cmd.add_argument("--author", metavar="KEY_OR_LINK", help="only this person's posts")
    log_cmd.add_argument("--limit", type=int, default=20)
    verify = add("verify", cmd_verify, "re-verify every stored entry")
    verify.add_argument("--all-signatures", action="store_true", help="check each signature")
    add("reindex", _with_service(maintenance.cmd_reindex), "rebuild the index from the log")
    add(
        "repair",
        _with_service(maintenance.cmd_repair),
        "salvage a damaged log: keep every valid record, set the rest aside",
    )
    export = add("export", cmd_export, "write your key and log to a backup file")
    export.add_argument("--out", type=output_file, required=True)
    imp = add(
        "import", _with_service(maintenance.cmd_import), "restore a backup file written by export"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--latest", action="store_true", help="nothing was published after this backup"
    )
    key = add("key", lambda _args: _usage(key), "back up or restore your secret key")
    key_sub = key.add_subparsers(dest="key_command", metavar="ACTION")
    backup = key_sub.add_parser("backup", help="show your 24 backup words", parents=[common])
    backup.set_defaults(handler=cmd_key_backup)
    restore = key_sub.add_parser(
        "restore", help="restore your identity from backup words", parents=[common]
    )
    restore.set_defaults(handler=cmd_key_restore)
    restore.add_argument("--passphrase", action="store_true", help="protect the key file")
    restore.add_argument("--fresh", action="store_true", help="this key never published")
    network.register(add, _passphrase_source)
    restore_commands.register(add, _passphrase_source)
    learning.register(add, _act, _read_text)
    answers.register(add, _act, _passphrase_source)
    pseudonym_commands.register(add, _act, _read_text, _passphrase_source, common)
    feed_commands.register(add, _act, _following_people, common, _reading_service)
    app = add("app", cmd_app, "open the desktop app (the default when no command is given)")
    app.add_argument("url", nargs="?", metavar="LNDESK_LINK", help="an lndesk: link to open")
    app.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    shots = add("screenshots", cmd_screenshots, "render each screen of the app to a PNG")
    shots.add_argument("out", type=output_dir, metavar="DIR")
    shots.add_argument("--width", type=pixels, default=1100)
    shots.add_argument("--height", type=pixels, default=720)
    shots.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.set_defaults(handler=cmd_app, url=None, ready_file=None)
    return parser


def cmd_app(args: argparse.Namespace) -> int:
    """The desktop app (Qt is imported only here, so other commands start fast)."""
    from lndesk.ui.startup_notice import report_startup_problem  # noqa: PLC0415
    from lndesk.ui.syslibs import SystemLibrariesError, check_qt_libraries  # noqa: PLC0415

    try:
        check_qt_libraries()  # before Qt loads: Qt would abort naming one library at most
    except SystemLibrariesError as exc:
        # started from the menu, nobody reads stderr: a file and the desktop's own tools
        report_startup_problem(exc.describe(), interactive=sys.stderr.isatty())
        raise
    from lndesk.ui.app import run_app  # noqa: PLC0415

    return run_app(args.data_dir, args.url, args.ready_file)


def cmd_screenshots(args: argparse.Namespace) -> int:
    from lndesk.ui.screenshots import render_screenshots  # noqa: PLC0415

    for path in render_screenshots(args.out, args.width, args.height, args.theme):
        print(path)
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except BaseExceptionGroup as group:
        error = sole_error(group)
        if error is group:
            raise
        raise error from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0].lower().startswith("lndesk:"):
        arguments.insert(0, "app")  # a link opened by the desktop (the .desktop file's %u)
    args = parser.parse_args(arguments)
    if not hasattr(args, "data_dir"):
        args.data_dir = default_data_dir()
    verbose = bool(getattr(args, "verbose", False))
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="lndesk: %(levelname)s: %(name)s: %(message)s"
        if verbose
        else "lndesk: %(levelname)s: %(message)s",
    )
    try:
        check_data_dir(args)
        return _run(args)
    except LndeskError as exc:
        print(f"lndesk: error: {exc.describe()}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`lndesk log | head`): nothing is wrong, stop quietly.
        # Later writes (Python flushing stdout at exit) must not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for such a command
    except INDEX_ERRORS as exc:
        # The index failed underneath a command: a full disk, or a damaged index file.
        print(f"lndesk: error: {index_failure(args.data_dir, exc).describe()}", file=sys.stderr)
        return 1
    except OSError as exc:
        full = disk_full(args.data_dir, exc)
        if full is not None:
            print(f"lndesk: error: {full.describe()}", file=sys.stderr)
            return 1
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"lndesk: error: {exc.strerror or exc}{where}\n"
            "  Check that the disk is not full and that you may write to the data directory.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("lndesk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
