"""The Identity screen against a real desk on a real store (no network)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage

from lndesk.app.ownlog import OWN_LOG_RESTORED, OwnLog, save_own_log
from lndesk.app.restore import RestoreStatus
from lndesk.app.runtime import NodeRuntime
from lndesk.app.service import Service, create_identity, restore_identity
from lndesk.content import MAX_AVATAR_BYTES
from lndesk.identity import Identity
from lndesk.ui.bridge import Bridge
from lndesk.ui.identity_view import COPIED_MS, WAITING_FOR_OWN_LOG, IdentityView
from lndesk.ui.qr import qr_image


def open_view(qtbot: Any, bridge: Bridge) -> IdentityView:
    view = IdentityView(bridge)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.info is not None)
    return view


@pytest.fixture
def second_runtime(tmp_path: Path) -> Iterator[Callable[[Path], Bridge]]:
    """Open more data directories, each on its own node thread (closed after the test)."""
    opened: list[tuple[NodeRuntime, Bridge]] = []

    def open_dir(path: Path) -> Bridge:
        runtime = NodeRuntime(path, network=False, control=False)
        runtime.start(wait_network=False)
        bridge = Bridge(runtime)
        opened.append((runtime, bridge))
        return bridge

    yield open_dir
    for runtime, bridge in opened:
        bridge.close()
        runtime.stop()


def test_shows_key_link_and_qr(qtbot: Any, bridge: Bridge, call: Any) -> None:
    info = call(lambda desk: desk.account.identity())
    view = open_view(qtbot, bridge)
    assert view.key_label.text() == info.key_text
    assert view.key_label.text().startswith("lnd1") and len(info.key_text) == 62
    assert view.link_label.text() == info.link == f"lndesk://feed/{info.key_text}"
    assert view.name_label.text() == "No name yet"
    assert view.short_key_label.text() == info.key_text[:20]
    assert view.qr_label.pixmap().width() == qr_image(info.link).width()
    assert view.publish_note.isHidden()
    assert view.sealed_label.text().startswith("Your key file on this computer has no passphrase")


def test_copy_key_and_link(qtbot: Any, bridge: Bridge, clock: Any) -> None:
    view = open_view(qtbot, bridge)
    assert view.info is not None
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    view.copy_key_button.click()
    assert clipboard.text() == view.info.key_text
    assert view.copied.text() == "Your public key is copied."
    clock.autojump = False
    clock.advance(COPIED_MS / 1000 - 0.01)
    assert view.copied.text() == "Your public key is copied."
    clock.advance(0.01)
    assert view.copied.text() == ""  # the note goes after a while, on the injected clock
    clock.autojump = True
    view.copy_link_button.click()
    assert clipboard.text() == view.info.link
    clipboard.clear()
    view.activateWindow()
    view.name_edit.setFocus()
    qtbot.keyClick(
        view.name_edit,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert clipboard.text() == view.info.key_text


def test_save_profile_with_a_large_picture(
    qtbot: Any, bridge: Bridge, call: Any, tmp_path: Path
) -> None:
    picture = QImage(os.urandom(1000 * 700 * 3), 1000, 700, 3000, QImage.Format.Format_RGB888)
    path = tmp_path / "me.png"
    assert picture.save(str(path))
    view = open_view(qtbot, bridge)
    assert not view.remove_button.isEnabled()
    assert view.set_avatar_from(path)
    assert 0 < len(view.avatar) <= MAX_AVATAR_BYTES
    assert view.avatar_size.text() == f"{len(view.avatar) / 1024:.1f} KB"
    view.name_edit.setText("Ann Lee")
    view.bio_edit.setPlainText("I teach physics.")
    view.save_button.click()
    assert not view.save_button.isEnabled()  # no second save while one is running
    qtbot.waitUntil(lambda: view.name_label.text() == "Ann Lee")
    assert view.save_button.isEnabled()
    assert view.profile_message.text().startswith("Profile saved.")
    info = call(lambda desk: desk.account.identity())
    assert (info.name, info.bio) == ("Ann Lee", "I teach physics.")
    assert info.avatar == view.avatar
    stored = QImage.fromData(info.avatar)
    assert (stored.width(), stored.height()) == (128, 128)
    assert view.link_label.text() == info.link and info.link.endswith("?name=Ann+Lee")

    view.remove_avatar()
    assert view.avatar == b"" and view.avatar_size.text() == "No avatar"


def test_profile_changed_elsewhere_is_shown(qtbot: Any, bridge: Bridge, call: Any) -> None:
    view = open_view(qtbot, bridge)
    call(lambda desk: desk.account.set_profile("Bob", "hello", b""))
    qtbot.waitUntil(lambda: view.name_label.text() == "Bob")
    assert view.name_edit.text() == "Bob"
    assert view.bio_edit.toPlainText() == "hello"


def test_blank_name_and_unreadable_picture_are_refused(
    qtbot: Any, bridge: Bridge, tmp_path: Path
) -> None:
    view = open_view(qtbot, bridge)
    view.name_edit.setText("   ")
    view.save_button.click()
    assert view.profile_message.text() == "Enter a name: people see it next to your posts."
    assert view.save_button.isEnabled()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a picture")
    assert not view.set_avatar_from(broken)
    assert view.profile_message.isVisible()
    assert view.profile_message.text().startswith("broken.png is not a picture lndesk can read")
    assert view.avatar == b""


def test_restored_identity_waits_to_publish(
    qtbot: Any, tmp_path: Path, second_runtime: Callable[[Path], Bridge]
) -> None:
    data_dir = tmp_path / "restored"
    restore_identity(data_dir, Identity.generate().backup_words())
    view = open_view(qtbot, second_runtime(data_dir))
    assert view.publish_note.text() == WAITING_FOR_OWN_LOG
    view.name_edit.setText("Ann")
    view.save_button.click()
    qtbot.waitUntil(view.save_button.isEnabled)
    assert view.profile_message.text() == WAITING_FOR_OWN_LOG
    assert view.name_edit.text() == "Ann"  # what was typed is kept


def _restored_with_peer_report(tmp_path: Path, held: int) -> Path:
    """A restored identity whose peers reported entry 3, of which ``held`` are here."""
    old = tmp_path / "old"
    create_identity(old)
    with Service(old) as service:
        for i in range(3):
            service.post(f"post {i}")
        words, key = service.backup_words(), service.public_key
        items = list(service.store.feed_items(key))
    data_dir = tmp_path / "restored"
    restore_identity(data_dir, words)
    with Service(data_dir) as service:
        service.store.ingest(key, items[:held])
    peer = Identity.generate().public_key.hex()
    save_own_log(data_dir, OwnLog(OWN_LOG_RESTORED, 3, [peer], 1, surveyed=True))
    return data_dir


def test_restored_identity_confirms_its_latest_entry(
    qtbot: Any, tmp_path: Path, second_runtime: Callable[[Path], Bridge]
) -> None:
    view = open_view(qtbot, second_runtime(_restored_with_peer_report(tmp_path, held=3)))
    panel = view.restore_panel
    assert panel.isVisible()
    assert panel.text.text().startswith("Your log: latest entry 3, seen on 1 peer.")
    assert panel.confirm_button.isEnabled()
    assert panel.confirm_button.text() == "Confirm: my latest entry is 3…"
    asked: list[int] = []

    def decline(_parent: object, status: RestoreStatus) -> bool:
        asked.append(status.latest)
        return False

    panel.confirm(ask=decline)
    assert asked == [3] and panel.isVisible() and not panel.busy
    panel.confirm(ask=lambda _parent, _status: True)
    qtbot.waitUntil(lambda: view.info is not None and view.info.can_publish)
    assert panel.isHidden() and view.publish_note.isHidden()
    view.name_edit.setText("Ann")
    view.save_button.click()
    qtbot.waitUntil(lambda: view.info is not None and view.info.name == "Ann")


def test_restored_identity_cannot_confirm_before_its_entries_arrive(
    qtbot: Any, tmp_path: Path, second_runtime: Callable[[Path], Bridge]
) -> None:
    view = open_view(qtbot, second_runtime(_restored_with_peer_report(tmp_path, held=1)))
    panel = view.restore_panel
    assert "Entries 2 to 3 have not arrived yet" in panel.text.text()
    assert not panel.confirm_button.isEnabled()
    panel.confirm(ask=lambda _parent, _status: True)
    assert not panel.busy
    assert view.info is not None and not view.info.can_publish


def test_backup_words_need_two_clicks(qtbot: Any, bridge: Bridge, call: Any) -> None:
    view = open_view(qtbot, bridge)
    assert view.words_panel.isHidden()
    view.words_button.click()
    assert view.words_panel.isVisible()
    assert view.words_shown() == []
    view.reveal_button.click()
    words = call(lambda desk: desk.account.backup_words()).split()
    qtbot.waitUntil(lambda: view.words_shown() != [])
    assert view.words_shown() == words
    view.hide()  # leaving the screen takes the words off it
    assert view.words_shown() == []


def test_export_then_import_into_a_restored_copy(
    qtbot: Any,
    bridge: Bridge,
    call: Any,
    tmp_path: Path,
    second_runtime: Callable[[Path], Bridge],
) -> None:
    call(lambda desk: desk.account.set_profile("Ann", "", b""))
    call(lambda desk: desk.posting.post("hello"))
    words = call(lambda desk: desk.account.backup_words())
    view = open_view(qtbot, bridge)
    backup = tmp_path / "ann.cbor"
    view.save_backup_to(backup)
    qtbot.waitUntil(lambda: view.backup_message.text() != "Saving…")
    assert view.backup_message.text().startswith(f"Saved 2 entries to {backup}.")

    copy_dir = tmp_path / "copy"
    restore_identity(copy_dir, words)
    copy = open_view(qtbot, second_runtime(copy_dir))
    assert copy.name_label.text() == "No name yet"
    copy.import_backup_from(backup)
    qtbot.waitUntil(lambda: copy.name_label.text() == "Ann")
    assert copy.backup_message.text() == "Imported 2 entries."
    assert copy.latest_box.isVisible() and not copy.publish_note.isHidden()
    copy.latest_box.setChecked(True)  # nothing published since: may publish again
    copy.import_backup_from(backup)
    qtbot.waitUntil(lambda: copy.backup_message.text() != "Importing…")
    assert copy.backup_message.text() == "Everything in that file was already here."
    qtbot.waitUntil(lambda: not copy.latest_box.isVisible())
    assert copy.info is not None and copy.info.can_publish

    stranger_dir = tmp_path / "stranger"
    create_identity(stranger_dir)
    stranger = open_view(qtbot, second_runtime(stranger_dir))
    stranger.import_backup_from(backup)
    qtbot.waitUntil(lambda: stranger.backup_message.text() != "Importing…")
    assert "this backup belongs to" in stranger.backup_message.text()
    assert stranger.backup_message.styleSheet() != ""  # shown as an error


def test_the_main_window_leads_a_restored_identity_to_confirm(
    qtbot: Any, tmp_path: Path, second_runtime: Callable[[Path], Bridge]
) -> None:
    from lndesk.ui.main_window import IDENTITY, MainWindow

    data_dir = _restored_with_peer_report(tmp_path, held=3)
    window = MainWindow(second_runtime(data_dir), data_dir)
    qtbot.addWidget(window)
    window.show()
    banner = window.restore_banner
    qtbot.waitUntil(banner.isVisible)
    assert "Peers report entry 3 as your latest." in banner.text.text()
    banner.button.click()
    assert window.nav.currentRow() == IDENTITY
    panel = window.identity.restore_panel
    qtbot.waitUntil(panel.isVisible)
    panel.confirm(ask=lambda _parent, _status: True)
    qtbot.waitUntil(banner.isHidden)
    qtbot.waitUntil(panel.isHidden)


def test_own_avatar_is_decoded_off_the_gui_thread(
    qtbot: Any, bridge: Bridge, call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heading and the form show the fingerprint while the picture is decoded on the
    avatar worker, and the picture once it is ready."""
    import threading

    from lndesk.ui import avatar_worker
    from lndesk.ui.avatar import avatar_from_image, decode_avatar
    from lndesk.ui.identicon import identicon_image

    release = threading.Event()
    threads: list[threading.Thread] = []

    def held(data: bytes, size: int) -> QImage | None:
        threads.append(threading.current_thread())
        release.wait(10)
        return decode_avatar(data, size)

    decoder = avatar_worker.AvatarDecoder(decode=held, timeout_ms=60_000)  # not the subject
    monkeypatch.setattr(avatar_worker, "_shared", decoder)
    picture = QImage(os.urandom(64 * 64 * 3), 64, 64, 192, QImage.Format.Format_RGB888)
    avatar = avatar_from_image(picture)
    info = call(lambda desk: desk.account.identity())
    call(lambda desk: desk.account.set_profile("Ann", "", avatar))
    view = open_view(qtbot, bridge)
    qtbot.waitUntil(lambda: view.avatar == avatar)

    def shown(label: Any) -> QImage:
        return label.pixmap().toImage().convertToFormat(QImage.Format.Format_ARGB32)

    size = view.avatar_label.pixmap().width()
    fingerprint = identicon_image(info.key, size, round_=True)
    assert shown(view.avatar_label) == fingerprint.convertToFormat(QImage.Format.Format_ARGB32)
    assert decoder.state(avatar, size) == "pending"
    release.set()
    qtbot.waitUntil(lambda: decoder.state(avatar, size) == "ready")
    qtbot.waitUntil(
        lambda: shown(view.avatar_label) != fingerprint.convertToFormat(QImage.Format.Format_ARGB32)
    )
    assert threads and threading.main_thread() not in threads
    preview = view.avatar_preview.pixmap().width()
    qtbot.waitUntil(lambda: decoder.state(avatar, preview) == "ready")
