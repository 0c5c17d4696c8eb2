"""A revealed pseudonym's attribution cannot be imitated by a name (README "Pseudonyms",
docs/rendering.md): a stranger who calls themself "Ann (as curious-fox)" is shown as
"Ann" with no attribution, while Ann's revealed pseudonym is shown as "Ann" with an
outlined "as curious-fox" tag of its own; through the real desk and store, painted
offscreen."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor, QFontMetrics
from store_helpers import make_identity
from test_author_line_fits import font, paint_card
from ui_helpers import ingest, signed_chain

from lndesk.app.items import PostItem
from lndesk.content import Post, Profile, Reveal
from lndesk.pseudonyms import reveal_proof
from lndesk.ui import theme
from lndesk.ui.notifier import summarise
from lndesk.ui.views.author_line import fit_author_line
from lndesk.ui.views.post_delegate import MARGIN, meta_parts

ANN, FOX, IMPOSTOR = make_identity(91), make_identity(92), make_identity(93)
FORGED = "Ann (as curious-fox)"


def accent_like(colour: QColor) -> bool:
    accent = theme.named_colour("accent")
    return (
        abs(colour.red() - accent.red())
        + abs(colour.green() - accent.green())
        + abs(colour.blue() - accent.blue())
        < 90
    )


def accent_pixels(item: PostItem, width: int = 700) -> int:
    """Accent-coloured pixels on the card's author line, inside its margins (the frame
    of an unread card is accent too)."""
    image, rect = paint_card(item, width)
    top, line = MARGIN, QFontMetrics(font()).height()
    return sum(
        1
        for x in range(rect.left() + MARGIN, rect.right() - MARGIN)
        for y in range(top, top + line)
        if accent_like(image.pixelColor(x, y))
    )


def test_a_name_cannot_pass_for_a_revealed_pseudonym(call: Any, qapp: Any) -> None:
    ingest(
        call,
        FOX,
        signed_chain(FOX, [Profile("curious-fox"), Post("Why does ice float?")], [1, 2]),
        follow=True,
    )
    reveal = Reveal(FOX.public_key, reveal_proof(FOX, ANN.public_key))
    ingest(call, ANN, signed_chain(ANN, [Profile("Ann"), reveal], [3, 4]), follow=True)
    ingest(
        call,
        IMPOSTOR,
        signed_chain(IMPOSTOR, [Profile(FORGED), Post("Why does ice sink?")], [5, 6]),
        follow=True,
    )
    items: list[PostItem] = call(lambda desk: desk.reading.page("timeline", None, 20))
    shown = {item.author: item for item in items if item.kind == "post"}
    real, fake = shown[FOX.public_key], shown[IMPOSTOR.public_key]
    assert (real.author_name, real.attribution) == ("Ann", "as curious-fox")
    assert (fake.author_name, fake.attribution) == ("Ann", "")  # "(as …)" cleaned away
    real_line = fit_author_line(real, font(), 600, after=meta_parts(real))
    fake_line = fit_author_line(fake, font(), 600, after=meta_parts(fake))
    assert [(p.role, p.text) for p in real_line[1:3]] == [
        ("name", "Ann"),
        ("attribution", "as curious-fox"),
    ]
    assert "attribution" not in [p.role for p in fake_line]
    assert not any("as curious-fox" in p.text for p in fake_line)
    # On one line of text (titles, tooltips, notifications) the attribution follows the
    # name in a form no cleaned name can take.
    assert real.shown_name == "Ann (as curious-fox)" and fake.shown_name == "Ann"
    assert summarise([], [real])[0] == "Ann (as curious-fox) posted"
    assert summarise([], [fake])[0] == "Ann posted"
    # The tag is drawn in the accent colour; the stranger's line has none of it.
    assert accent_pixels(real) > 40
    assert accent_pixels(fake) == 0
