"""Every error lndesk defines, as the app shows it: no developer words, no backticks."""

from __future__ import annotations

import importlib
import pkgutil

from test_words import _words_broken

import lndesk
from lndesk.errors import LndeskError
from lndesk.ui.format import error_text


def _every_error_class() -> list[type[LndeskError]]:
    for module in pkgutil.walk_packages(lndesk.__path__, "lndesk."):
        if module.name != "lndesk.__main__":
            importlib.import_module(module.name)
    found: list[type[LndeskError]] = []
    todo: list[type[LndeskError]] = [LndeskError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("lndesk."):  # not a test's own subclass
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _made(cls: type[LndeskError]) -> LndeskError:
    error = cls.__new__(cls)
    LndeskError.__init__(error, "something happened")  # the class's own hint kept
    return error


def test_every_error_reads_plainly_in_the_app() -> None:
    classes = _every_error_class()
    assert len(classes) > 20
    broken = {
        cls.__qualname__: words
        for cls in classes
        if (words := _words_broken(error_text(_made(cls))))
    }
    assert broken == {}


def test_the_check_sees_a_bad_hint() -> None:
    class Bad(LndeskError):
        default_hint = "Run `lndesk sync` to fetch the payload."

    assert _words_broken(error_text(_made(Bad))) == ["payload", "backtick"]
