"""One migration runner for the index and the local state, with the newer-version guard."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from lndesk.app.local import LOCAL_NAME, LocalState
from lndesk.app.service import create_identity
from lndesk.cli.main import main
from lndesk.errors import StoreError
from lndesk.store.migrations import SCHEMA_VERSION, migrate
from lndesk.store.schema_version import apply_migrations, schema_version

STEPS = ("CREATE TABLE a (x);", "CREATE TABLE b (y);")


def newer(version: int, known: int) -> StoreError:
    return StoreError(f"newer: {version} > {known}")


def test_migrations_apply_in_order_once() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    apply_migrations(conn, STEPS, newer)
    assert schema_version(conn) == 2
    apply_migrations(conn, STEPS, newer)  # nothing left to do
    apply_migrations(conn, (*STEPS, "CREATE TABLE c (z);"), newer)
    assert schema_version(conn) == 3
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"a", "b", "c"}


def test_a_failing_migration_leaves_the_previous_version() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(conn, (*STEPS, "CREATE TABLE c (z); CREATE TABLE a (x);"), newer)
    assert schema_version(conn) == 2
    assert not conn.in_transaction
    assert "c" not in {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}


def test_a_database_ahead_of_the_migrations_is_refused() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA user_version=5")
    with pytest.raises(StoreError, match="newer: 5 > 2"):
        apply_migrations(conn, STEPS, newer)
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def _set_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={version}")
    conn.commit()
    conn.close()


def test_an_index_written_by_a_newer_lndesk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "ann"
    assert main(["--data-dir", str(data_dir), "init"]) == 0
    assert main(["--data-dir", str(data_dir), "post", "kept in the log"]) == 0
    _set_version(data_dir / "index.sqlite3", SCHEMA_VERSION + 3)
    with sqlite3.connect(data_dir / "index.sqlite3") as conn, pytest.raises(StoreError):
        migrate(conn)
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "log"]) == 1
    err = capsys.readouterr().err
    assert f"written by a newer lndesk (schema {SCHEMA_VERSION + 3}" in err
    assert "OperationalError" not in err
    # the advice works
    assert main(["--data-dir", str(data_dir), "reindex"]) == 0
    assert main(["--data-dir", str(data_dir), "log"]) == 0
    assert "kept in the log" in capsys.readouterr().out


def test_local_state_written_by_a_newer_lndesk(tmp_path: Path) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    state = LocalState(data_dir)
    state.set("marker", 1)
    state.close()
    _set_version(data_dir / LOCAL_NAME, 7)
    with pytest.raises(StoreError, match=r"written by a newer lndesk \(schema 7") as caught:
        LocalState(data_dir)
    # the advice works: the command it gives, run as given, starts afresh and keeps the file
    command = re.search(r"mkdir .*", caught.value.hint)
    assert command is not None
    subprocess.run(["sh", "-c", command.group(0)], check=True)
    fresh = LocalState(data_dir)
    assert fresh.get("marker") == 0
    fresh.close()
    (kept,) = (data_dir / "local-newer").glob(LOCAL_NAME)
    with sqlite3.connect(kept) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (7,)


def test_the_cli_reports_newer_local_state_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "ann"
    assert main(["--data-dir", str(data_dir), "init"]) == 0
    assert main(["--data-dir", str(data_dir), "search", "anything"]) == 0
    _set_version(data_dir / LOCAL_NAME, 7)
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "search", "anything"]) == 1
    err = capsys.readouterr().err
    assert "local state file" in err and "newer lndesk (schema 7" in err
    assert "Traceback" not in err and "OperationalError" not in err
