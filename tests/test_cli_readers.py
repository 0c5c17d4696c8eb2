"""Every command works while a node (`serve`) holds the data directory: readers read
beside it, writers go through its control socket."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from store_helpers import child_env
from test_cli_network import Serve, run

from lndesk.backup import decode_backup


def test_every_command_works_while_serve_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    run(data_dir, "init", "--name", "Ann")
    run(data_dir, "network", "--mdns", "off")
    run(data_dir, "post", "stored before serve started")
    bo = tmp_path / "bo"
    run(bo, "init", "--name", "Bo")
    bo_key = run(bo, "id").splitlines()[0]
    serve = Serve(data_dir)
    try:
        serve.wait_for("give a friend one of these addresses")
        # Writers go through the running node ...
        assert "published" in run(data_dir, "post", "written while serving")
        assert "following lnd1" in run(data_dir, "follow", bo_key)
        assert "profile updated" in run(data_dir, "profile", "--name", "Ann B", "--bio", "hi")
        # ... and readers read the store beside it, seeing what it wrote.
        log = run(data_dir, "log")
        assert "stored before serve started" in log and "written while serving" in log
        assert "Ann B" in log
        key = run(data_dir, "id").splitlines()[0]
        assert key.startswith("lnd1")
        assert bo_key[:12] in run(data_dir, "following")
        profile = run(data_dir, "profile")
        assert "name: Ann B" in profile and "bio:  hi" in profile
        assert "everything verifies" in run(data_dir, "verify")
        out = tmp_path / "ann.backup"
        assert "entries to" in run(data_dir, "export", "--out", str(out))
        assert len(decode_backup(out.read_bytes()).entries) == 5  # profile, posts, follow
        words = run(data_dir, "key", "backup")
        assert "24." in words
        assert "written while **serving**" in run(data_dir, "search", "serving")
        run(data_dir, "inbox")
        assert serve.process.poll() is None
    finally:
        assert serve.stop() == 0
    # Nothing the readers did disturbed the node's store.
    assert "everything verifies" in run(data_dir, "verify")


def _restore(data_dir: Path, words: str) -> None:
    """``lndesk key restore`` with the words typed on standard input."""
    done = subprocess.run(
        [sys.executable, "-m", "lndesk", "--data-dir", str(data_dir), "key", "restore"],
        input=words,
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_import_reindex_and_repair_while_serve_runs(tmp_path: Path) -> None:
    """On a new machine: restore the key, start the node, then import the backup into it.
    Reindex runs inside the node too; repair alone waits for it, and its advice works."""
    ann = tmp_path / "ann"
    run(ann, "init", "--name", "Ann")
    for i in range(3):
        run(ann, "post", f"note {i} from the old laptop")
    backup = tmp_path / "ann.backup"
    run(ann, "export", "--out", str(backup))
    words = " ".join(re.findall(r"\d+\. +(\w+)", run(ann, "key", "backup")))
    laptop = tmp_path / "laptop"
    _restore(laptop, words)
    run(laptop, "network", "--mdns", "off")
    serve = Serve(laptop)
    try:
        serve.wait_for("give a friend one of these addresses")
        # Publishing waits for the log's height, which the import brings.
        assert "lndesk restore-status" in run(laptop, "post", "too early", expect=1)
        imported = run(laptop, "import", str(backup), "--latest")
        assert "4 of 4 entries" in imported  # progress, from inside the node
        assert "imported 4 entries (0 already here)" in imported
        assert "Publishing stays paused" not in imported
        again = run(laptop, "import", str(backup))
        assert "imported 0 entries (4 already here)" in again
        assert "published" in run(laptop, "post", "first note from the new laptop")
        log = run(laptop, "log")
        assert "note 2 from the old laptop" in log and "first note from the new laptop" in log
        rebuilt = run(laptop, "reindex")
        assert "rebuilt the index from the log: 5 entries" in rebuilt
        assert "first note from the new **laptop**" in run(laptop, "search", "laptop")
        # Another identity's backup is refused by the node, as it is without one.
        wrong = run(laptop, "import", str(_other_backup(tmp_path)), expect=1)
        assert "this backup belongs to lnd1" in wrong and "Traceback" not in wrong
        # Repair waits for the node to stop, and says exactly how.
        refused = run(laptop, "repair", expect=1)
        assert "it rewrites the log file that the node keeps open" in refused
        assert "press Ctrl-C where lndesk serve runs" in refused
        assert "Traceback" not in refused
        assert serve.process.poll() is None
        serve.process.send_signal(signal.SIGINT)  # what the advice says: Ctrl-C
        assert serve.process.wait(timeout=30) == 0
        assert "the log is not damaged (5 valid records)" in run(laptop, "repair")
    finally:
        serve.stop()
    assert "everything verifies" in run(laptop, "verify")


def _other_backup(tmp_path: Path) -> Path:
    bo = tmp_path / "bo"
    run(bo, "init", "--name", "Bo")
    out = tmp_path / "bo.backup"
    run(bo, "export", "--out", str(out))
    return out
