"""A failed start is shown without Qt: a file in the state directory and a desktop tool."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from lndesk.cli.main import main
from lndesk.ui import startup_notice, syslibs
from lndesk.ui.startup_notice import NOTICE_NAME, report_startup_problem, state_dir

TEXT = "the desktop app cannot start: these system libraries are missing: libxcb-icccm.so.4"


class Desktop:
    """Programs that exist, and which of them succeed; records every command run."""

    def __init__(self, present: Sequence[str], failing: Sequence[str] = ()) -> None:
        self.present = set(present)
        self.failing = set(failing)
        self.ran: list[list[str]] = []

    def which(self, program: str) -> str | None:
        return f"/usr/bin/{program}" if program in self.present else None

    def run(self, command: Sequence[str]) -> bool:
        self.ran.append(list(command))
        return Path(command[0]).name not in self.failing

    def programs(self) -> list[str]:
        return [Path(command[0]).name for command in self.ran]


def test_the_message_is_written_to_the_state_directory(tmp_path: Path) -> None:
    desktop = Desktop([])
    written = report_startup_problem(
        TEXT,
        interactive=False,
        directory=tmp_path / "state",
        runner=desktop.run,
        which=desktop.which,
    )
    assert written == tmp_path / "state" / NOTICE_NAME
    assert written.read_text(encoding="utf-8") == TEXT + "\n"
    assert desktop.ran == []  # no tool exists: the file is all there is
    assert not list((tmp_path / "state").glob(".*"))  # no partial file left behind


def test_notify_send_is_tried_first_and_used_alone(tmp_path: Path) -> None:
    desktop = Desktop(["notify-send", "gdbus", "zenity", "kdialog", "xmessage"])
    report_startup_problem(
        TEXT, interactive=False, directory=tmp_path, runner=desktop.run, which=desktop.which
    )
    assert desktop.programs() == ["notify-send"]
    shown = desktop.ran[0][-1]
    assert TEXT in shown
    assert str(tmp_path / NOTICE_NAME) in shown  # says where to read it again


def test_a_failing_tool_falls_through_to_the_next_in_order(tmp_path: Path) -> None:
    desktop = Desktop(
        ["notify-send", "gdbus", "zenity", "kdialog", "xmessage"],
        failing=["notify-send", "gdbus", "zenity"],
    )
    report_startup_problem(
        TEXT, interactive=False, directory=tmp_path, runner=desktop.run, which=desktop.which
    )
    assert desktop.programs() == ["notify-send", "gdbus", "zenity", "kdialog"]


def test_only_the_tools_that_exist_are_run(tmp_path: Path) -> None:
    desktop = Desktop(["xmessage", "gdbus"], failing=["gdbus"])
    report_startup_problem(
        TEXT, interactive=False, directory=tmp_path, runner=desktop.run, which=desktop.which
    )
    assert desktop.programs() == ["gdbus", "xmessage"]
    gdbus = desktop.ran[0]
    assert "--dest=org.freedesktop.Notifications" in gdbus
    assert "--method=org.freedesktop.Notifications.Notify" in gdbus
    assert desktop.ran[1][-1].startswith(startup_notice.TITLE)


def test_a_terminal_start_writes_the_file_and_shows_nothing_more(tmp_path: Path) -> None:
    desktop = Desktop(["notify-send", "zenity"])
    written = report_startup_problem(
        TEXT, interactive=True, directory=tmp_path, runner=desktop.run, which=desktop.which
    )
    assert written is not None and written.exists()
    assert desktop.ran == []


def test_an_unwritable_state_directory_still_shows_the_message(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    desktop = Desktop(["zenity"])
    written = report_startup_problem(
        TEXT,
        interactive=False,
        directory=blocker / "state",
        runner=desktop.run,
        which=desktop.which,
    )
    assert written is None
    assert desktop.programs() == ["zenity"]
    assert f"--text={TEXT}" in desktop.ran[0]


def test_markup_is_escaped_for_notifications_but_not_for_dialogs() -> None:
    commands = startup_notice.display_commands("a <b> & c", lambda program: f"/bin/{program}")
    assert commands[0][-1] == "a &lt;b&gt; &amp; c"  # notify-send reads markup
    assert "--text=a <b> & c" in commands[2]  # zenity with --no-markup


def test_gdbus_strings_are_quoted_for_gvariant() -> None:
    command = startup_notice.display_commands("it's \\ here", lambda p: f"/bin/{p}")[1]
    assert "'it\\'s \\\\ here'" in command


def test_the_state_directory_follows_xdg_state_home(tmp_path: Path) -> None:
    assert state_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "lndesk"
    assert state_dir({}).name == "lndesk"


def test_the_menu_start_with_missing_libraries_leaves_a_visible_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(syslibs, "can_load", lambda soname: soname != "libxcb-icccm.so.4")
    desktop = Desktop(["notify-send"])
    monkeypatch.setattr(startup_notice, "run_quietly", desktop.run)
    monkeypatch.setattr(startup_notice.shutil, "which", desktop.which)
    data_dir = tmp_path / "data"
    assert main(["--data-dir", str(data_dir), "app"]) == 1  # stderr is not a terminal here
    notice = (tmp_path / "state" / "lndesk" / NOTICE_NAME).read_text(encoding="utf-8")
    assert "libxcb-icccm.so.4" in notice
    assert "libxcb-icccm.so.4" in capsys.readouterr().err
    assert desktop.programs() == ["notify-send"]
    assert "libxcb-icccm.so.4" in desktop.ran[0][-1]
    assert not data_dir.exists()
