"""Every command works while a node (`serve`) holds the data directory: readers read
beside it, writers go through its control socket."""

from __future__ import annotations

from pathlib import Path

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
