"""Hostile posts on cards: the worst layout time and the peak memory of drawing them.

The app's real card delegate (``PostDelegate``) lays out and paints ``--posts`` posts
offscreen, in a ``QListView`` 1100 px wide, each a hostile text from a peer: images of
``/dev/zero`` and of a local file, six 8000 x 8000 ``data:`` PNGs, inline HTML and CSS,
a deceptive link, a 16,000-column table in 64 KB, huge headings, 10,000 list items,
quotes nested 2,000 deep, lists nested 60 deep, RTL overrides, a tower of combining
marks, a 30,000-character word. They cycle, so each case is drawn ``posts / cases``
times: every post is new to the delegate (its own key), as when a sync brings them.
Every third post is a share quoting the text, every third a reading list with it as a
note.

Per post the clock runs around ``sizeHint`` (the layout: parse, tame, lay out) and
around ``paint`` into an image. Reported: the worst and p99 time of each, per case and
overall; the process's peak RSS (``VmHWM``) before and after, and how many documents
and characters the delegate's cache holds at the end.

    python bench/hostile_render.py              # 1,000 posts
    python bench/hostile_render.py --quick      # 100 posts
"""

from __future__ import annotations

import argparse
import base64
import struct
import time
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import ms, percentile, print_table
from _gui import offscreen

from lndesk.app.items import ListEntry, PostItem, Quoted


def _png(width: int, height: int) -> bytes:
    row = b"\x00" * (1 + (width + 7) // 8)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = zlib.compress(row * height, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def cases(local_file: Path) -> dict[str, str]:
    big = base64.b64encode(_png(8000, 8000)).decode()
    return {
        "/dev/zero image": "![x](/dev/zero) <img src=/dev/zero>",
        "local file image": f"![x]({local_file}) <img src='{local_file}'>",
        "six 8000x8000 data: PNGs": "".join(
            f"![p{i}](data:image/png;base64,{big})\n" for i in range(6)
        ),
        "html and css": '<span style="font-size:60px;position:absolute">WARNING</span>' * 20,
        "deceptive link": "[https://lndesk.org/recover](http://evil.example/) " * 50,
        "16,000-column table": "|" + "a|" * 16_000 + "\n|" + "-|" * 16_000 + "\n",
        "huge headings": "\n\n".join(["# HUGE HEADING"] * 500),
        "10,000 list items": "".join(f"- item {i}\n" for i in range(10_000)),
        "nested quotes": ">" * 2_000 + " deep",
        "nested lists": "".join("  " * i + f"- level {i}\n" for i in range(60)),
        "rtl overrides": "\u202eeciluJ\u202c שלום مرحبا " * 300,
        "combining tower": "Z" + "\u0301" * 30_000,
        "30,000-character word": "x" * 30_000,
    }


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def items(texts: dict[str, str], count: int) -> list[tuple[str, PostItem]]:
    names = list(texts)
    made = []
    for n in range(count):
        name = names[n % len(names)]
        text = texts[name]
        common: dict[str, Any] = {
            "id": n.to_bytes(32, "big"),
            "author": b"\x04" * 32,
            "seq": n + 1,
            "author_name": "Mal<img src=/dev/zero>",
            "short_key": "lnd1bench",
            "tags": (),
            "links": (),
            "claimed_ms": 1,
            "cursor": (1, 1, n),
            "mine": False,
        }
        if n % 3 == 1:
            quoted = Quoted(b"q" * 32, "Cy", text, b"i" * 32, 1)
            made.append((name, PostItem(kind="share", text="", quoted=quoted, **common)))
        elif n % 3 == 2:
            entry = ListEntry(title="", note=text[:1000], link="https://example.org/")
            made.append(
                (name, PostItem(kind="readinglist", text="L", list_items=(entry,), **common))
            )
        else:
            made.append((name, PostItem(kind="post", text=text[:60_000], **common)))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--posts", type=int, default=1_000, help="posts drawn (1000)")
    parser.add_argument("--quick", action="store_true", help="100 posts")
    args = parser.parse_args()
    count = 100 if args.quick else args.posts
    offscreen()
    import tempfile  # noqa: PLC0415

    from PySide6.QtCore import (  # noqa: PLC0415 - Qt after the platform is chosen
        QAbstractListModel,
        QModelIndex,
        QPersistentModelIndex,
        Qt,
    )
    from PySide6.QtGui import QImage, QPainter  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication, QListView, QStyleOptionViewItem  # noqa: PLC0415

    from lndesk.ui.models.live import ItemRole  # noqa: PLC0415
    from lndesk.ui.views.post_delegate import PostDelegate  # noqa: PLC0415

    class Posts(QAbstractListModel):
        def __init__(self, rows: list[PostItem]) -> None:
            super().__init__()
            self.rows = rows

        def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
            return len(self.rows)

        def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
            if role == ItemRole:
                return self.rows[index.row()]
            if role == Qt.ItemDataRole.DisplayRole:
                return self.rows[index.row()].text
            return None

    app = QApplication.instance() or QApplication(["bench"])
    rss_start = peak_rss_mb()
    with tempfile.TemporaryDirectory(prefix="lndesk-hostile-") as tmp:
        local = Path(tmp) / "local.png"
        local.write_bytes(_png(64, 64))
        texts = cases(local)
        made = items(texts, count)
        model = Posts([item for _name, item in made])
        view = QListView()
        view.resize(1100, 760)
        view.setModel(model)
        delegate = PostDelegate(view)  # not the view's: only the clocked calls use it
        view.show()
        app.processEvents()
        image = QImage(1100, 2000, QImage.Format.Format_ARGB32)
        layout: dict[str, list[float]] = defaultdict(list)
        paint: dict[str, list[float]] = defaultdict(list)
        for row, (name, _item) in enumerate(made):
            index = model.index(row)
            option = QStyleOptionViewItem()
            option.initFrom(view)
            option.rect = view.visualRect(index)
            option.rect.setWidth(view.viewport().width())
            start = time.perf_counter()
            size = delegate.sizeHint(option, index)
            layout[name].append(time.perf_counter() - start)
            option.rect.setHeight(size.height())
            painter = QPainter(image)
            start = time.perf_counter()
            delegate.paint(painter, option, index)
            paint[name].append(time.perf_counter() - start)
            painter.end()
        rss_end = peak_rss_mb()
        docs = len(delegate._docs)
        chars = sum(doc.characterCount() for doc in delegate._docs.values())
    rows = []
    for name in texts:
        rows.append(
            (
                name,
                str(len(layout[name])),
                ms(max(layout[name])),
                ms(max(paint[name])),
            )
        )
    print_table(
        f"Hostile posts drawn by the card delegate ({count} posts)",
        ("case", "posts", "worst layout ms", "worst paint ms"),
        rows,
    )
    every_layout = [t for times in layout.values() for t in times]
    every_paint = [t for times in paint.values() for t in times]
    print_table(
        "summary",
        ("figure", "value"),
        [
            ("worst layout (sizeHint)", f"{ms(max(every_layout))} ms"),
            ("p99 layout", f"{ms(percentile(every_layout, 99))} ms"),
            ("worst paint", f"{ms(max(every_paint))} ms"),
            ("p99 paint", f"{ms(percentile(every_paint, 99))} ms"),
            ("peak RSS before drawing", f"{rss_start:.0f} MB"),
            ("peak RSS after drawing", f"{rss_end:.0f} MB"),
            ("documents cached / characters", f"{docs} / {chars:,}"),
        ],
    )


if __name__ == "__main__":
    main()
