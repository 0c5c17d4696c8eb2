"""The real thing: `lndesk` started as a process on a temporary data directory."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from lndesk.app.service import Service, create_identity


def app_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["LNDESK_DATA_DIR"] = str(data_dir)
    env.pop("LNDESK_PASSPHRASE", None)
    return env


def wait_for_fifo(fd: int, timeout: float) -> bytes:
    """Block until the app writes its ready line into the FIFO (no polling)."""
    chunks = b""
    while not chunks.endswith(b"\n"):
        readable, _, _ = select.select([fd], [], [], timeout)
        assert readable, "the app did not paint its window in time"
        chunk = os.read(fd, 4096)
        if not chunk:
            # the writer has not opened the FIFO yet: wait for it again
            continue
        chunks += chunk
    return chunks


def test_lndesk_starts_shows_its_window_hands_over_a_second_launch_and_quits(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "home"
    create_identity(data_dir)
    with Service(data_dir) as service:
        service.post("already stored before the app starts")
    ready = tmp_path / "ready"
    os.mkfifo(ready)
    fd = os.open(ready, os.O_RDONLY | os.O_NONBLOCK)
    process = subprocess.Popen(
        [sys.executable, "-m", "lndesk", "app", "--ready-file", str(ready)],
        env=app_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = json.loads(wait_for_fifo(fd, 60))
        assert line["painted"] > 0
        # A second launch with no command (the desktop's plain `lndesk`) finds the first
        # one and exits; it does not fight it for the data directory.
        second = subprocess.run(
            [sys.executable, "-m", "lndesk"],
            env=app_env(data_dir),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    finally:
        os.close(fd)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    with Service(data_dir) as service:  # the data directory was released
        assert service.own_state().height == 1


def test_without_a_display_lndesk_says_so_instead_of_aborting(tmp_path: Path) -> None:
    env = app_env(tmp_path / "home")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    run = subprocess.run(
        [sys.executable, "-m", "lndesk"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert run.stderr.startswith("lndesk: error: no display") and "lndesk serve" in run.stderr
    assert not (tmp_path / "home").exists()  # nothing was created


def test_a_sealed_key_is_unlocked_once_from_the_environment(tmp_path: Path) -> None:
    data_dir = tmp_path / "sealed"
    create_identity(data_dir, "correct horse")
    ready = tmp_path / "ready"
    os.mkfifo(ready)
    fd = os.open(ready, os.O_RDONLY | os.O_NONBLOCK)
    env = app_env(data_dir) | {"LNDESK_PASSPHRASE": "correct horse"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lndesk", "app", "--ready-file", str(ready)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(wait_for_fifo(fd, 60))["painted"] > 0
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    finally:
        os.close(fd)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    # A wrong one: the app says why, on stderr as well as in its dialog, and starts nothing.
    wrong = subprocess.Popen(
        [sys.executable, "-m", "lndesk", "app"],
        env=env | {"LNDESK_PASSPHRASE": "wrong"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert wrong.stderr is not None
        readable, _, _ = select.select([wrong.stderr], [], [], 60)
        assert readable, "no error was reported"
        line = wrong.stderr.readline().decode()
    finally:
        wrong.kill()
        wrong.wait()
    assert line.startswith("lndesk: error:") and "passphrase" in line.lower(), line
