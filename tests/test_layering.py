"""The layers of lndesk and its import rules (stated and checked in ``layer_rules``).

The real tree must keep every rule; each rule is shown to fail on a small package tree
written into a temporary directory that breaks exactly that rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from layer_rules import PUBLISHED, RULES, Problem, check_tree, layer_of, read_tree

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "lndesk"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """``files`` (module name -> source; a name ending in ``/`` is a package's
    ``__init__``) as an ``lndesk`` package under ``root``, with every package's
    ``__init__.py``."""
    package_dir = root / "lndesk"
    for module, source in files.items():
        is_package = module.endswith("/")
        parts = module.rstrip("/").split(".")
        path = package_dir.parent.joinpath(*parts)
        path = path / "__init__.py" if is_package else path.with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    for directory in [package_dir, *(p for p in package_dir.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    return package_dir


def problems_in(tmp_path: Path, files: dict[str, str]) -> list[Problem]:
    return check_tree(write_tree(tmp_path, files))


def only_problem(tmp_path: Path, files: dict[str, str], kind: str) -> Problem:
    found = problems_in(tmp_path, files)
    assert len(found) == 1, [str(p) for p in found]
    assert found[0].kind == kind, str(found[0])
    return found[0]


# --- the real tree -------------------------------------------------------------------


def test_modules_were_found() -> None:
    modules = read_tree(PACKAGE_DIR)
    assert len(modules) >= 10
    for expected in ("lndesk", "lndesk.canonical", "lndesk.entry", "lndesk.store.store"):
        assert expected in modules
    for door, origin in PUBLISHED.items():
        assert door in modules and origin in modules, "a published door names a lost module"
    layers = {layer_of(m.name, m.is_package) for m in modules.values()}
    assert layers == set(RULES)


@pytest.fixture(scope="module")
def tree_problems() -> list[Problem]:
    return check_tree(PACKAGE_DIR)


@pytest.mark.parametrize("kind", ["layer", "re-export", "published", "cycle"])
def test_the_tree_keeps_the_rules(tree_problems: list[Problem], kind: str) -> None:
    problems = [str(p) for p in tree_problems if p.kind == kind]
    assert not problems, f"{kind} problems:\n  " + "\n  ".join(problems)


# --- layers: what each may import --------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("lndesk.fake", "import PySide6.QtWidgets"),
        ("lndesk.fake", "from shiboken6 import isValid"),
        ("lndesk.fake", "import libp2p"),
        ("lndesk.fake", "import trio"),
        ("lndesk.fake", "import sqlite3 as db"),
        ("lndesk.fake", "from lndesk.store.store import Store"),
        ("lndesk.fake", "from lndesk import store"),
        ("lndesk.fake", "from . import p2p"),
        ("lndesk.fake", "from .cli.main import main"),
        ("lndesk/", "from .app import service"),
        ("lndesk.fake", "def f():\n    import lndesk.ui.window\n"),
        ("lndesk.fake", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import trio\n"),
        ("lndesk.store.fake", "from lndesk.p2p.node import Node"),
        ("lndesk.store.fake", "from ..p2p import node"),
        ("lndesk.store.fake", "class A:\n    def m(self):\n        import libp2p\n"),
        ("lndesk.store.fake", "import trio"),
        ("lndesk.store.fake", "def wait():\n    from trio import sleep\n"),
        ("lndesk.store/", "from ..app.service import Service"),
        ("lndesk.p2p.fake", "from lndesk.store.store import Store"),
        ("lndesk.p2p.fake", "from ..store import index"),
        ("lndesk.p2p.fake", "import PySide6"),
        ("lndesk.p2p.fake", "import sqlite3"),
        ("lndesk.store.fake", "import feedparser"),
        ("lndesk.feeds.fake", "from lndesk.store.feedstore import FeedStore"),
        (
            "lndesk.p2p.fake",
            "try:\n    from lndesk.cli import main\nexcept ImportError:\n    pass\n",
        ),
        ("lndesk.app.fake", "from lndesk.ui.window import MainWindow"),
        ("lndesk.app.fake", "from ..cli.main import main"),
        ("lndesk.app.fake", "from PySide6.QtCore import QObject"),
        ("lndesk.cli.fake", "from lndesk.ui.window import MainWindow"),
        ("lndesk.cli.fake", "from ..ui import window"),
        ("lndesk.cli.fake", "if True:\n    import lndesk.ui\n"),
        ("lndesk.cli.fake", "class C:\n    import lndesk.ui\n"),
        ("lndesk.cli.fake", "from lndesk.store.index import FeedState"),
        ("lndesk.cli.fake", "from lndesk.p2p.events import PeerConnected"),
        ("lndesk.cli.fake", "def f():\n    from lndesk.p2p.node import parse_peer_address\n"),
        (
            "lndesk.cli.fake",
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from lndesk.store import store\n",
        ),
        ("lndesk.cli.fake", "import sqlite3"),
        ("lndesk.cli.fake", "def gui():\n    from PySide6.QtWidgets import QApplication\n"),
        ("lndesk.ui.fake", "from lndesk.store.views import page"),
        ("lndesk.ui.fake", "def f():\n    import trio\n"),
        ("lndesk.__main__", "from lndesk.ui.window import run"),
    ],
)
def test_a_forbidden_import_is_reported(tmp_path: Path, module: str, source: str) -> None:
    problem = only_problem(tmp_path, {module: source}, "layer")
    assert problem.text.startswith(module.rstrip("/") + " imports ")


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("lndesk.store.fake", "import importlib\nimportlib.import_module('trio')"),
        ("lndesk.p2p.fake", "from importlib import import_module\nimport_module('sqlite3')"),
        ("lndesk.ui.fake", "def f():\n    return __import__('lndesk.store.store')\n"),
        ("lndesk.fake", "import importlib\nimportlib.import_module('.store.store', 'lndesk')"),
        ("lndesk.cli.fake", "import importlib as il\nil.import_module('.p2p', package='lndesk')"),
        ("lndesk.app.fake", "import builtins\nbuiltins.__import__('PySide6.QtCore')"),
    ],
)
def test_an_import_by_importlib_is_reported(tmp_path: Path, module: str, source: str) -> None:
    problem = only_problem(tmp_path, {module: source}, "layer")
    assert problem.text.startswith(module + " imports ")


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("lndesk.fake", "import cbor2\nfrom lndesk.errors import LndeskError"),
        ("lndesk.fake", "from . import canonical\nfrom .entry import Entry"),
        ("lndesk.fake", "import triomphe\nimport libp2pish\nimport sqlite3x"),
        ("lndesk.fake", "# import PySide6\ntext = 'import trio'"),
        ("lndesk.store.fake", "import sqlite3\nfrom .index import Index"),
        ("lndesk.store.fake", "from ..entry import Entry\nfrom lndesk import canonical"),
        ("lndesk.p2p.fake", "import trio\nimport libp2p\nfrom ..entry import Entry"),
        (
            "lndesk.app.fake",
            "import sqlite3\nfrom lndesk.store.store import Store\nfrom ..p2p import node",
        ),
        ("lndesk.cli.fake", "import trio\nfrom lndesk.app.service import Service"),
        ("lndesk.cli.fake", "def gui():\n    from lndesk.ui.window import run\n    run()\n"),
        ("lndesk.cli.fake", "async def gui():\n    import lndesk.ui\n"),
        (
            "lndesk.cli.fake",
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from lndesk.ui import window\n",
        ),
        ("lndesk.ui.fake", "from PySide6.QtWidgets import QWidget\nimport lndesk.app.desk"),
        ("lndesk.ui.fake", "import importlib\nimportlib.import_module(name)"),
        ("lndesk.ui.fake", "import importlib\nimportlib.import_module('json')"),
        ("lndesk.__main__", "from lndesk.cli.main import main"),
    ],
)
def test_an_allowed_import_passes(tmp_path: Path, module: str, source: str) -> None:
    assert problems_in(tmp_path, {module: source}) == []


def test_a_problem_names_file_and_line(tmp_path: Path) -> None:
    files = {"lndesk.fake": "import os\n\nfrom lndesk.store.store import Store\n"}
    (found,) = problems_in(tmp_path, files)
    assert str(found).startswith("lndesk/fake.py:3: lndesk.fake imports lndesk.store")


def test_a_subpackage_in_no_layer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="no layer"):
        problems_in(tmp_path, {"lndesk.mystery.thing": "import os"})


def test_layer_assignment() -> None:
    assert layer_of("lndesk", True) == "core"
    assert layer_of("lndesk.entry", False) == "core"
    assert layer_of("lndesk.store", True) == "store"
    assert layer_of("lndesk.store.index", False) == "store"
    assert layer_of("lndesk.cli.main", False) == "cli"
    assert layer_of("lndesk.__main__", False) == "cli"


# --- re-exports ----------------------------------------------------------------------------

FROM_THE_NETWORK = {
    "lndesk.p2p.events": "class PeerLost:\n    pass\n",
    "lndesk.app.door": "from lndesk.p2p.events import PeerLost\n",
}


@pytest.mark.parametrize(
    "reader",
    [
        "from lndesk.app.door import PeerLost",
        "from ..app.door import PeerLost as Lost",
        "from lndesk.app import door\nLOST = door.PeerLost",
        "import lndesk.app.door\nLOST = lndesk.app.door.PeerLost",
        "def f():\n    from lndesk.app.door import PeerLost\n",
        "from lndesk.app.door import *\n",
    ],
)
def test_a_name_taken_through_a_re_export_counts_where_it_comes_from(
    tmp_path: Path, reader: str
) -> None:
    problem = only_problem(tmp_path, {**FROM_THE_NETWORK, "lndesk.ui.view": reader}, "layer")
    assert "imports lndesk.p2p.events" in problem.text
    assert "through lndesk.app.door" in problem.text


def test_a_chain_of_re_exports_is_followed(tmp_path: Path) -> None:
    files = {
        **FROM_THE_NETWORK,
        "lndesk.app.hall": "from .door import PeerLost\n",
        "lndesk.cli.show": "from lndesk.app.hall import PeerLost\n",
    }
    problem = only_problem(tmp_path, files, "layer")
    assert problem.where == "lndesk/cli/show.py"
    assert "lndesk.p2p.events" in problem.text


@pytest.mark.parametrize(
    "door",
    [
        "from lndesk.store.store import Store\n__all__ = ['Store']\n",
        "from lndesk.p2p.node import Node as Node\n",
        "from ..p2p import node\n__all__ = ('node',)\n",
    ],
)
def test_re_exporting_what_the_readers_may_not_import_is_reported(
    tmp_path: Path, door: str
) -> None:
    problem = only_problem(tmp_path, {"lndesk.app.door": door}, "re-export")
    assert problem.text.startswith("lndesk.app.door re-exports ")


def test_re_exports_the_readers_may_import_pass(tmp_path: Path) -> None:
    files = {
        "lndesk.content": "class Post:\n    pass\n",
        "lndesk.app.door": "from lndesk.content import Post\n__all__ = ['Post']\n",
        "lndesk.ui.view": "from lndesk.app.door import Post\n",
        "lndesk.store.shelf": "from ..content import Post as Post\n",
        "lndesk.ui.live": "class Role:\n    pass\n",
        "lndesk.ui.list": "from .live import Role\n__all__ = ['Role']\n",
    }
    assert problems_in(tmp_path, files) == []


def test_the_published_door_passes_the_node_events_on(tmp_path: Path) -> None:
    ((door, origin),) = PUBLISHED.items()
    files = {
        origin: "from dataclasses import dataclass\n\nclass PeerLost:\n    pass\n",
        door: f"from {origin} import PeerLost\n__all__ = ['PeerLost']\n",
        "lndesk.ui.view": f"from {door} import PeerLost\n",
        "lndesk.cli.show": f"from {door.rpartition('.')[0]} import events\nX = events.PeerLost\n",
    }
    assert problems_in(tmp_path, files) == []


def test_the_published_door_must_not_drag_in_what_its_readers_may_not_import(
    tmp_path: Path,
) -> None:
    ((door, origin),) = PUBLISHED.items()
    files = {
        origin: "import trio\n\nclass PeerLost:\n    pass\n",
        door: f"from {origin} import PeerLost\n__all__ = ['PeerLost']\n",
    }
    problem = only_problem(tmp_path, files, "published")
    assert f"{origin} imports trio" in problem.text


def test_only_the_published_module_passes_through_the_door(tmp_path: Path) -> None:
    ((door, _origin),) = PUBLISHED.items()
    files = {door: "from lndesk.p2p.node import Node\n__all__ = ['Node']\n"}
    only_problem(tmp_path, files, "re-export")


# --- cycles inside a package ------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        {"lndesk.store.a": "from lndesk.store import b\n", "lndesk.store.b": "from .a import X\n"},
        {
            "lndesk.store.a": "from .b import f\n",
            "lndesk.store.b": "def g():\n    from .a import h  # dodging the cycle\n",
        },
        {
            "lndesk.app.a": "from .b import B\n",
            "lndesk.app.b": "from .c import C\n",
            "lndesk.app.c": "import importlib\nimportlib.import_module('lndesk.app.a')\n",
        },
        {"lndesk.x": "import lndesk.y\n", "lndesk.y": "from lndesk.x import X\n"},
        {
            "lndesk.ui/": "from .window import run\n",
            "lndesk.ui.window": "from lndesk.ui import t\n",
        },
    ],
)
def test_an_import_cycle_inside_a_package_is_reported(
    tmp_path: Path, files: dict[str, str]
) -> None:
    problem = only_problem(tmp_path, files, "cycle")
    assert problem.text.startswith("import cycle in ")
    for module in files:
        assert module.rstrip("/") in problem.text


@pytest.mark.parametrize(
    "files",
    [
        {
            "lndesk.store.a": "from .b import f\n",
            "lndesk.store.b": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from .a import A\n",
        },
        {"lndesk.store.a": "from .b import f\n", "lndesk.store.b": "from .c import g\n"},
        {"lndesk.store.a": "from ..entry import Entry\n", "lndesk.entry": "import hashlib\n"},
    ],
)
def test_imports_without_a_cycle_pass(tmp_path: Path, files: dict[str, str]) -> None:
    assert problems_in(tmp_path, files) == []
