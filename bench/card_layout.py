"""The cost of laying out one post's card: the safe renderer against Qt's plain document.

The app's card delegate (``PostDelegate``) is asked ``sizeHint`` for ``--posts`` posts
(the ~480-character texts of gui_stall.py's feeds as they are, and "mixed": half of
them with a link, a heading, a list or emphasis added, as people write), each new to
it: a fresh delegate per round, as when a sync brings posts. The baseline is the same
delegate laying out with Qt's own ``QTextDocument.setMarkdown`` and nothing else, as
cards were drawn before the safe renderer (no guards: it would read files and lay out
any table). The two alternate, round after round, in one process, so that a busy
machine slows both alike; the clock is the GUI thread's CPU time (``time.thread_time``),
which other processes on the machine do not stretch.

Reported per variant: the median and best round's time per ``sizeHint`` call, and the
time of asking again for every row at the same width (a relayout of the list: answered
from the delegate's height cache) and at a new width.

    python bench/card_layout.py             # 500 posts, 9 rounds
    python bench/card_layout.py --rounds 3  # shorter
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from typing import Any

from _common import FILLER, print_table
from _gui import offscreen

from lndesk.app.items import PostItem

EXTRAS = (
    "",
    " See https://example.org/spaced-repetition for the paper.",
    "\n\n## Summary\n\nIntervals grow.",
    " This is *important* and **bold**.",
    "",
    "",
    " [the notes](https://example.org/notes)",
    "",
    "\n\n- one\n- two\n- three",
    "",
)


def posts(count: int, mixed: bool = True) -> list[PostItem]:
    made = []
    for n in range(count):
        head = f"[feed{n % 10}#{n}] "
        text = (head + FILLER * 4)[:480] + (EXTRAS[n % len(EXTRAS)] if mixed else "")
        made.append(
            PostItem(
                id=n.to_bytes(32, "big"),
                author=bytes([n % 10]) * 32,
                seq=n + 1,
                author_name=f"feed{n % 10}",
                short_key="lnd1bench",
                kind="post",
                text=text,
                tags=("bench",),
                links=(),
                claimed_ms=1,
                cursor=(1, 1, n),
                mine=False,
            )
        )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--posts", type=int, default=500, help="posts (500)")
    parser.add_argument("--rounds", type=int, default=9, help="rounds of each variant (9)")
    args = parser.parse_args()
    offscreen()

    from PySide6.QtCore import (  # noqa: PLC0415 - Qt after the platform is chosen
        QAbstractListModel,
        QModelIndex,
        QPersistentModelIndex,
    )
    from PySide6.QtGui import QFont, QTextDocument  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication, QListView, QStyleOptionViewItem  # noqa: PLC0415

    from lndesk.ui.models.live import ItemRole  # noqa: PLC0415
    from lndesk.ui.views import post_delegate  # noqa: PLC0415
    from lndesk.ui.views.post_delegate import PostDelegate  # noqa: PLC0415

    class Plain(PostDelegate):
        """Cards laid out by Qt's own document, with none of the renderer's guards."""

        def _document(self, item: PostItem, width: int, font: QFont, names: Any = None) -> Any:
            key = (item.author, item.seq, width, post_delegate._shape(item, names))
            doc = self._docs.get(key)
            if doc is not None:
                return doc
            doc = QTextDocument()
            doc.setDefaultFont(font)
            doc.setDocumentMargin(0)
            doc.setMarkdown(item.text)
            doc.setTextWidth(max(50, width))
            self._docs[key] = doc
            return doc

    class Posts(QAbstractListModel):
        def __init__(self, rows: list[PostItem]) -> None:
            super().__init__()
            self.rows = rows

        def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
            return len(self.rows)

        def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
            return self.rows[index.row()] if role == ItemRole else None

    app = QApplication.instance() or QApplication(["bench"])
    model = Posts([])
    view = QListView()
    view.resize(1100, 760)
    view.setModel(model)
    view.show()
    app.processEvents()
    indexes: list[QModelIndex] = []

    def ask(delegate: PostDelegate, width: int) -> float:
        if view.width() != width:
            view.resize(width, 760)
            app.processEvents()
        opt = QStyleOptionViewItem()
        opt.initFrom(view)
        start = time.thread_time()
        for index in indexes:
            delegate.sizeHint(opt, index)
        return (time.thread_time() - start) / len(indexes)

    figures: dict[str, dict[str, list[float]]] = {}
    variants = {"safe renderer": PostDelegate, "Qt plain document": Plain}
    texts = {"feed text": posts(args.posts, False), "mixed": posts(args.posts)}
    for turn, (text, shown) in itertools.product(range(args.rounds), texts.items()):
        model.beginResetModel()
        model.rows = shown
        model.endResetModel()
        indexes = [model.index(row) for row in range(model.rowCount())]
        order = list(variants.items())
        for variant, kind in order if turn % 2 else order[::-1]:  # neither always first
            delegate = kind(view)
            per = figures.setdefault(f"{variant}, {text}", {"first": [], "again": [], "width": []})
            per["first"].append(ask(delegate, 1100))
            per["again"].append(ask(delegate, 1100))
            per["width"].append(ask(delegate, 900))
            view.resize(1100, 760)
            delegate.deleteLater()
        app.processEvents()

    def us(values: list[float]) -> str:
        return f"{statistics.median(values) * 1e6:.0f} (best {min(values) * 1e6:.0f})"

    rows = [
        (name, us(per["first"]), us(per["again"]), us(per["width"]))
        for name, per in figures.items()
    ]
    print_table(
        f"sizeHint per post, us: median of {args.rounds} rounds ({args.posts} posts)",
        ("variant", "new posts", "same width again", "new width"),
        rows,
    )


if __name__ == "__main__":
    main()
