"""One app per data directory: a second launch hands its link to the first and exits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lndesk.ui.single import ACTIVATE, SingleInstance, server_name


def test_a_second_launch_forwards_its_link_to_the_first(tmp_path: Path, qtbot: Any) -> None:
    first = SingleInstance(tmp_path / "ann")
    assert not first.forward("")  # nobody is running yet
    assert first.listen()
    try:
        second = SingleInstance(tmp_path / "ann")
        with qtbot.waitSignal(first.message) as message:
            assert second.forward("lndesk://feed/lnd1abc?name=Bo")
        assert message.args == ["lndesk://feed/lnd1abc?name=Bo"]
        with qtbot.waitSignal(first.message) as message:
            assert second.forward("")
        assert message.args == [ACTIVATE]
        # another data directory is another app
        assert not SingleInstance(tmp_path / "bo").forward("")
    finally:
        first.close()


def test_a_socket_left_by_a_crashed_app_is_taken_over(tmp_path: Path, qtbot: Any) -> None:
    import socket

    from PySide6.QtCore import QDir

    name = server_name(tmp_path / "ann")
    path = Path(QDir.tempPath()) / name
    # what a crash leaves: the socket file, with nobody accepting on it
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    try:
        again = SingleInstance(tmp_path / "ann")
        assert not again.forward("")
        assert again.listen()
        again.close()
    finally:
        path.unlink(missing_ok=True)
    assert server_name(tmp_path / "ann") == server_name(tmp_path / "ann" / ".." / "ann")
