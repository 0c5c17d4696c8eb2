"""The layers of lndesk, checked by reading the source (nothing is imported).

core (``lndesk/*.py``)  <-  store, p2p  <-  app  <-  cli, ui

* core knows nothing of storage, networking, Qt or the front ends;
* the store knows nothing of the network or the front ends;
* the network knows nothing of the store (the app wires them together) or the front ends;
* the app knows nothing of the front ends;
* the CLI may start the desktop UI, but only lazily (inside a function), so that
  plain commands never load Qt.

``lndesk/__main__.py`` is the ``python -m lndesk`` entry point and belongs to the CLI.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "lndesk"
QT = ("PySide6", "shiboken6")
FRONT_ENDS = ("lndesk.ui", "lndesk.app", "lndesk.cli")
WEB = ("lndesk.feeds", "feedparser", "listparser", "httpx")  # web feeds: below app only


@dataclass(frozen=True)
class Rule:
    forbidden: tuple[str, ...]
    lazy_allowed: bool = False  # imports inside functions are exempt
    why: str = ""


RULES: dict[str, Rule] = {
    "core": Rule(
        (*QT, "libp2p", "trio", "sqlite3", "lndesk.store", "lndesk.p2p", *FRONT_ENDS, *WEB),
        why="core modules are pure: no storage, networking, Qt or front ends",
    ),
    "store": Rule(
        ("lndesk.p2p", *FRONT_ENDS, *QT, "libp2p", *WEB),
        why="the store must not depend on the network, Qt or the front ends",
    ),
    "p2p": Rule(
        ("lndesk.store", *FRONT_ENDS, *QT, *WEB),
        why="the network layer must not depend on the store (the app wires them) or on Qt",
    ),
    "feeds": Rule(
        ("lndesk.store", "lndesk.p2p", *FRONT_ENDS, *QT, "libp2p"),
        why="web feeds know nothing of the store, the peers' network or the front ends",
    ),
    "app": Rule(
        ("lndesk.ui", "lndesk.cli", *QT),
        why="the application service must not depend on a front end or Qt",
    ),
    "cli": Rule(
        ("lndesk.ui", *QT),
        lazy_allowed=True,
        why="the CLI may load the desktop UI only lazily, inside a function",
    ),
    "ui": Rule(
        ("lndesk.store", "lndesk.p2p", "lndesk.cli", "libp2p", "trio", "sqlite3"),
        why="the desktop UI reaches the store and the network only through the app layer "
        "(lndesk.app: the desk, on the node thread, via lndesk.ui.bridge)",
    ),
}
SUBPACKAGE_LAYERS = {"store", "p2p", "feeds", "app", "cli", "ui"}


@dataclass(frozen=True)
class ImportSite:
    targets: tuple[str, ...]
    line: int
    lazy: bool


def layer_of(module: str, is_package: bool) -> str:
    parts = module.split(".")
    if module == "lndesk.__main__":
        return "cli"
    if len(parts) == 1 or (len(parts) == 2 and not is_package):
        return "core"
    if parts[1] in SUBPACKAGE_LAYERS:
        return parts[1]
    raise AssertionError(
        f"{module} is in no layer: add lndesk.{parts[1]} to SUBPACKAGE_LAYERS and RULES "
        "in tests/test_layering.py"
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_sites(module: str, is_package: bool, source: str) -> list[ImportSite]:
    """Every import statement of ``source`` with the absolute module names it loads."""
    package = module if is_package else module.rpartition(".")[0]
    sites: list[ImportSite] = []

    def resolve(node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        base = package.split(".")
        if node.level - 1 > len(base) - 1:
            raise AssertionError(f"{module}: relative import beyond the lndesk package")
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                names = tuple(alias.name for alias in child.names)
                sites.append(ImportSite(names, child.lineno, lazy))
            elif isinstance(child, ast.ImportFrom):
                base = resolve(child)
                names = tuple(f"{base}.{a.name}" for a in child.names if a.name != "*")
                sites.append(ImportSite((base, *names), child.lineno, lazy))
            child_lazy = lazy or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), True)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), lazy)
                continue
            visit(child, child_lazy)

    visit(ast.parse(source), False)
    return sites


def _matches(target: str, forbidden: str) -> bool:
    return target == forbidden or target.startswith(forbidden + ".")


def violations(module: str, is_package: bool, source: str, where: str = "") -> list[str]:
    rule = RULES[layer_of(module, is_package)]
    found = []
    for site in import_sites(module, is_package, source):
        if site.lazy and rule.lazy_allowed:
            continue
        for forbidden in rule.forbidden:
            hit = next((t for t in site.targets if _matches(t, forbidden)), None)
            if hit is not None:
                found.append(
                    f"{where or module}:{site.line}: {module} imports {hit} "
                    f"({rule.why}; {forbidden} is off limits)"
                )
                break
    return found


def scanned_modules() -> list[tuple[str, bool, Path]]:
    modules = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
        parts = list(relative.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules.append((".".join(parts), is_package, path))
    return modules


# --- the real tree -------------------------------------------------------------------


def test_modules_were_found() -> None:
    names = {name for name, _, _ in scanned_modules()}
    assert len(names) >= 10
    for expected in ("lndesk", "lndesk.canonical", "lndesk.entry", "lndesk.store.store"):
        assert expected in names
    layers = {layer_of(name, pkg) for name, pkg, _ in scanned_modules()}
    assert {"core", "store"} <= layers


def test_layers_are_respected() -> None:
    problems: list[str] = []
    for module, is_package, path in scanned_modules():
        where = str(path.relative_to(PACKAGE_DIR.parent))
        problems += violations(module, is_package, path.read_text(encoding="utf-8"), where)
    assert not problems, "layering violations:\n  " + "\n  ".join(problems)


# --- the checker itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "is_package", "source"),
    [
        ("lndesk.fake", False, "import PySide6.QtWidgets"),
        ("lndesk.fake", False, "from shiboken6 import isValid"),
        ("lndesk.fake", False, "import libp2p"),
        ("lndesk.fake", False, "import trio"),
        ("lndesk.fake", False, "import sqlite3 as db"),
        ("lndesk.fake", False, "from lndesk.store.store import Store"),
        ("lndesk.fake", False, "from lndesk import store"),
        ("lndesk.fake", False, "from . import p2p"),
        ("lndesk.fake", False, "from .cli.main import main"),
        ("lndesk", True, "from .app import service"),
        ("lndesk.fake", False, "def f():\n    import lndesk.ui.window\n"),
        (
            "lndesk.fake",
            False,
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import trio\n",
        ),
        ("lndesk.store.fake", False, "from lndesk.p2p.node import Node"),
        ("lndesk.store.fake", False, "from ..p2p import node"),
        ("lndesk.store.fake", False, "class A:\n    def m(self):\n        import libp2p\n"),
        ("lndesk.store", True, "from ..app.service import Service"),
        ("lndesk.p2p.fake", False, "from lndesk.store.store import Store"),
        ("lndesk.p2p.fake", False, "from ..store import index"),
        ("lndesk.p2p.fake", False, "import PySide6"),
        (
            "lndesk.p2p.fake",
            False,
            "try:\n    from lndesk.cli import main\nexcept ImportError:\n    pass\n",
        ),
        ("lndesk.store.fake", False, "import feedparser"),
        ("lndesk.feeds.fake", False, "from lndesk.store.feedstore import FeedStore"),
        ("lndesk.app.fake", False, "from lndesk.ui.window import MainWindow"),
        ("lndesk.app.fake", False, "from ..cli.main import main"),
        ("lndesk.app.fake", False, "from PySide6.QtCore import QObject"),
        ("lndesk.cli.fake", False, "from lndesk.ui.window import MainWindow"),
        ("lndesk.ui.fake", False, "from lndesk.store.views import page"),
        ("lndesk.ui.fake", False, "def f():\n    import trio\n"),
        ("lndesk.cli.fake", False, "from ..ui import window"),
        ("lndesk.cli.fake", False, "if True:\n    import lndesk.ui\n"),
        ("lndesk.cli.fake", False, "class C:\n    import lndesk.ui\n"),
        ("lndesk.__main__", False, "from lndesk.ui.window import run"),
    ],
)
def test_checker_flags_bad_imports(module: str, is_package: bool, source: str) -> None:
    found = violations(module, is_package, source)
    assert len(found) == 1, found
    assert module in found[0]


@pytest.mark.parametrize(
    ("module", "is_package", "source"),
    [
        ("lndesk.fake", False, "import cbor2\nfrom lndesk.errors import LndeskError"),
        ("lndesk.fake", False, "from . import canonical\nfrom .entry import Entry"),
        ("lndesk.fake", False, "import triomphe\nimport libp2pish\nimport sqlite3x"),
        ("lndesk.fake", False, "# import PySide6\ntext = 'import trio'"),
        ("lndesk.store.fake", False, "import sqlite3\nfrom .index import Index\nimport trio"),
        ("lndesk.store.fake", False, "from ..entry import Entry\nfrom lndesk import canonical"),
        ("lndesk.p2p.fake", False, "import trio\nimport libp2p\nfrom ..entry import Entry"),
        ("lndesk.app.fake", False, "from lndesk.store.store import Store\nfrom ..p2p import node"),
        ("lndesk.cli.fake", False, "from lndesk.app.service import Service"),
        ("lndesk.cli.fake", False, "def gui():\n    from lndesk.ui.window import run\n    run()\n"),
        ("lndesk.cli.fake", False, "async def gui():\n    import lndesk.ui\n"),
        (
            "lndesk.cli.fake",
            False,
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from lndesk.ui import window\n",
        ),
        ("lndesk.ui.fake", False, "from PySide6.QtWidgets import QWidget\nimport lndesk.app.desk"),
        ("lndesk.__main__", False, "from lndesk.cli.main import main"),
    ],
)
def test_checker_allows_good_imports(module: str, is_package: bool, source: str) -> None:
    assert violations(module, is_package, source) == []


def test_checker_reports_file_and_line() -> None:
    source = "import os\n\nfrom lndesk.store.store import Store\n"
    (found,) = violations("lndesk.fake", False, source, "lndesk/fake.py")
    assert found.startswith("lndesk/fake.py:3: lndesk.fake imports lndesk.store")


def test_unknown_subpackage_must_be_placed_in_a_layer() -> None:
    with pytest.raises(AssertionError, match="no layer"):
        violations("lndesk.mystery.thing", False, "import os")


def test_layer_assignment() -> None:
    assert layer_of("lndesk", True) == "core"
    assert layer_of("lndesk.entry", False) == "core"
    assert layer_of("lndesk.store", True) == "store"
    assert layer_of("lndesk.store.index", False) == "store"
    assert layer_of("lndesk.cli.main", False) == "cli"
    assert layer_of("lndesk.__main__", False) == "cli"
