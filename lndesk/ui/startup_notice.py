"""Show why the desktop app could not start, without Qt, to someone who started it from a menu.

When Qt cannot load, the message on stderr reaches nobody who clicked the menu entry. This
module writes the message to a file in lndesk's state directory (always) and, when stderr is
not a terminal, shows it with the first desktop tool that exists: ``notify-send``, ``gdbus``
(org.freedesktop.Notifications), ``zenity``, ``kdialog`` or ``xmessage``. Pure Python: it loads
no part of Qt. Commands are run through an injectable runner so tests never touch the desktop.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import platformdirs

logger = logging.getLogger(__name__)

NOTICE_NAME = "startup-problem.txt"
TITLE = "lndesk cannot start"

Runner = Callable[[Sequence[str]], bool]
"""Runs a command; True when it ran and exited with status 0."""

Which = Callable[[str], str | None]
"""The full path of a program on the PATH, or None."""


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/lndesk`` (``~/.local/state/lndesk`` on Linux by default)."""
    env = os.environ if env is None else env
    configured = env.get("XDG_STATE_HOME")
    if configured:
        return Path(configured).expanduser() / "lndesk"
    return Path(platformdirs.user_state_dir("lndesk", appauthor=False))


def run_quietly(command: Sequence[str]) -> bool:
    """Run ``command`` with no terminal input; False when it fails or takes over a minute."""
    try:
        done = subprocess.run(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _gdbus_notify(gdbus: str, text: str) -> list[str]:
    def quoted(value: str) -> str:  # a GVariant string literal
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return [
        gdbus,
        "call",
        "--session",
        "--dest=org.freedesktop.Notifications",
        "--object-path=/org/freedesktop/Notifications",
        "--method=org.freedesktop.Notifications.Notify",
        "lndesk",
        "0",
        "lndesk",
        quoted(TITLE),
        quoted(text),
        "[]",
        "{}",
        "0",
    ]


def display_commands(text: str, which: Which) -> list[list[str]]:
    """The commands that would show ``text``, one per tool found, in the order tried."""
    commands: list[list[str]] = []
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    makers: tuple[tuple[str, Callable[[str], list[str]]], ...] = (
        (
            "notify-send",
            lambda path: [path, "--app-name=lndesk", "--urgency=critical", TITLE, escaped],
        ),
        ("gdbus", lambda path: _gdbus_notify(path, escaped)),
        (
            "zenity",
            lambda path: [path, "--error", "--no-markup", f"--title={TITLE}", f"--text={text}"],
        ),
        ("kdialog", lambda path: [path, "--title", TITLE, "--error", text]),
        ("xmessage", lambda path: [path, "-center", f"{TITLE}\n\n{text}"]),
    )
    for program, make in makers:
        path = which(program)
        if path is not None:
            commands.append(make(path))
    return commands


def write_notice(text: str, directory: Path) -> Path | None:
    """Write ``text`` to ``directory/startup-problem.txt`` whole (a temporary file renamed)."""
    target = directory / NOTICE_NAME
    try:
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f".{NOTICE_NAME}.partial"
        partial.write_text(text + "\n", encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        logger.warning("could not write %s: %s", target, exc)
        return None
    return target


def report_startup_problem(
    text: str,
    *,
    interactive: bool,
    directory: Path | None = None,
    runner: Runner | None = None,
    which: Which | None = None,
) -> Path | None:
    """Record ``text`` in the state directory and, unless started from a terminal, show it.

    Returns the file written (None when it could not be written). The first display tool
    that runs successfully is the only one used.
    """
    written = write_notice(text, state_dir() if directory is None else directory)
    shown = text if written is None else f"{text}\n\nThis message is also in {written}"
    if not interactive:
        run = run_quietly if runner is None else runner
        for command in display_commands(shown, shutil.which if which is None else which):
            if run(command):
                break
    return written
