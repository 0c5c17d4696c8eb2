"""A damaged log or index stops the app from opening its data: the app says so in its own
terms and offers Repair and open, which repairs the data there and then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from lndesk.app.service import Service
from lndesk.errors import IndexDamagedError, StoreCorruptError
from lndesk.store.store import INDEX_NAME, LOG_NAME, Store
from lndesk.ui.repair_offer import REPAIR, repair, repair_box


def damaged(data_dir: Path) -> StoreCorruptError:
    """Five posts, then a byte flipped in the middle of the log and the index removed: the
    store refuses to open (as the app's node does at start)."""
    service = Service(data_dir)
    for n in range(5):
        service.post(f"post {n}")
    service.close()
    log = data_dir / LOG_NAME
    data = bytearray(log.read_bytes())
    data[len(data) // 2] ^= 0x40
    log.write_bytes(bytes(data))
    for suffix in ("", "-wal", "-shm"):
        (data_dir / (INDEX_NAME + suffix)).unlink(missing_ok=True)
    with pytest.raises(StoreCorruptError) as refused:
        Store(data_dir)
    return refused.value


def test_a_damaged_log_is_offered_a_repair_and_opens_after_it(data_dir: Path, qapp: Any) -> None:
    error = damaged(data_dir)
    box = repair_box(error)
    roles = {b.text(): box.buttonRole(b) for b in box.buttons()}
    assert roles == {
        REPAIR: QMessageBox.ButtonRole.AcceptRole,
        "Quit": QMessageBox.ButtonRole.RejectRole,
    }
    assert "Press Repair and open" in box.text() and "lndesk repair" not in box.text()
    box.deleteLater()
    said = repair(data_dir, error)
    assert said.startswith("Kept ") and "damaged byte" in said
    with Store(data_dir) as store:  # opens now
        assert store.index.count_entries() >= 1


def test_a_damaged_index_is_rebuilt(data_dir: Path, qapp: Any) -> None:
    service = Service(data_dir)
    service.post("kept")
    service.close()
    said = repair(data_dir, IndexDamagedError("the index is damaged"))
    assert said == "The index was rebuilt from your log: 1 entry."
