"""The Search screen's filters: by whom, tag, type, and from and to which day.

:class:`SearchFilters` is the bar of filter fields under the query; with the query's
words they make a :class:`~lndesk.app.items.SearchQuery`, one search as the fields say
it. A date field reads "any" until a day is chosen (:class:`OptionalDateEdit`).
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QDateTime, QEvent, QObject, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDateEdit,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from lndesk.app.desk_webitems import WEB_ITEM
from lndesk.app.items import AuthorItem, SearchQuery
from lndesk.search_query import ANSWERED_QUESTIONS, OPEN_QUESTIONS
from lndesk.ui.models.search import TagsModel
from lndesk.ui.plain_text import plain_tooltip
from lndesk.ui.views.widgets import bare_column, field_label

__all__ = [
    "NO_DATE",
    "TYPES",
    "OptionalDateEdit",
    "SearchFilters",
    "day_start_ms",
]

NO_DATE = QDate(2000, 1, 1)
"""The date filters' "any": their minimum, shown as the word."""
TYPES = (
    ("Any type", None),
    ("Posts", "post"),
    ("Replies", "reply"),
    ("Shares", "share"),
    ("Reading lists", "readinglist"),
    ("Open questions", OPEN_QUESTIONS),
    ("Answered questions", ANSWERED_QUESTIONS),
    ("Web feed items", WEB_ITEM),
)


class OptionalDateEdit(QDateEdit):
    """A date field whose lowest value reads "any" (no limit).

    Stepping up from "any" starts at today rather than at the minimum, and the calendar
    opens on this month; "Clear filters" (or stepping down to the minimum) sets it back
    to "any"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumDate(NO_DATE)
        self.setMaximumDate(QDate(9999, 12, 31))
        self.setSpecialValueText("any")
        self.setDisplayFormat("yyyy-MM-dd")
        self.setCalendarPopup(True)
        self.setDate(NO_DATE)
        self.calendarWidget().installEventFilter(self)

    def value(self) -> QDate | None:
        """The date chosen, or None for "any"."""
        date = self.date()
        return None if date == self.minimumDate() else date

    def set_value(self, date: QDate | None) -> None:
        self.setDate(self.minimumDate() if date is None else date)

    def stepBy(self, steps: int) -> None:
        if self.value() is None and steps > 0:
            self.setDate(QDate.currentDate())
            return
        super().stepBy(steps)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and self.value() is None:
            today = QDate.currentDate()
            self.calendarWidget().setCurrentPage(today.year(), today.month())
        return super().eventFilter(watched, event)


def day_start_ms(date: QDate) -> int:
    return int(QDateTime(date, QTime(0, 0)).toMSecsSinceEpoch())


class SearchFilters(QWidget):
    """The filter fields, in two rows so that the screen still fits a narrow window: by
    whom, tag and type; from and to which day, and "Clear filters"."""

    edited = Signal()
    """Something is being typed into a field (search once the typing pauses)."""
    changed = Signal()
    """A choice was made, Enter pressed or the filters cleared (search at once)."""

    def __init__(self, tags: TagsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.author = QComboBox()
        self.author.addItem("Anyone", None)
        self.author.setToolTip("Only posts by this person")
        self.tag = QLineEdit()
        self.tag.setPlaceholderText("any tag")
        self.tag.setClearButtonEnabled(True)
        completer = QCompleter(tags, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionRole(Qt.ItemDataRole.EditRole)
        self.tag.setCompleter(completer)
        self.type = QComboBox()
        for label, value in TYPES:
            self.type.addItem(label, value)
        self.since = OptionalDateEdit()
        self.since.setToolTip("Only posts from this day on")
        self.until = OptionalDateEdit()
        self.until.setToolTip("Only posts up to this day")
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(self.clear)

        self.tag.textChanged.connect(lambda _t: self.edited.emit())
        self.tag.returnPressed.connect(self.changed)
        for combo in (self.author, self.type):
            combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        for field in (self.since, self.until):
            field.dateChanged.connect(lambda _d: self.edited.emit())
        self._layout()

    def _layout(self) -> None:
        who, when = QHBoxLayout(), QHBoxLayout()
        for row, label, widget in (
            (who, "&By", self.author),
            (who, "T&ag", self.tag),
            (who, "T&ype", self.type),
            (when, "Fro&m", self.since),
            (when, "&To", self.until),
        ):
            row.addWidget(field_label(label, widget))
            row.addWidget(widget, 1 if widget is self.tag else 0)
        when.addWidget(self.clear_button)
        when.addStretch(1)
        rows = bare_column(self)
        rows.addLayout(who)
        rows.addLayout(when)

    def params(self, text: str) -> SearchQuery:
        """The search for ``text`` that the filters describe now."""
        since, until = self.since.value(), self.until.value()
        type_ = self.type.currentData()
        author = self.author.currentData()
        tag = self.tag.text().strip().lstrip("#").strip()
        return SearchQuery(
            text=text,
            author=bytes.fromhex(author) if isinstance(author, str) else None,
            tag=tag or None,
            type=type_ if isinstance(type_, str) else None,
            since_ms=day_start_ms(since) if since is not None else None,
            until_ms=day_start_ms(until.addDays(1)) - 1 if until is not None else None,
        )

    def clear(self) -> None:
        """Every filter back to "any" (then one search, not one per field)."""
        fields = (self.author, self.type, self.tag, self.since, self.until)
        for field in fields:
            field.blockSignals(True)
        try:
            self.author.setCurrentIndex(0)
            self.type.setCurrentIndex(0)
            self.tag.clear()
            self.since.set_value(None)
            self.until.set_value(None)
        finally:
            for field in fields:
                field.blockSignals(False)
        self.changed.emit()

    # --- the author filter -------------------------------------------------------------

    def set_authors(self, own: bytes, authors: list[AuthorItem]) -> None:
        """Offer me and ``authors`` (the people I follow); if the one chosen is no longer
        among them, the filter is "Anyone" again (and says it changed)."""
        current = self.author.currentData()
        self.author.blockSignals(True)
        try:
            self.author.clear()
            self.author.addItem("Anyone", None)
            # keys as hex: QComboBox.findData does not reliably match arbitrary bytes
            self.author.addItem("Me", own.hex())
            for author in authors:
                self.author.addItem(author.name, author.key.hex())
                self.author.setItemData(
                    self.author.count() - 1,
                    plain_tooltip(author.key_text),
                    Qt.ItemDataRole.ToolTipRole,
                )
            found = self.author.findData(current)
            self.author.setCurrentIndex(max(0, found))
        finally:
            self.author.blockSignals(False)
        if current is not None and self.author.currentData() != current:
            self.changed.emit()

    def select_author(self, key: bytes | None) -> bool:
        """Filter by ``key`` (None: anyone), if it is in the list; whether it was."""
        found = self.author.findData(key.hex() if key is not None else None)
        if found < 0:
            return False
        self.author.setCurrentIndex(found)
        return True
