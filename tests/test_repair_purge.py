"""``lndesk repair`` run first after a purge a crash interrupted (lndesk.store.repair):
the purge's journal is finished before the log is salvaged, so the record the crash tore
is repaired by it, never moved aside as damage with the entry it still holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import child_env
from test_store_purge import ALICE, CHILD, SECRET, TESTS_DIR, assert_clean, log_bytes

from lndesk.store.purge import JOURNAL_NAME
from lndesk.store.repair import repair_store
from lndesk.store.store import Store


@pytest.mark.parametrize("step", ["overwrite torn", "journal not removed"])
def test_a_repair_after_an_interrupted_purge_finishes_it_and_loses_nothing(
    tmp_path: Path, step: str
) -> None:
    code = CHILD.format(tests=str(TESTS_DIR), secret=SECRET)
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), step],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 9, result.stdout + result.stderr
    assert (tmp_path / JOURNAL_NAME).exists()

    report = repair_store(tmp_path)  # before anything opened the store
    assert not report.damaged and not report.lost and report.kept == 3
    assert not (tmp_path / JOURNAL_NAME).exists()
    assert SECRET.encode() not in log_bytes(tmp_path)
    with Store(tmp_path) as store:
        entries = {item.entry.seq: item for item in store.feed_entries(ALICE.public_key)}
        assert sorted(entries) == [1, 2, 3]
        assert entries[2].deleted and entries[2].payload is None
        assert entries[1].payload is not None
    assert_clean(tmp_path)
