"""The settings file (config.json, lndesk.app.datadir.Config) read as any file on the disk:
bounded before it is decoded, and whatever it holds, an error whose advice works."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import pytest

from lndesk.app.datadir import CONFIG_NAME, MAX_CONFIG_BYTES, Config
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
