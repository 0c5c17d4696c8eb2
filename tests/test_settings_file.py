"""The settings file (config.json, lndesk.app.datadir.Config) read as any file on the disk:
bounded before it is decoded, and whatever it holds, an error whose advice works."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from cli_helpers import Cli

from lndesk.app.datadir import CONFIG_NAME, Config
from lndesk.app.ownlog import OWN_LOG_NAME, OWN_LOG_RESTORED, load_own_log
from lndesk.app.service import create_identity
from lndesk.app.settings_file import MAX_CONFIG_BYTES
from lndesk.errors import StoreError


def follow_the_advice(error: StoreError) -> None:
    """Run the command the hint gives (mv FROM TO), as a person would."""
    words = shlex.split(error.hint.split("(", 1)[1].split(")", 1)[0])
    assert words[0] == "mv" and len(words) == 3
    mv = shutil.which("mv")
    assert mv is not None
    subprocess.run([mv, *words[1:]], check=True)


@pytest.mark.parametrize(
    "planted",
    [
        b"[" * 100_000,
        b'{"port": ' + b"[" * 50_000,
        b"\xff\xfe",
        b'{"port": 1}' + b" " * MAX_CONFIG_BYTES,
    ],
)
def test_a_settings_file_no_one_could_write_gets_advice_that_works(
    tmp_path: Path, planted: bytes
) -> None:
    path = tmp_path / CONFIG_NAME
    path.write_bytes(planted)
    with pytest.raises(StoreError) as unreadable:
        Config.load(path)
    assert str(path) in unreadable.value.message
    follow_the_advice(unreadable.value)
    assert Config.load(path) == Config()


def test_a_huge_settings_file_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_NAME
    path.write_bytes(b"")
    os.truncate(path, 64 << 20)  # sparse: no disk is used
    tracemalloc.start()
    try:
        with pytest.raises(StoreError, match="over"):
            Config.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_CONFIG_BYTES, peak


def test_settings_under_the_bound_are_read(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_NAME
    Config(port=4800, bootstrap=["/dns4/example.org/tcp/4747/p2p/x"]).save(path)
    assert Config.load(path) == Config(port=4800, bootstrap=["/dns4/example.org/tcp/4747/p2p/x"])


# --- an older data directory: a key, no own-log.json, the flag maybe in config.json ---


@pytest.mark.parametrize(
    "planted",
    [b"[" * 100_000, b'{"own_log": "restored", "port": ' + b"[" * 100_000, b"{" * 3],
)
def test_an_old_data_dir_with_a_planted_settings_file_gets_advice_that_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], planted: bytes
) -> None:
    """Moving the flag out of config.json reads it as the settings are read: bounded,
    and a file nested too deep is the settings file's advice, not a traceback. The
    flag it might have held pauses publishing, to be safe."""
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    (data_dir / OWN_LOG_NAME).unlink()  # as an older version left it
    (data_dir / CONFIG_NAME).write_bytes(planted)
    cli = Cli(data_dir, capsys)
    cli("network", expect=1)
    assert "Traceback" not in cli.err
    command = re.search(r"\((mv [^)]+)\)", cli.err)
    assert command is not None, cli.err
    _mv, source, target = shlex.split(command.group(1))
    subprocess.run([shutil.which("mv") or "mv", source, target], check=True)
    assert "port: 4747" in cli("network")
    cli("post", "after the settings were moved aside", expect=1)
    assert "restore-status" in cli.err


def test_an_old_data_dir_with_a_huge_settings_file_is_not_read_whole(tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    (data_dir / OWN_LOG_NAME).unlink()
    path = data_dir / CONFIG_NAME
    path.write_bytes(b'{"own_log": "confirmed", "port": 1')
    os.truncate(path, 64 << 20)  # sparse: no disk is used
    tracemalloc.start()
    try:
        own_log = load_own_log(data_dir)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_CONFIG_BYTES, peak
    assert own_log.state == OWN_LOG_RESTORED


@pytest.mark.parametrize(
    "planted",
    [b"[" * 100_000, b'{"state": "confirmed", "seen_on": ' + b"[" * 100_000, b"\xff"],
)
def test_a_planted_own_log_file_pauses_publishing_without_a_traceback(
    tmp_path: Path, planted: bytes
) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    (data_dir / OWN_LOG_NAME).write_bytes(planted)
    assert load_own_log(data_dir).state == OWN_LOG_RESTORED


def test_a_huge_own_log_file_is_not_read_whole(tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    path = data_dir / OWN_LOG_NAME
    path.write_bytes(b'{"state": "confirmed", "seen_on": [')
    os.truncate(path, 64 << 20)
    tracemalloc.start()
    try:
        own_log = load_own_log(data_dir)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_CONFIG_BYTES, peak
    assert own_log.state == OWN_LOG_RESTORED
