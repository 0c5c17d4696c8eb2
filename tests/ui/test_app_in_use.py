"""The app started on a data directory another process holds says so in one sentence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lndesk.app.service import create_identity
from lndesk.store.store import Store
from lndesk.ui import app as app_module


def test_a_held_data_directory_is_explained_plainly(
    tmp_path: Path, qapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "ann"
    create_identity(data_dir)
    shown: list[str] = []
    monkeypatch.setattr(
        app_module.QMessageBox, "critical", lambda _parent, _title, text: shown.append(text)
    )
    with Store(data_dir):  # what a running `serve` holds
        assert app_module.run_app(data_dir) == 1
    assert shown == [app_module.IN_USE]
    sentence = shown[0]
    assert sentence.count(". ") == 0 and sentence.endswith(".")
    assert "`" not in sentence and "lndesk serve" not in sentence and "--" not in sentence
