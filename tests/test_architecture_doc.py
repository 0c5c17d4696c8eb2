"""docs/architecture.md matches the code, so it cannot go stale without a failing test.

* every path it names in backticks under ``lndesk/``, ``tests/``, ``docs/`` or ``bench/``
  exists (a ``*`` in a path must match at least one file);
* every dotted name ``lndesk.x.y`` it names is a module, or a name a module defines or
  imports (``lndesk.app.node.AppNode.publish``: a method of a class of that module), read
  from the source without importing it;
* every backticked constant or class it names (``INDEX_RULES``, ``Store.publish``,
  ``EntriesStored(via="sync")``) is defined in ``lndesk`` (a ``Class.member`` by a class
  of that name), unless it is one of the few foreign names in :data:`FOREIGN`;
* every package and subpackage of ``lndesk`` is mentioned at least once;
* its table of layers says exactly what ``layer_rules.RULES`` forbids each layer, and
  names every door of ``layer_rules.PUBLISHED``.

The checker is shown to fail on small documents that break each of these.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from layer_rules import PUBLISHED, RULES

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"

_CODE = re.compile(r"`([^`\n]+)`")
_PATH = re.compile(r"^(?:lndesk|tests|docs|bench)/[\w./*-]*$")
_DOTTED = re.compile(r"^lndesk(?:\.\w+)+$")
_NAMED = re.compile(r"(?<![\w./-])(lndesk(?:\.\w+)+)")
_SHORT = re.compile(r"^([A-Z]\w*)(?:\.(\w+))?(?:\(.*\))?$")
FOREIGN = frozenset(
    {"LNDESK_DATA_DIR", "TYPE_CHECKING", "MockClock", "Model", "PySide6", "TrioToken"}
)
"""Names the document uses that lndesk does not define: an environment variable, and
names of Python, trio, Syncthing and Qt."""


def code_spans(text: str) -> list[str]:
    return _CODE.findall(text)


def named_paths(text: str) -> list[str]:
    return [span for span in code_spans(text) if _PATH.match(span)]


def dotted_names(text: str) -> list[str]:
    found = []
    for span in code_spans(text):
        if _DOTTED.match(span):
            found.append(span)
    # Dotted names in plain text and diagrams count too (``lndesk.ui (PySide6)``).
    plain = _CODE.sub(" ", text)
    found += [m.rstrip(".") for m in _NAMED.findall(plain)]
    return list(dict.fromkeys(found))


def path_problem(root: Path, path: str) -> str | None:
    if "*" in path:
        return None if any(root.glob(path)) else f"{path}: matches no file"
    return None if (root / path).exists() else f"{path}: no such file or directory"


def _module_file(root: Path, parts: list[str]) -> Path | None:
    base = root.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _defined(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """Names a module or class body binds: defs, classes, assignments, imports."""
    names: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        names[name.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names[(alias.asname or alias.name).split(".")[0]] = node
        elif isinstance(node, ast.If | ast.Try):
            names |= _defined(node.body)
    return names


def dotted_problem(root: Path, name: str) -> str | None:
    """None if ``name`` is a module of ``root``'s tree, or a name it defines."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        source = _module_file(root, parts[:cut])
        if source is None:
            continue
        body = ast.parse(source.read_text(encoding="utf-8")).body
        for depth, part in enumerate(parts[cut:]):
            node = _defined(body).get(part)
            if node is None:
                where = ".".join(parts[: cut + depth])
                return f"{name}: {where} defines no {part}"
            if isinstance(node, ast.ClassDef):
                body = node.body
            elif depth < len(parts[cut:]) - 1:
                return f"{name}: {part} is not a class, so it has no {parts[cut + depth + 1]}"
        return None
    return f"{name}: no such module"


def packages(root: Path) -> list[str]:
    return sorted(
        ".".join(init.parent.relative_to(root).parts)
        for init in (root / "lndesk").rglob("__init__.py")
    )


def unmentioned_packages(root: Path, text: str) -> list[str]:
    paths = {p.rstrip("/") for p in named_paths(text)}
    dotted = set(dotted_names(text))
    missing = []
    for package in packages(root):
        as_path = package.replace(".", "/")
        mentioned = (
            package in dotted
            or any(p == as_path or p.startswith(as_path + "/") for p in paths)
            or any(d.startswith(package + ".") for d in dotted)
        )
        if not mentioned:
            missing.append(package)
    return missing


@dataclass(frozen=True)
class LayerRow:
    forbidden: frozenset[str]
    lazy_ok: frozenset[str]


def layer_rows(text: str) -> dict[str, LayerRow]:
    """The layer table: rows whose first cell is a backticked layer name."""
    rows: dict[str, LayerRow] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4:
            continue
        first = code_spans(cells[0])
        if len(first) != 1 or first[0] not in RULES or cells[0] != f"`{first[0]}`":
            continue
        rows[first[0]] = LayerRow(frozenset(code_spans(cells[2])), frozenset(code_spans(cells[3])))
    return rows


def layer_problems(text: str) -> list[str]:
    rows = layer_rows(text)
    problems = []
    for layer, rule in RULES.items():
        row = rows.get(layer)
        if row is None:
            problems.append(f"no row for the {layer} layer")
            continue
        if row.forbidden != set(rule.forbidden):
            problems.append(
                f"{layer}: the table forbids {sorted(row.forbidden)}, the rules "
                f"{sorted(rule.forbidden)}"
            )
        if row.lazy_ok != set(rule.lazy_ok):
            problems.append(
                f"{layer}: the table allows {sorted(row.lazy_ok)} inside functions, the "
                f"rules {sorted(rule.lazy_ok)}"
            )
    for layer in set(rows) - set(RULES):
        problems.append(f"the table has a {layer} layer the rules do not")
    dotted = set(dotted_names(text))
    for door, origin in PUBLISHED.items():
        if door not in dotted or origin not in dotted:
            problems.append(f"the door {door} -> {origin} is not named")
    return problems


@dataclass(frozen=True)
class Definitions:
    names: frozenset[str]
    """Every name a module or a class of the tree binds."""
    members: dict[str, frozenset[str]]
    """Class name -> what its classes of that name define, ``self.x`` included."""


def definitions(root: Path) -> Definitions:
    """What ``root``'s ``lndesk`` tree and ``tests/layer_rules.py`` define."""
    names: set[str] = set()
    members: dict[str, set[str]] = {}
    sources = [*(root / "lndesk").rglob("*.py"), root / "tests" / "layer_rules.py"]
    for source in (s for s in sources if s.is_file()):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        names.update(_defined(tree.body))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            own = set(_defined(node.body))
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Attribute)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id == "self"
                    and isinstance(inner.ctx, ast.Store)
                ):
                    own.add(inner.attr)
            names.update(own)
            members.setdefault(node.name, set()).update(own)
    return Definitions(frozenset(names), {k: frozenset(v) for k, v in members.items()})


def short_names(text: str) -> list[tuple[str, str | None]]:
    """Backticked ``NAME``, ``Class``, ``Class.member`` and ``Class(...)`` spans."""
    found = []
    for span in code_spans(text):
        match = _SHORT.match(span)
        if match is not None:
            found.append((match[1], match[2]))
    return list(dict.fromkeys(found))


def short_problem(known: Definitions, name: str, member: str | None) -> str | None:
    if name in FOREIGN:
        return None
    if member is None:
        return None if name in known.names else f"{name}: lndesk defines no such name"
    if name not in known.members:
        return f"{name}.{member}: lndesk has no class {name}"
    if member not in known.members[name]:
        return f"{name}.{member}: no class {name} defines {member}"
    return None


def problems_of(root: Path, text: str) -> list[str]:
    found = [p for path in named_paths(text) if (p := path_problem(root, path))]
    found += [p for name in dotted_names(text) if (p := dotted_problem(root, name))]
    known = definitions(root)
    found += [p for n, m in short_names(text) if (p := short_problem(known, n, m))]
    found += [f"{p}: not mentioned" for p in unmentioned_packages(root, text)]
    return found + layer_problems(text)


# --- the real document ------------------------------------------------------------------


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_named_path_exists(doc: str) -> None:
    paths = named_paths(doc)
    assert len(paths) > 100, "the document should name the modules it describes"
    problems = [p for path in paths if (p := path_problem(ROOT, path))]
    assert not problems, "docs/architecture.md names what is not there:\n  " + "\n  ".join(problems)


def test_every_dotted_name_exists(doc: str) -> None:
    names = dotted_names(doc)
    assert len(names) > 50
    problems = [p for name in names if (p := dotted_problem(ROOT, name))]
    assert not problems, "docs/architecture.md names what is not there:\n  " + "\n  ".join(problems)


def test_every_short_name_exists(doc: str) -> None:
    names = short_names(doc)
    assert len(names) > 30
    known = definitions(ROOT)
    problems = [p for n, m in names if (p := short_problem(known, n, m))]
    assert not problems, "docs/architecture.md names what is not there:\n  " + "\n  ".join(problems)


def test_every_package_is_mentioned(doc: str) -> None:
    assert {"lndesk", "lndesk.store", "lndesk.p2p", "lndesk.ui.models"} <= set(packages(ROOT))
    missing = unmentioned_packages(ROOT, doc)
    assert not missing, f"docs/architecture.md never mentions {missing}"


def test_the_layer_table_is_the_rules(doc: str) -> None:
    problems = layer_problems(doc)
    assert not problems, "docs/architecture.md and tests/layer_rules.py disagree:\n  " + (
        "\n  ".join(problems)
    )


def test_it_stays_readable(doc: str) -> None:
    lines = doc.count("\n")
    assert 250 <= lines <= 450, f"{lines} lines: a map a newcomer reads in minutes"
    for heading in ("Find your room", "Layers", "Threads", "published post", "synced batch"):
        assert heading in doc


# --- the checker fails on a document that breaks a rule ----------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root


TREE = {
    "lndesk/__init__.py": "",
    "lndesk/core.py": "import os\nfrom json import loads as parse\nLIMIT = 3\n",
    "lndesk/store/__init__.py": "",
    "lndesk/store/log.py": (
        "class Log:\n    SIZE: int = 1\n    def append(self) -> None:\n        self.path = 1\n"
        "def scan() -> None: ...\n"
    ),
}
GOOD = """`lndesk/core.py` and `lndesk/store/` hold `lndesk.store.log.Log.append`,
`lndesk.core.parse` and `lndesk.core.LIMIT`; lndesk.store.log.scan runs; `lndesk/store/*.py`;
`LIMIT`, `Log`, `Log.SIZE`, `Log(path)`, `Log.append` and `Log.path`; `TrioToken.run_sync_soon`.
"""


def test_a_document_that_names_what_exists_passes(tmp_path: Path) -> None:
    root = write(tmp_path, TREE)
    assert [p for p in problems_of(root, GOOD) if "layer" not in p and "door" not in p] == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("`lndesk/gone.py`", "lndesk/gone.py: no such file"),
        ("`tests/test_gone.py`", "tests/test_gone.py: no such file"),
        ("`lndesk/store/*.json`", "matches no file"),
        ("`lndesk.gone`", "lndesk.gone: lndesk defines no gone"),
        ("`lndesk.store.log.Gone`", "lndesk.store.log defines no Gone"),
        ("`lndesk.store.log.Log.gone`", "lndesk.store.log.Log defines no gone"),
        ("`lndesk.store.log.scan.inner`", "scan is not a class"),
        ("lndesk.store.log.Lgo, in plain text", "lndesk.store.log defines no Lgo"),
        ("`GONE_LIMIT`", "GONE_LIMIT: lndesk defines no such name"),
        ("`Gone(via=1)`", "Gone: lndesk defines no such name"),
        ("`Log.gone`", "Log.gone: no class Log defines gone"),
        ("`Gone.append`", "Gone.append: lndesk has no class Gone"),
    ],
)
def test_a_stale_name_is_found(tmp_path: Path, text: str, problem: str) -> None:
    root = write(tmp_path, TREE)
    found = problems_of(root, GOOD + text)
    assert any(problem in p for p in found), found


def test_an_unmentioned_package_is_found(tmp_path: Path) -> None:
    root = write(tmp_path, {**TREE, "lndesk/ui/__init__.py": ""})
    assert unmentioned_packages(root, GOOD) == ["lndesk.ui"]
    assert unmentioned_packages(root, GOOD + "`lndesk/ui/`") == []
    assert unmentioned_packages(root, GOOD + "lndesk.ui.bridge") == []


def test_a_layer_table_that_differs_from_the_rules_is_found(doc: str) -> None:
    core = next(line for line in doc.splitlines() if line.startswith("| `core` |"))
    assert layer_problems(doc.replace(core, core.replace("`trio` ", ""))) == [
        f"core: the table forbids {sorted(set(RULES['core'].forbidden) - {'trio'})}, "
        f"the rules {sorted(RULES['core'].forbidden)}"
    ]
    cli = next(line for line in doc.splitlines() if line.startswith("| `cli` |"))
    assert any(
        "inside functions" in p
        for p in layer_problems(doc.replace(cli, cli.rstrip(" |").rsplit("|", 1)[0] + "| |"))
    )
    assert "no row for the ui layer" in layer_problems(
        "\n".join(line for line in doc.splitlines() if not line.startswith("| `ui` |"))
    )
    door = next(iter(PUBLISHED))
    assert any("door" in p for p in layer_problems(doc.replace(door, "lndesk.app")))
