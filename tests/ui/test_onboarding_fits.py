"""Every text of the first-run wizard is shown whole at the smallest size it allows
(and at a large one): nothing elided or clipped, measured with the labels' font."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel

from lndesk.app.onboard import OnboardingResult
from lndesk.identity import Identity
from lndesk.ui.onboarding import DONE, MINIMUM_SIZE, WORDS, OnboardingWizard


def clipped(wizard: OnboardingWizard) -> list[str]:
    """The visible labels whose text does not fit their geometry."""
    found = []
    for label in wizard.findChildren(QLabel):
        if not label.isVisible() or not label.text():
            continue
        area = label.contentsRect()
        metrics = label.fontMetrics()
        if label.wordWrap():
            need = label.heightForWidth(label.width())
            have = label.height()
            fits = need <= have
        else:
            lines = label.text().splitlines()
            need = max(metrics.horizontalAdvance(line) for line in lines)
            have = area.width()
            fits = need <= have and metrics.height() * len(lines) <= area.height()
        if not fits:
            found.append(f"{label.text()[:60]!r}: needs {need}, has {have}")
    return found


def show_page(wizard: OnboardingWizard, page_id: int, qapp: Any) -> None:
    wizard.setStartId(page_id)
    wizard.restart()
    qapp.processEvents()


@pytest.mark.parametrize("size", [MINIMUM_SIZE, (1000, 760)])
def test_no_text_is_cut_off_on_any_page(
    qtbot: Any, qapp: Any, tmp_path: Path, size: tuple[int, int]
) -> None:
    wizard = OnboardingWizard(tmp_path / "ann")
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.resize(*size)
    qapp.processEvents()
    assert (wizard.width(), wizard.height()) == size
    # The restored-identity summary is the longest text of the last page.
    identity = Identity.generate()
    wizard.outcome = OnboardingResult(identity.public_key, "Ann Lee", None, can_publish=False)
    problems = {}
    for page_id in wizard.pageIds():
        show_page(wizard, page_id, qapp)
        found = clipped(wizard)
        if found:
            problems[page_id] = found
    assert problems == {}


def test_the_key_warning_is_shown_whole(qtbot: Any, qapp: Any, tmp_path: Path) -> None:
    wizard = OnboardingWizard(tmp_path / "ann")
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.resize(*MINIMUM_SIZE)
    show_page(wizard, WORDS, qapp)
    warning = wizard.page(WORDS).intro  # type: ignore[attr-defined]
    assert warning.isVisible() and "anyone who has them can publish as you" in warning.text()
    assert clipped(wizard) == []
    # The wizard cannot be made smaller than the size checked above.
    wizard.resize(300, 200)
    assert (wizard.width(), wizard.height()) == MINIMUM_SIZE
    assert DONE in wizard.pageIds()
