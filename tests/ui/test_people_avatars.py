"""The lists that show people (Following, Peers) show each person's picture, or their
key's fingerprint when they have none."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPixmap
from store_helpers import make_identity
from test_hostile_names import profile_and_post
from ui_helpers import ingest

from lndesk.app.items import PeerItem
from lndesk.content import Profile
from lndesk.ui.avatar import avatar_from_image
from lndesk.ui.identicon import identicon_pixmap
from lndesk.ui.models.authors import FINGERPRINT, FollowingModel
from lndesk.ui.models.peers import FINGERPRINT as PEER_SIZE
from lndesk.ui.models.peers import PeersModel

ANN = make_identity(71)
BO = make_identity(72)
GREEN = QColor(0, 200, 0)


def green_picture() -> bytes:
    image = QImage(64, 64, QImage.Format.Format_RGB888)
    image.fill(GREEN)
    return avatar_from_image(image)


def centre(pixmap: Any) -> QColor:
    assert isinstance(pixmap, QPixmap)
    image = pixmap.toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def is_green(colour: QColor) -> bool:
    return abs(colour.green() - 200) < 40 and colour.red() < 40 and colour.blue() < 40


def test_following_shows_the_picture_a_person_published(bridge: Any, call: Any, qtbot: Any) -> None:
    picture = green_picture()
    ingest(call, ANN, profile_and_post(ANN, Profile("Ann", "", picture), "Hi"), follow=True)
    ingest(call, BO, profile_and_post(BO, Profile("Bo"), "Hello"), follow=True)
    model = FollowingModel(bridge)
    model.refresh()
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    rows = {model.data(model.index(r), Qt.ItemDataRole.UserRole + 1).key: r for r in range(2)}
    ann, bo = model.index(rows[ANN.public_key]), model.index(rows[BO.public_key])
    # Ann's picture once decoded (off the GUI thread); her fingerprint until then.
    qtbot.waitUntil(lambda: is_green(centre(model.data(ann, Qt.ItemDataRole.DecorationRole))))
    # Bo has no picture: his key's fingerprint.
    fingerprint = identicon_pixmap(BO.public_key, FINGERPRINT).toImage()
    assert model.data(bo, Qt.ItemDataRole.DecorationRole).toImage() == fingerprint


def test_peers_show_their_picture(qapp: Any, qtbot: Any) -> None:
    model = PeersModel(None)
    with_picture = PeerItem(
        ANN.public_key, "Ann", "12D3KooWAnn", "/ip4/127.0.0.1/tcp/1", 5, False, green_picture()
    )
    without = PeerItem(BO.public_key, "Bo", "12D3KooWBo", "/ip4/127.0.0.1/tcp/2", 5, False)
    model._apply([with_picture, without])
    qtbot.waitUntil(
        lambda: is_green(centre(model.data(model.index(0), Qt.ItemDataRole.DecorationRole)))
    )
    fingerprint = identicon_pixmap(BO.public_key, PEER_SIZE).toImage()
    assert model.data(model.index(1), Qt.ItemDataRole.DecorationRole).toImage() == fingerprint
