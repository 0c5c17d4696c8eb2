"""Every error lndesk defines, as the app shows it: no developer words, no backticks, and
advice in the app's terms (a screen, a button), never a command to type."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
from pathlib import Path

from shown_strings import shown_strings
from test_words import _words_broken

import lndesk
from lndesk.app.ownlog import OWN_LOG_RESTORED, OwnLog
from lndesk.cli.main import build_parser
from lndesk.errors import ListenError, LndeskError, StoreCorruptError
from lndesk.ui.app_hints import APP_HINTS
from lndesk.ui.format import error_text


def _every_error_class() -> list[type[LndeskError]]:
    for module in pkgutil.walk_packages(lndesk.__path__, "lndesk."):
        if module.name != "lndesk.__main__":
            importlib.import_module(module.name)
    found: list[type[LndeskError]] = []
    todo: list[type[LndeskError]] = [LndeskError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("lndesk."):  # not a test's own subclass
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _made(cls: type[LndeskError]) -> LndeskError:
    error = cls.__new__(cls)
    LndeskError.__init__(error, "something happened")  # the class's own hint kept
    return error


def test_every_error_reads_plainly_in_the_app() -> None:
    classes = _every_error_class()
    assert len(classes) > 20
    broken = {
        cls.__qualname__: words
        for cls in classes
        if (words := _words_broken(error_text(_made(cls))))
    }
    assert broken == {}


def test_the_check_sees_a_bad_hint() -> None:
    class Bad(LndeskError):
        default_hint = "Run `lndesk sync` to fetch the payload."

    assert _words_broken(error_text(_made(Bad))) == ["payload", "backtick"]


# --- advice in the app's terms: no commands to type -------------------------------------

TERMINAL_ONLY = {
    # said in the terminal before any window exists (no display to open one on)
    ("app.py", "On a machine without a screen"),
    # the system's install commands for Qt's missing libraries: typed, as only they can be
    ("syslibs.py", ""),
}


def _command_pattern() -> re.Pattern[str]:
    parser = build_parser()
    subcommands = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    names = "|".join(re.escape(name) for name in sorted(subcommands.choices, key=len)[::-1])
    return re.compile(rf"\blndesk (?:{names})\b|\s--[a-z][a-z-]+")


def test_the_command_pattern_sees_commands_and_not_the_apps_name() -> None:
    command = _command_pattern()
    assert command.search("Run lndesk reindex to rebuild it") is not None
    assert command.search("or use another --data-dir.") is not None
    assert command.search("lndesk rebuilds it from your log; lndesk keeps running") is None


def test_every_error_the_app_shows_gives_app_advice_not_commands() -> None:
    command = _command_pattern()
    named = {
        cls.__qualname__: text
        for cls in _every_error_class()
        if command.search(text := error_text(_made(cls)))
    }
    assert named == {}
    # the advice is the app's own for the errors whose hint is a command
    assert "Apply and restart the network" in error_text(_made(ListenError))
    assert "Repair and open" in error_text(_made(StoreCorruptError))
    assert all(command.search(hint) is None for hint in APP_HINTS.values())


def test_no_string_of_the_app_tells_people_to_type_a_command() -> None:
    command = _command_pattern()
    found = [
        f"{shown.where()}: {shown.text[:80]!r}"
        for shown in shown_strings("ui")
        if command.search(shown.text)
        and not any(
            shown.path.name == name and shown.text.startswith(start)
            for name, start in TERMINAL_ONLY
        )
    ]
    assert found == []


def test_a_pause_says_its_own_cause_in_the_app(tmp_path: Path) -> None:
    """A pause because own-log.json is missing is not told as a restored identity."""
    lost = OwnLog(state=OWN_LOG_RESTORED, problem=f"{tmp_path / 'own-log.json'} is missing")
    said = error_text(lost.paused_error())
    assert "own-log.json is missing" in said
    assert "was restored" not in said
    assert "was restored" in error_text(OwnLog(state=OWN_LOG_RESTORED).paused_error())
