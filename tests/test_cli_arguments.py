"""Bad arguments get a clear message and no traceback; a mistyped --data-dir creates nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lndesk.cli.main import main

BAD = [
    (["serve", "--port", "99999"], "argument --port: 99999 is not a TCP port"),
    (["serve", "--port", "x"], "argument --port: 'x' is not a whole number"),
    (["network", "--port", "-1"], "argument --port: -1 is not a TCP port"),
    (["inbox", "--limit", "-1"], "argument --limit: -1 is too small"),
    (["sync", "--timeout", "nan"], "argument --timeout: nan is not a number of seconds"),
    (["sync", "--wait", "-1"], "argument --wait: -1 is not a number of seconds"),
    (["confirm-log", "-5"], "argument N: -5 is not an entry number"),
    (["screenshots", "out", "--width", "-1"], "argument --width: -1 pixels is out of range"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_a_bad_argument_is_refused_plainly(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    with pytest.raises(SystemExit) as caught:
        main(["--data-dir", str(data_dir), *argv])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not data_dir.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["log"],
        ["id"],
        ["following"],
        ["post", "hi"],
        ["search", "x"],
        ["inbox"],
        ["verify"],
        ["reindex"],
        ["export", "--out", "backup.cbor"],
        ["network", "--port", "5000"],
        ["follow", "lnd1x"],
        ["key", "backup"],
        ["restore-status"],
    ],
)
def test_a_missing_data_dir_is_named_and_not_created(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo"
    assert main(["--data-dir", str(typo), *argv]) == 1
    err = capsys.readouterr().err
    assert f"there is no lndesk data directory at {typo}" in err
    assert "lndesk init" in err
    assert not typo.exists()


def test_init_creates_the_data_dir_the_others_then_use_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "new"
    assert main(["--data-dir", str(data_dir), "init", "--name", "Ann"]) == 0
    assert main(["--data-dir", str(data_dir), "log"]) == 0
    assert "Ann" in capsys.readouterr().out


class Terminal(logging.Handler):
    """Stands where the command line's stderr handler is: on the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_network_messages_go_to_a_file_not_the_terminal(tmp_path: Path) -> None:
    from lndesk.app.netlog import NETWORK_LOGGERS, NetworkLogFile, route_network_logs

    terminal = Terminal()
    root = logging.getLogger()
    root.addHandler(terminal)
    try:
        path = route_network_logs(tmp_path, verbose=False)
        assert path == tmp_path / "network.log"
        logging.getLogger("libp2p.host.basic_host").warning("a peer went away")
        logging.getLogger("libp2p.network.auto_connector").info("routine")
        assert "a peer went away" in path.read_text()
        assert "routine" not in path.read_text()
        assert terminal.lines == []
        # -v: shown on the terminal as well, from INFO up
        route_network_logs(tmp_path, verbose=True)
        logging.getLogger("zeroconf").info("mdns says hello")
        assert terminal.lines == ["mdns says hello"]
        assert "mdns says hello" in path.read_text()
        handlers = [h for n in NETWORK_LOGGERS for h in logging.getLogger(n).handlers]
        ours = {id(h) for h in handlers if isinstance(h, NetworkLogFile)}
        assert len(ours) == 1  # replaced, not added again
    finally:
        root.removeHandler(terminal)
        for name in NETWORK_LOGGERS:
            network_logger = logging.getLogger(name)
            for handler in [h for h in network_logger.handlers if isinstance(h, NetworkLogFile)]:
                network_logger.removeHandler(handler)
                handler.close()
            network_logger.propagate = True


def test_an_unwritable_data_dir_drops_network_messages_quietly(tmp_path: Path) -> None:
    from lndesk.app.netlog import route_network_logs

    missing = tmp_path / "gone"
    assert route_network_logs(missing, verbose=False) is None
    logging.getLogger("libp2p").propagate = True


def test_the_address_hint_names_commands_that_print_addresses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lndesk.errors import AddressError

    hint = AddressError("x").hint
    assert "lndesk id" not in hint
    assert "lndesk serve" in hint and "lndesk peers" in hint
    # `lndesk id` prints a key and a share link, no address; `serve` prints addresses
    data_dir = tmp_path / "ann"
    assert main(["--data-dir", str(data_dir), "init"]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "id"]) == 0
    assert "/ip4/" not in capsys.readouterr().out


def test_a_file_given_as_data_dir_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for argv in (["log"], ["init"], ["post", "x"]):
        assert main(["--data-dir", str(a_file), *argv]) == 1
        err = capsys.readouterr().err
        assert f"{a_file} is a file, not a data directory" in err
        assert "disk is not full" not in err
    assert a_file.read_text() == "mine"


def test_export_to_a_folder_and_screenshots_into_a_file_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "ann"
    assert main(["--data-dir", str(data_dir), "init"]) == 0
    with pytest.raises(SystemExit):
        main(["--data-dir", str(data_dir), "export", "--out", str(tmp_path)])
    assert f"{tmp_path} is a folder; give the name of the file to write" in capsys.readouterr().err
    a_file = tmp_path / "x.png"
    a_file.write_bytes(b"")
    with pytest.raises(SystemExit):
        main(["--data-dir", str(data_dir), "screenshots", str(a_file)])
    assert "is a file, not a folder" in capsys.readouterr().err
