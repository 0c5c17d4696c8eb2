"""The "Add to reading list…" action for a post anywhere in the app: a menu of my reading
lists, and "New list…" (:func:`choose_list_and_add`). An item of a web feed goes in as a
link, its title as the note."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QTimer, Signal
from PySide6.QtGui import QAction, QCursor
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget
from shiboken6 import isValid

from lndesk.app.desk import Desk
from lndesk.app.desk_webitems import WEB_ITEM
from lndesk.app.items import ListEntry, PostItem
from lndesk.entry_refs import PostKey, Ref, ref_of
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text
from lndesk.ui.models.lists import ListKey, list_key, one_line

__all__ = ["AddToListMenu", "choose_list_and_add"]


class AddToListMenu(QMenu):
    """My reading lists, to add a post to one (or to a new one). Made by
    :func:`choose_list_and_add`; it fills itself once the desk has answered."""

    loaded = Signal()
    """My lists are in the menu."""
    added = Signal(int)
    """The post was added: the seq of the list's new state."""
    failed = Signal(str)

    def __init__(self, bridge: Bridge, post: PostItem | PostKey, parent: QWidget | None) -> None:
        super().__init__("Add to reading list", parent)
        self.bridge = bridge
        self.web_item: int | None = None
        """The item of a web feed to add (as a link), or None: a post."""
        self.link: str | None = None
        if isinstance(post, PostItem):
            self.post_key: PostKey = post.post_key
            self.ref: Ref | None = Ref(post.author, post.seq, post.id)
            if post.kind == WEB_ITEM:
                self.web_item, self.ref = post.seq, None
                self.link = post.links[0] if post.links else None
        else:
            self.post_key, self.ref = (post[0], post[1]), None
        self.busy = False
        self.lists: list[PostItem] = []
        loading = self.addAction("Loading your lists…")
        loading.setEnabled(False)
        # Deleted after the hide has run its course (zero delay: an event-loop turn, not time).
        self.aboutToHide.connect(lambda: QTimer.singleShot(0, self, self._maybe_delete))
        bridge.request(
            lambda desk: desk.lists.reading_lists(mine=True), self._set_lists, self._fail
        )

    def _set_lists(self, lists: list[PostItem]) -> None:
        if not isValid(self):
            return
        self.lists = [item for item in lists if item.mine]
        self.clear()
        if not self.lists:
            empty = self.addAction("You have no reading lists yet")
            empty.setEnabled(False)
        for item in self.lists:
            title = one_line(item.text, 60) or "(untitled list)"
            inside = any(self._holds(e) for e in item.list_items)
            # "&" would make the next letter a keyboard accelerator
            text = title.replace("&", "&&") + ("  (already in it)" if inside else "")
            action = self.addAction(text)
            action.setEnabled(not inside)
            post_key = list_key(item)
            action.setData(post_key)
            action.triggered.connect(lambda _=False, k=post_key: self.add_to(k))
        self.addSeparator()
        new = self.addAction("New list…")
        new.triggered.connect(lambda _=False: self.new_list())
        self.loaded.emit()

    def _holds(self, entry: ListEntry) -> bool:
        if self.web_item is not None:
            return self.link is not None and entry.link == self.link
        return entry.ref is not None and (entry.ref[0], entry.ref[1]) == self.post_key

    def list_actions(self) -> list[QAction]:
        """The actions that add the post to one of my lists, in order."""
        return [a for a in self.actions() if isinstance(a.data(), tuple)]

    def add_to(self, of: ListKey) -> None:
        """Append the post to my list ``of`` (its first version's author and seq)."""
        if self.busy:
            return
        self.busy = True
        post_key, web_item = self.post_key, self.web_item
        if web_item is not None:
            self.bridge.request_async(
                lambda desk: desk.lists.add_web_item(of, web_item), self._done, self._fail
            )
            return
        self.bridge.request_async(
            lambda desk: desk.lists.add_to_list(of, post_key), self._done, self._fail
        )

    def new_list(self, title: str | None = None) -> None:
        """Start a new list holding the post (``title`` None: ask for one)."""
        if self.busy:
            return
        self.busy = True  # also keeps the menu while the dialog asks
        if title is None:
            title, ok = QInputDialog.getText(
                self.parentWidget(), "New reading list", "Title of the list:"
            )
            if not ok:
                self.busy = False
                self._maybe_delete()
                return
        title = title.strip()
        if not title:
            self._fail_text("A reading list needs a title.")
            return
        post_key, ref, web_item = self.post_key, self.ref, self.web_item

        async def run(desk: Desk) -> int:
            if web_item is not None:
                entry = desk.lists.web_item_entry(web_item)
                return await desk.lists.publish_list(title, [entry], None)
            target = ref if ref is not None else ref_of(desk.reading.find(post_key).entry)
            return await desk.lists.publish_list(title, [ListEntry("", ref=target)], None)

        self.bridge.request_async(run, self._done, self._fail)

    def _done(self, seq: int) -> None:
        if not isValid(self):
            return
        self.busy = False
        self.added.emit(seq)
        self._maybe_delete()

    def _fail(self, error: BaseException) -> None:
        self._fail_text(error_text(error))

    def _fail_text(self, message: str) -> None:
        if not isValid(self):
            return
        self.busy = False
        self.failed.emit(message)
        self.bridge.error.emit(message)  # the window's status bar says it
        self._maybe_delete()

    def _maybe_delete(self) -> None:
        if isValid(self) and not self.busy and not self.isVisible():
            self.deleteLater()


def choose_list_and_add(
    bridge: Bridge,
    parent: QWidget,
    post: PostItem | PostKey,
    at: QPoint | None = None,
) -> AddToListMenu:
    """The "Add to reading list…" action for ``post`` (a PostItem, or its (author, seq)): pop up a
    menu of my reading lists and "New list…" at ``at`` (default: the mouse pointer).

    It returns at once; the menu fills itself when the desk answers, adds the post to
    the list chosen (a new state of that list) and then goes away. Errors go to
    ``bridge.error`` (the status bar) and the menu's ``failed`` signal; ``added`` says
    it worked."""
    menu = AddToListMenu(bridge, post, parent)
    menu.popup(at if at is not None else QCursor.pos())
    return menu
