"""Pseudonyms of an identity whose key file is sealed: the ask dialog and the reveal's
confirmation ask for the passphrase, say clearly when it is wrong (and publish nothing),
and work with the right one (README "Pseudonyms")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lndesk.app.runtime import NodeRuntime
from lndesk.app.service import create_identity
from lndesk.keyfile import is_sealed
from lndesk.ui.views.compose import ComposeBox
from lndesk.ui.views.pseudonym_ask import PseudonymAskDialog
from lndesk.ui.views.pseudonyms import PseudonymsPanel

PASSPHRASE = "correct horse"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ann"
    create_identity(path, PASSPHRASE)
    return path


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[NodeRuntime]:
    runtime = NodeRuntime(data_dir, lambda: PASSPHRASE, network=False, control=False)
    runtime.start(wait_network=False)
    yield runtime
    runtime.stop()


def own_types(call: Any) -> list[str]:
    def read(desk: Any) -> list[str]:
        own = desk.service.identity.key_text
        return [stored.entry.type for stored in desk.service.feed(own, 50)]

    found: list[str] = call(read)
    return found


def test_a_sealed_key_asks_for_the_passphrase_to_ask_and_to_reveal(
    bridge: Any, call: Any, qtbot: Any, data_dir: Path
) -> None:
    box = ComposeBox(bridge)
    qtbot.addWidget(box)
    box.show()
    box.question.setChecked(True)
    box.text.setPlainText("Is it silly to ask why the sky is blue?")
    box.pseudonym.click()
    dialog = box.findChild(PseudonymAskDialog)
    assert dialog is not None
    dialog.name.setText("curious-fox")
    dialog.ask_button.click()
    qtbot.waitUntil(dialog.passphrase.isVisible)
    assert "enter your passphrase" in dialog.error.text()
    dialog.passphrase.setText("wrong horse")
    dialog.ask_button.click()
    qtbot.waitUntil(lambda: "wrong passphrase" in dialog.error.text(), timeout=20_000)
    assert "Check the passphrase" in dialog.error.text()
    assert not (data_dir / "pseudonyms" / "curious-fox.key").exists()  # nothing made
    dialog.passphrase.setText(PASSPHRASE)
    dialog.ask_button.click()
    qtbot.waitUntil(lambda: "Asked as curious-fox" in box.status.text(), timeout=20_000)
    assert is_sealed((data_dir / "pseudonyms" / "curious-fox.key").read_bytes())

    panel = PseudonymsPanel(bridge)
    qtbot.addWidget(panel)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.list.count() == 1)
    panel.reveal_selected()
    qtbot.waitUntil(lambda: panel.dialog is not None and panel.dialog.isVisible())
    reveal = panel.dialog
    assert reveal is not None and reveal.passphrase.isVisible()
    reveal.reveal_button.click()
    assert "Enter your passphrase" in reveal.error.text()
    reveal.passphrase.setText("wrong horse")
    reveal.reveal_button.click()
    qtbot.waitUntil(lambda: "wrong passphrase" in reveal.error.text(), timeout=20_000)
    assert reveal.isVisible() and reveal.reveal_button.isEnabled()
    assert "reveal" not in own_types(call)
    reveal.passphrase.setText(PASSPHRASE)
    reveal.reveal_button.click()
    qtbot.waitUntil(lambda: "Revealed" in panel.message.text(), timeout=20_000)
    assert not reveal.isVisible()
    assert own_types(call).count("reveal") == 1
