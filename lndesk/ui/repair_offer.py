"""When the app cannot open its data because the log or its index is damaged: say so,
and offer to repair it there and then ("Repair and open"), as the command line's repair
and reindex do."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from lndesk.app.service import Service
from lndesk.errors import IndexDamagedError, LndeskError, StoreCorruptError
from lndesk.ui.format import error_text
from lndesk.wording import counted

logger = logging.getLogger(__name__)

REPAIR = "Repair and open"
REPAIRABLE = (StoreCorruptError, IndexDamagedError)


def repair_box(error: LndeskError, parent: QWidget | None = None) -> QMessageBox:
    """The question: what is damaged, what repairing does, and a Repair and open button."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("lndesk cannot open your data")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(error_text(error))
    box.addButton(REPAIR, QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    return box


def repair(data_dir: Path, error: LndeskError) -> str:
    """Repair ``data_dir`` for ``error``; returns what was done, in a sentence or two."""
    service = Service(data_dir, lazy=True)
    try:
        if isinstance(error, IndexDamagedError):
            count = service.reindex()
            return f"The index was rebuilt from your log: {counted(count, 'entry', 'entries')}."
        report = service.repair()
    finally:
        service.close()
    if not report.damaged:
        return f"Your log is not damaged ({counted(report.kept, 'valid record')})."
    size = sum(damaged.size for damaged in report.damaged)
    said = (
        f"Kept {counted(report.kept, 'valid record')}; {counted(size, 'damaged byte')} "
        f"were moved to {report.saved}. Syncing fetches missing posts back from peers."
    )
    return said


def offer_repair(data_dir: Path, error: LndeskError) -> bool:
    """Ask whether to repair; True once repaired (open the app), False to quit."""
    box = repair_box(error)
    box.exec()
    if box.buttonRole(box.clickedButton()) != QMessageBox.ButtonRole.AcceptRole:
        return False
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        done = repair(data_dir, error)
    except (LndeskError, OSError) as exc:
        logger.warning("repair failed: %s", exc)
        QMessageBox.critical(None, "lndesk cannot open your data", error_text(exc))
        return False
    finally:
        QApplication.restoreOverrideCursor()
    logger.info("repaired %s: %s", data_dir, done)
    QMessageBox.information(None, "Repaired", done)
    return True
