"""`lndesk key restore`, `restore-status` and `confirm-log` end to end, against a real
`lndesk serve` that holds the restored feed (a follower's always-on node)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from store_helpers import child_env

from lndesk.app.service import Service, create_identity


def lndesk(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lndesk", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=180,
        env=child_env(),
        check=False,
    )


def test_restore_status_then_confirm_log(tmp_path: Path) -> None:
    old = tmp_path / "old"
    create_identity(old)
    with Service(old) as ann:
        for i in range(3):
            ann.post(f"post {i}")
        key, words = ann.public_key, ann.backup_words()
        items = list(ann.store.feed_items(key))
    friend = tmp_path / "friend"
    create_identity(friend)
    with Service(friend) as service:
        service.store.ingest(key, items)
    command = ["-m", "lndesk", "--data-dir", str(friend), "serve", "--port", "0", "--no-mdns"]
    serve = subprocess.Popen(
        [sys.executable, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_env(),
    )
    try:
        assert serve.stdout is not None
        address = ""
        for line in serve.stdout:
            if "/ip4/127.0.0.1/" in line:
                address = line.strip()
                break
        assert address, "serve printed no address"
        new = tmp_path / "new"
        restored = lndesk(new, "key", "restore", stdin=words)
        assert restored.returncode == 0, restored.stderr
        assert "lndesk restore-status" in restored.stdout
        assert lndesk(new, "network", "--mdns", "off", "--add-bootstrap", address).returncode == 0

        early = lndesk(new, "post", "too early")
        assert early.returncode == 1 and "lndesk restore-status" in early.stderr

        status = lndesk(new, "restore-status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "your log: latest entry 3, seen on 1 peer; entries 1..3 are here" in status.stdout
        assert "run lndesk confirm-log 3" in status.stdout

        wrong = lndesk(new, "confirm-log", "2")
        assert wrong.returncode == 1 and "lndesk confirm-log 3" in wrong.stderr
        assert lndesk(new, "confirm-log", "3").returncode == 0
        posted = lndesk(new, "post", "back again")
        assert "(entry 4 of your log)" in posted.stdout, posted.stderr
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def test_the_advice_for_a_key_that_never_published_works(tmp_path: Path) -> None:
    """A restored identity pauses publishing; its advice for a key that never published
    (restore it with --fresh) works when followed, though this data directory already
    has the key."""
    old = tmp_path / "old"
    create_identity(old)
    with Service(old) as ann:
        words = ann.backup_words()
    paused = tmp_path / "paused"
    restored = lndesk(paused, "key", "restore", stdin=words)
    assert restored.returncode == 0, restored.stderr
    refused = lndesk(paused, "post", "first words")
    assert refused.returncode == 1
    hint = "lndesk --data-dir NEW_DIRECTORY key restore --fresh"
    for said in (restored.stdout, refused.stderr):
        assert hint in " ".join(said.split())
    fresh = tmp_path / "fresh"
    again = lndesk(fresh, "key", "restore", "--fresh", stdin=words)
    assert again.returncode == 0, again.stderr
    posted = lndesk(fresh, "post", "first words")
    assert "(entry 1 of your log)" in posted.stdout, posted.stderr
