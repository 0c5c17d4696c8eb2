"""Ask as a pseudonym… in the compose box's question mode (README "Pseudonyms")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lndesk.keytext import key_to_text
from lndesk.pseudonyms import pseudonym_keys
from lndesk.ui.views.compose import ComposeBox
from lndesk.ui.views.pseudonym_ask import PseudonymAskDialog


def test_a_question_is_asked_as_a_pseudonym_from_the_compose_box(
    bridge: Any, call: Any, qtbot: Any, data_dir: Path
) -> None:
    box = ComposeBox(bridge)
    qtbot.addWidget(box)
    box.show()
    assert not box.pseudonym.isVisible()  # offered for questions only
    box.question.setChecked(True)
    assert box.pseudonym.isVisible()
    box.pseudonym.click()
    assert "Write your question first" in box.error.text()
    box.text.setPlainText("Is it silly to ask why 0.1 + 0.2 is not 0.3?")
    box.tags.setText("maths")
    box.pseudonym.click()
    dialog = box.findChild(PseudonymAskDialog)
    assert dialog is not None
    said = dialog.explanation.text()
    assert "No entry of yours names it" in said and "same peer id" in said
    assert "timing" in said
    assert not dialog.passphrase.isVisible()  # the key here is not sealed
    dialog.name.setText("../fox")
    dialog.ask_button.click()
    assert "cannot name a pseudonym" in dialog.error.text()
    dialog.name.setText("curious-fox")
    dialog.ask_button.click()
    qtbot.waitUntil(lambda: "Asked as curious-fox" in box.status.text(), timeout=10_000)
    assert "lndesk://feed/lnd1" in box.status.text()
    assert box.text.toPlainText() == "" and not box.question.isChecked()
    (fox,) = pseudonym_keys(data_dir)
    kinds = call(lambda desk: [s.entry.type for s in desk.service.feed(key_to_text(fox), 10)])
    assert sorted(kinds) == ["post", "profile"]
