"""Bad arguments get a clear message and no traceback; a mistyped --data-dir creates nothing."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import make_identity
from test_cli_network import Serve
from test_words import commands_named

from lndesk.cli.datadir_check import creates_data_dir
from lndesk.cli.main import build_parser, main
from lndesk.keytext import key_to_text
from lndesk.store.store import Store

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


# --- every command the parser knows, in every state a data directory can be in ----------


def _leaf_commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _leaf_commands(sub, (*prefix, name))
            return
    if prefix:
        yield prefix, parser


WINDOWED = {("app",), ("screenshots",)}
"""They start Qt: their bad arguments are covered above, their windows elsewhere."""

NUMERIC_TYPES = {"int", "positive_int", "tcp_port", "seconds", "entry_number", "pixels"}

SOMEONE = key_to_text(make_identity(9).public_key)


def _sample(action: argparse.Action, tmp_path: Path) -> str:
    """A plausible value for an argument (the run may still refuse it, in words)."""
    name = (action.metavar or action.dest).upper()
    type_name = getattr(action.type, "__name__", "")
    if type_name in {"output_file"} or action.dest == "out":
        return str(tmp_path / "written.out")
    if name in {"ENTRY_ID", "LIST_ID"}:
        return "abcdef123456"
    if name == "KEY_OR_LINK":
        return SOMEONE
    if name in {"FILE"} or action.dest == "file":
        return str(tmp_path / "missing.file")
    if type_name in NUMERIC_TYPES or name in {"N", "N_OR_URL"}:
        return "1"
    if name == "MULTIADDR":
        return "not-an-address"
    if name == "URL" and action.dest == "url":
        return "not a web address"
    return "hello"


def _valid_argv(
    path: tuple[str, ...], command: argparse.ArgumentParser, tmp_path: Path
) -> list[str]:
    argv = list(path)
    for action in command._actions:
        if not action.required:
            continue
        value = _sample(action, tmp_path)
        argv += [action.option_strings[0], value] if action.option_strings else [value]
    return argv


Command = tuple[list[str], list[str], argparse.ArgumentParser]
"""A command's words ("key", "backup"), a whole command line for it, and its parser."""


def _every_command(tmp_path: Path) -> list[Command]:
    found = [
        (list(path), _valid_argv(path, command, tmp_path), command)
        for path, command in _leaf_commands(build_parser())
        if path not in WINDOWED
    ]
    assert len(found) > 40  # the walk finds the commands, nested ones included
    assert ["key", "backup"] in [path for path, _, _ in found]
    return found


def _run_plainly(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``lndesk ARGV``: its exit code and what it wrote; never a traceback."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text, f"lndesk {' '.join(argv)}:\n{text}"
    assert code in (0, 1, 2), f"lndesk {' '.join(argv)} exited {code}:\n{text}"
    return code, text


def _hints_name_real_commands(argv: list[str], text: str) -> list[str]:
    """What ``text`` tells to run that the parser refuses."""
    parser = build_parser()
    wrong = []
    # a quoted value ("A name") is one argument, as the shell reads it; a key is a value
    plain = re.sub(r"\blnd1\w+", "KEY", re.sub(r'"[^"\n]*"', '"x"', text))
    for quoted, named in commands_named(plain, parser):
        try:
            with (
                contextlib.redirect_stderr(io.StringIO()),
                contextlib.redirect_stdout(io.StringIO()),
            ):
                parser.parse_args(named)
        except SystemExit as exit_:
            if exit_.code != 0:
                wrong.append(f"lndesk {' '.join(argv)} advised {quoted!r}")
    return wrong


def test_every_command_refuses_missing_and_bad_arguments_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    checked = 0
    for path, argv, command in _every_command(tmp_path):
        if any(action.required for action in command._actions):
            # nothing given: the parser names what is missing
            code, text = _run_plainly(["--data-dir", str(data_dir), *path], capsys)
            assert code == 2 and "the following arguments are required" in text, path
            checked += 1
        for action in command._actions:
            if getattr(action.type, "__name__", "") not in NUMERIC_TYPES:
                continue
            bad = _replace(argv, action, "not-a-number", tmp_path)
            code, text = _run_plainly(["--data-dir", str(data_dir), *bad], capsys)
            assert code == 2 and "argument" in text and "not-a-number" in text, bad
            checked += 1
    assert checked > 30
    assert not data_dir.exists()  # nothing refused created anything


def _replace(argv: list[str], action: argparse.Action, value: str, tmp_path: Path) -> list[str]:
    """``argv`` with ``action``'s value replaced by (or, optional, extended with) ``value``."""
    if action.option_strings:
        flag = action.option_strings[0]
        if flag in argv:
            out = list(argv)
            out[out.index(flag) + 1] = value
            return out
        return [*argv, flag, value]
    sample = _sample(action, tmp_path)
    out = list(argv)
    out[len(out) - 1 - out[::-1].index(sample)] = value
    return out


def test_every_command_on_a_missing_data_dir_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo"
    for _path, argv, _command in _every_command(tmp_path):
        args = build_parser().parse_args(["--data-dir", str(typo), *argv])
        if creates_data_dir(args):
            continue
        code, text = _run_plainly(["--data-dir", str(typo), *argv], capsys)
        assert code == 1 and f"there is no lndesk data directory at {typo}" in text, argv
        assert not typo.exists(), argv
        assert _hints_name_real_commands(argv, text) == []


def _walk_with_advice(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> int:
    """Run every command on ``data_dir``; each ends in words, and its advice names commands
    that exist. Returns how many ran."""
    wrong: list[str] = []
    ran = 0
    for path, argv, _command in _every_command(tmp_path):
        if path in (["init"], ["key", "restore"]):
            continue  # they make an identity; this data directory has one
        _code, text = _run_plainly(["--data-dir", str(data_dir), *argv], capsys)
        wrong += _hints_name_real_commands(argv, text)
        ran += 1
    assert wrong == []
    return ran


def test_every_command_on_a_data_dir_another_process_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lock is held, but no node answers on the control socket (an lndesk command of
    another process, say): readers read, writers say who holds it."""
    data_dir = tmp_path / "ann"
    assert main(["--data-dir", str(data_dir), "init", "--name", "Ann"]) == 0
    capsys.readouterr()
    holder = Store(data_dir)
    try:
        assert _walk_with_advice(data_dir, tmp_path, capsys) > 40
        code, text = _run_plainly(["--data-dir", str(data_dir), "post", "x"], capsys)
        assert code == 1 and "in use by another lndesk process" in text
        code, text = _run_plainly(["--data-dir", str(data_dir), "profile"], capsys)
        assert code == 0 and "name: Ann" in text
    finally:
        holder.close()


def test_every_command_while_serve_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "ann"
    assert main(["--data-dir", str(data_dir), "init", "--name", "Ann"]) == 0
    assert main(["--data-dir", str(data_dir), "network", "--mdns", "off"]) == 0
    capsys.readouterr()
    serve = Serve(data_dir)
    try:
        serve.wait_for("give a friend one of these addresses")
        assert _walk_with_advice(data_dir, tmp_path, capsys) > 40
        assert serve.process.poll() is None  # no command took the node down
    finally:
        assert serve.stop() == 0
