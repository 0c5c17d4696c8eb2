"""What people read: no developer words, no backticks, plurals right, and every command a
hint names exists (read from the source, see ``tests/shown_strings.py``)."""

from __future__ import annotations

import argparse
import re

import pytest
from shown_strings import Shown, shown_strings

from lndesk.cli.main import build_parser
from lndesk.wording import counted

# The modules whose strings reach a person: errors and hints, the command line's output, the
# app's messages, the desktop UI, and the core and store messages those pass on.
SHOWN = (
    "errors.py",
    "cli",
    "app",
    "ui",
    "content.py",
    "entry.py",
    "keytext.py",
    "payloads.py",
    "batch.py",
    "store/store.py",
    "store/ingest.py",
    "store/verify.py",
    "store/migrations.py",
    "store/recovery.py",
    "store/reading.py",
    "store/logfile.py",
    "store/feedstore.py",
)

FORBIDDEN = {
    "payload": re.compile(r"payload", re.IGNORECASE),
    "feed": re.compile(r"\bfeeds?\b", re.IGNORECASE),
    "field 'x'": re.compile(r"\bfield '"),
    "backtick": re.compile(r"`"),
}

# Share links keep the scheme the protocol gives them; web feeds (RSS, Atom, JSON Feed) are
# feeds by name.
ALLOWED_PARTS = (
    "lndesk://feed/",
    "web feed",
    "Web feed",
    "lndesk feeds",
    "JSON Feed",
    "Atom feed",
    "feed reader",
)
# Character sets of the markdown escaper, never shown.
NOT_SHOWN = {" \t>#=`~*+_-0123456789"}


def _all_shown() -> list[Shown]:
    return list(shown_strings(*SHOWN))


def _words_broken(text: str) -> list[str]:
    for part in ALLOWED_PARTS:
        text = text.replace(part, "")
    return [name for name, pattern in FORBIDDEN.items() if pattern.search(text)]


def test_the_scan_finds_the_strings_people_read() -> None:
    texts = {shown.text for shown in _all_shown()}
    assert len(texts) > 300
    assert any("lndesk init to create one" in text for text in texts)  # an error's hint
    assert any(text.startswith("Block N? lndesk stops") for text in texts)  # a dialog


def test_no_developer_words_or_backticks_in_what_people_read() -> None:
    broken = [
        f"{shown.where()}: {', '.join(words)}: {shown.text[:90]!r}"
        for shown in _all_shown()
        if shown.text not in NOT_SHOWN and (words := _words_broken(shown.text))
    ]
    assert broken == []


@pytest.mark.parametrize(
    "text",
    [
        "the payload is 70000 bytes",
        "serving 1 feeds",
        "field 'text' must not be empty",
        "run `lndesk sync`",
    ],
)
def test_the_check_catches_each_forbidden_word(text: str) -> None:
    assert _words_broken(text)


def test_a_share_link_is_not_a_developer_word() -> None:
    assert _words_broken("a share link starts with lndesk://feed/") == []


def test_counts_agree_with_their_nouns() -> None:
    assert counted(1, "person", "people") == "1 person"
    assert counted(2, "person", "people") == "2 people"
    assert counted(0, "entry", "entries") == "0 entries"
    assert counted(1, "signature") == "1 signature"
    assert counted(12_345, "post") == "12,345 posts"


# A hint names a command as "lndesk WORD ...": WORD is a command, or it is prose.
PROSE = {
    "asks", "can", "cannot", "checks", "does", "first", "has", "is", "keeps", "knows",
    "link", "needs", "neither", "never", "program", "puts", "shows", "stops", "takes",
    "to", "was", "will", "data", "process", "node", "nodes", "window", "opens", "finds",
    "looks", "removes", "fetches", "sends", "tries", "understands", "signs", "again",
    "itself", "on", "in", "no", "could", "did", "listens", "records", "reports", "runs",
    "handles", "indexes", "stopped", "closed", "public", "key's", "commands", "demo",
    "version", "entry", "N",
}  # fmt: skip
_PLACEHOLDER = re.compile(r'^(?:[A-Z][A-Z_]*|N|\d+|"[^"]*"|\.\.\.)$')
_FILL = {"FILE": "lndesk.backup", "MULTIADDR": "/ip4/127.0.0.1/tcp/4747", "N": "6"}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def command_in(tokens: list[str], parser: argparse.ArgumentParser) -> list[str] | None:
    """The arguments of the command ``tokens`` start with (the words after "lndesk"), None
    when they are prose; placeholders are filled with sample values."""
    argv: list[str] = []
    current = parser
    while tokens and tokens[0] in _subcommands(current):
        current = _subcommands(current)[tokens[0]]
        argv.append(tokens.pop(0))
    if not argv and (not tokens or not tokens[0].startswith("-")):
        return None
    while tokens:
        token = tokens.pop(0)
        if token.startswith("<"):  # "<key or link>"
            while tokens and not token.endswith(">"):
                token = tokens.pop(0)
            argv.append("x")
        elif token.startswith("-"):
            argv.append(token)
            action = current._option_string_actions.get(token)
            takes_value = action is not None and action.nargs != 0
            if takes_value and not (tokens and _PLACEHOLDER.match(tokens[0])):
                argv.append("6")  # "lndesk profile --name" names the option alone
        elif _PLACEHOLDER.match(token):
            argv.append(_FILL.get(token, token.strip('"') or "x"))
        else:
            break
    return argv


def commands_named(text: str, parser: argparse.ArgumentParser) -> list[tuple[str, list[str]]]:
    named = []
    for match in re.finditer(r"\blndesk ", text):
        after = text[match.end() :].split()[:8]
        words = [t for t in (t.rstrip(".,;:)*") for t in after) if t]
        if not words or words[0] in PROSE or words[0].startswith("("):
            continue
        argv = command_in(list(words), parser)
        named.append((f"lndesk {' '.join(after)}", argv or [words[0]]))
    return named


def test_every_command_named_in_what_people_read_exists() -> None:
    parser = build_parser()
    checked = 0
    failures = []
    for shown in _all_shown():
        for quoted, argv in commands_named(shown.text, parser):
            try:
                parser.parse_args(argv)
            except SystemExit as exit_:
                if exit_.code != 0:  # --help exits with 0
                    failures.append(f"{shown.where()}: {quoted!r} -> {argv}")
            checked += 1
    assert failures == []
    assert checked >= 30


@pytest.mark.parametrize(
    "hint",
    [
        "run lndesk restore-stats to ask your peers",
        "then lndesk confirm-log N --everything",
        "with lndesk keys backup",
    ],
)
def test_a_command_that_does_not_exist_is_caught(
    hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build_parser()
    named = commands_named(hint, parser)
    assert named
    with pytest.raises(SystemExit):
        for _quoted, argv in named:
            parser.parse_args(argv)
