"""The backup words of a sealed key are shown only after its passphrase is typed again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import KEY_WORK_MS, awaited

from lndesk.app.runtime import NodeRuntime
from lndesk.app.service import create_identity
from lndesk.errors import PassphraseError
from lndesk.ui.bridge import Bridge
from lndesk.ui.identity_view import IdentityView

RIGHT = "correct horse"


@pytest.fixture
def sealed_bridge(tmp_path: Path, qapp: Any) -> Iterator[Bridge]:
    data_dir = tmp_path / "sealed"
    identity = create_identity(data_dir, RIGHT)
    runtime = NodeRuntime(data_dir, identity=identity, network=False, control=False)
    runtime.start(wait_network=False)
    bridge = Bridge(runtime)
    yield bridge
    bridge.close()
    runtime.stop()


class Prompt:
    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.asked = 0

    def __call__(self, _parent: object) -> str | None:
        self.asked += 1
        return self.answers.pop(0)


def open_view(qtbot: Any, bridge: Bridge) -> IdentityView:
    view = IdentityView(bridge)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.info is not None, timeout=KEY_WORK_MS)
    return view


def test_sealed_words_wait_for_the_passphrase(qtbot: Any, sealed_bridge: Bridge) -> None:
    view = open_view(qtbot, sealed_bridge)
    assert view.info is not None and view.info.sealed
    prompt = Prompt(None, "wrong horse", RIGHT)
    view.ask_passphrase = prompt
    view.words_button.click()
    view.reveal_button.click()  # cancelled: nothing asked of the node, nothing shown
    assert prompt.asked == 1 and view.words_shown() == []
    view.reveal_button.click()  # wrong: said so, nothing shown
    qtbot.waitUntil(lambda: "wrong passphrase" in view.backup_message.text(), timeout=KEY_WORK_MS)
    assert view.words_shown() == []
    view.reveal_button.click()
    qtbot.waitUntil(lambda: len(view.words_shown()) == 24, timeout=KEY_WORK_MS)
    assert prompt.asked == 3
    assert "wrong passphrase" not in view.backup_message.text()


def test_the_desk_refuses_the_words_without_the_passphrase(
    qtbot: Any, sealed_bridge: Bridge
) -> None:
    def call(function: Any) -> Any:
        box: dict[str, Any] = {}
        sealed_bridge.request_async(
            awaited(function),
            lambda r: box.setdefault("result", r),
            lambda e: box.setdefault("error", e),
        )
        qtbot.waitUntil(lambda: box != {}, timeout=KEY_WORK_MS)
        if "error" in box:
            raise box["error"]
        return box["result"]

    with pytest.raises(PassphraseError):
        call(lambda desk: desk.account.backup_words())
    with pytest.raises(PassphraseError):
        call(lambda desk: desk.account.backup_words("wrong horse"))
    assert len(call(lambda desk: desk.account.backup_words(RIGHT)).split()) == 24


def test_an_unsealed_key_shows_its_words_without_asking(qtbot: Any, bridge: Bridge) -> None:
    view = open_view(qtbot, bridge)
    assert view.info is not None and not view.info.sealed

    def never(_parent: object) -> str | None:
        raise AssertionError("asked for a passphrase the key file does not have")

    view.ask_passphrase = never
    view.words_button.click()
    view.reveal_button.click()
    qtbot.waitUntil(lambda: len(view.words_shown()) == 24, timeout=KEY_WORK_MS)
