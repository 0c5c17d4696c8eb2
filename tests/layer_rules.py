"""The import rules of lndesk, checked by reading the source (nothing is imported).

core (``lndesk/*.py``)  <-  store, p2p, feeds  <-  app  <-  cli, ui

* core knows nothing of storage, networking, Qt or the front ends (no libp2p, trio,
  sqlite3 or PySide6 either);
* the store knows nothing of the network or the front ends (no libp2p, no trio: it is
  called from the node's thread, it does not run one);
* the network knows nothing of the store (the app wires them together, through the
  Protocol the network declares) or the front ends, and opens no database (no sqlite3);
* web feeds (``lndesk.feeds``: fetching and parsing RSS, Atom, JSON Feed, OPML) know
  nothing of the store, the peers' network or the front ends, and only the app (and the
  layers above it) reaches them;
* the app knows nothing of the front ends or Qt;
* the CLI and the desktop UI reach the store and the network only through the app; the
  CLI may start the desktop UI, but only lazily (inside a function), so that plain
  commands never load Qt; only the UI imports Qt.

An import counts however it is written: ``import``, ``from ... import``, relative, inside a
function (``lazy_ok`` names what a layer may import there), under ``TYPE_CHECKING``, or
through ``importlib.import_module`` / ``__import__`` with a literal name. A name taken from
a module that merely re-exports it counts as an import of where it comes from, and a
module that re-exports (``__all__``, ``from x import n as n``) names its dependents may not import
is itself a crossing, except through a door listed in :data:`PUBLISHED`. Inside a package,
modules import each other without a cycle (a function-level import does not hide one;
``TYPE_CHECKING`` imports, which never run, do not count).

``lndesk/__main__.py`` is the ``python -m lndesk`` entry point and belongs to the CLI.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

QT = ("PySide6", "shiboken6")
FRONT_ENDS = ("lndesk.ui", "lndesk.app", "lndesk.cli")
WEB = ("lndesk.feeds", "feedparser", "listparser", "httpx")  # web feeds: below app only


@dataclass(frozen=True)
class Rule:
    forbidden: tuple[str, ...]
    why: str
    lazy_ok: tuple[str, ...] = ()
    """Entries of ``forbidden`` this layer may import inside a function."""


RULES: dict[str, Rule] = {
    "core": Rule(
        (*QT, "libp2p", "trio", "sqlite3", "lndesk.store", "lndesk.p2p", *FRONT_ENDS, *WEB),
        why="core modules are pure: no storage, networking, Qt or front ends",
    ),
    "store": Rule(
        ("lndesk.p2p", *FRONT_ENDS, *QT, "libp2p", "trio", *WEB),
        why="the store must not depend on the network, an async runtime, Qt or the front ends",
    ),
    "p2p": Rule(
        ("lndesk.store", *FRONT_ENDS, *QT, "sqlite3", *WEB),
        why="the network layer must not depend on the store or a database (the app wires "
        "them through the Protocol the network declares) or on Qt",
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
        ("lndesk.ui", "lndesk.store", "lndesk.p2p", *QT, "libp2p", "sqlite3"),
        lazy_ok=("lndesk.ui",),
        why="the CLI reaches the store and the network only through the app layer, and may "
        "load the desktop UI only lazily, inside a function",
    ),
    "ui": Rule(
        ("lndesk.store", "lndesk.p2p", "lndesk.cli", "libp2p", "trio", "sqlite3"),
        why="the desktop UI reaches the store and the network only through the app layer "
        "(lndesk.app: the desk, on the node thread, via lndesk.ui.bridge)",
    ),
}
SUBPACKAGE_LAYERS = {"store", "p2p", "feeds", "app", "cli", "ui"}

PUBLISHED: dict[str, str] = {
    "lndesk.app.events": "lndesk.p2p.events",
}
"""Doors through which a front end may see names of a layer it may not import: the app
module and the one module whose names it passes on. The node's events are plain frozen
values that the app publishes as part of its own API (why: lndesk/app/events.py); the
checker still requires the passed-on module itself to import nothing the front ends may
not."""


@dataclass(frozen=True)
class Problem:
    kind: str
    """"layer" (an import crosses a layer), "re-export", "published" (a door drags in
    what its readers may not import) or "cycle"."""
    where: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.text}"


@dataclass(frozen=True)
class ImportSite:
    targets: tuple[str, ...]
    """Absolute names the statement loads: modules, and ``module.name`` for from-imports."""
    line: int
    in_function: bool
    typing_only: bool
    module_level: bool
    base: str | None = None
    """The module of a ``from base import ...``."""
    names: tuple[tuple[str, str], ...] = ()
    """(imported name, bound name) of a ``from`` import; (module, bound name) of ``import``."""

    @property
    def lazy(self) -> bool:
        return self.in_function or self.typing_only


@dataclass
class Module:
    name: str
    is_package: bool
    where: str
    sites: list[ImportSite]
    uses: list[tuple[str, str, int, bool]] = field(default_factory=list)
    """(module alias, attribute, line, lazy): ``alias.attribute`` read anywhere."""
    exported: dict[str, int] = field(default_factory=dict)
    """Names this module offers on purpose (``__all__``, ``from x import n as n``), with a line."""

    @property
    def group(self) -> str:
        """The package whose modules import each other without a cycle."""
        return self.name if self.is_package else self.name.rpartition(".")[0]

    @cached_property
    def bindings(self) -> dict[str, tuple[str, str, int]]:
        """Module-level names bound by ``from X import n``: name -> (X, n, line)."""
        found: dict[str, tuple[str, str, int]] = {}
        for site in self.sites:
            if site.module_level and site.base is not None:
                for name, bound in site.names:
                    if name != "*":
                        found[bound] = (site.base, name, site.line)
        return found

    @cached_property
    def module_aliases(self) -> dict[str, str]:
        """Module-level names bound to a module by ``import a.b [as x]``."""
        found: dict[str, str] = {}
        for site in self.sites:
            if site.module_level and site.base is None:
                for module, bound in site.names:
                    if bound != module:  # import a.b as x
                        found[bound] = module
                    else:  # import a.b binds a
                        top = module.partition(".")[0]
                        found[top] = top
        return found


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
        "in tests/layer_rules.py"
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _dynamic_import(call: ast.Call) -> str | None:
    """The module an ``importlib.import_module``/``__import__`` call with a literal name loads."""
    func = call.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )
    if name not in ("import_module", "__import__") or not call.args:
        return None
    target = _literal(call.args[0])
    if target is None or not target.startswith("."):
        return target
    package = _literal(call.args[1]) if name == "import_module" and len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "package":
            package = _literal(keyword.value)
    return importlib.util.resolve_name(target, package) if package else None


def _dotted(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else [*inner, node.attr]
    return None


def read_module(module: str, is_package: bool, source: str, where: str) -> Module:
    """Every import of ``source`` with the absolute names it loads, and what it exports."""
    package = module if is_package else module.rpartition(".")[0]
    found = Module(module, is_package, where, [])

    def resolve(node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        base = package.split(".")
        if node.level - 1 > len(base) - 1:
            raise AssertionError(f"{module}: relative import beyond the lndesk package")
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(node: ast.AST, in_function: bool, typing_only: bool, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            flags = (in_function, typing_only, top)
            if isinstance(child, ast.Import):
                names = tuple((a.name, a.asname or a.name) for a in child.names)
                targets = tuple(a.name for a in child.names)
                found.sites.append(ImportSite(targets, child.lineno, *flags, names=names))
            elif isinstance(child, ast.ImportFrom):
                base = resolve(child)
                names = tuple((a.name, a.asname or a.name) for a in child.names)
                targets = (base, *(f"{base}.{n}" for n, _ in names if n != "*"))
                found.sites.append(
                    ImportSite(targets, child.lineno, *flags, base=base, names=names)
                )
                if top:
                    found.exported |= {
                        a.name: child.lineno for a in child.names if a.asname == a.name
                    }
            elif isinstance(child, ast.Call) and (target := _dynamic_import(child)) is not None:
                found.sites.append(ImportSite((target,), child.lineno, *flags))
            elif isinstance(child, ast.Attribute) and (dotted := _dotted(child)) is not None:
                found.uses.append((".".join(dotted[:-1]), dotted[-1], child.lineno, in_function))
            elif top and isinstance(child, ast.Assign | ast.AnnAssign):
                targets_ = child.targets if isinstance(child, ast.Assign) else [child.target]
                if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets_):
                    value = child.value
                    if isinstance(value, ast.List | ast.Tuple):
                        found.exported |= {
                            text: child.lineno for e in value.elts if (text := _literal(e))
                        }
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), in_function, True, top)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), in_function, typing_only, top)
                continue
            scope = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            still_top = top and not (scope or isinstance(child, ast.ClassDef))
            visit(child, in_function or scope, typing_only, still_top)

    visit(ast.parse(source), False, False, True)
    return found


def read_tree(package_dir: Path) -> dict[str, Module]:
    """Every module under ``package_dir`` (a directory named ``lndesk``), by name."""
    modules: dict[str, Module] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        where = str(path.relative_to(package_dir.parent))
        modules[name] = read_module(name, is_package, path.read_text(encoding="utf-8"), where)
    return modules


# --- the checks ------------------------------------------------------------------------


def _matches(target: str, forbidden: str) -> bool:
    return target == forbidden or target.startswith(forbidden + ".")


def _forbidding(rule: Rule, targets: tuple[str, ...], lazy: bool) -> tuple[str, str] | None:
    """(the target, the rule's entry it breaks), or None."""
    for forbidden in rule.forbidden:
        if lazy and forbidden in rule.lazy_ok:
            continue
        hit = next((t for t in targets if _matches(t, forbidden)), None)
        if hit is not None:
            return hit, forbidden
    return None


def _dependents(module: Module) -> list[str]:
    """The layers other than its own that may import ``module``."""
    own = layer_of(module.name, module.is_package)
    return [
        layer
        for layer, rule in RULES.items()
        if layer != own and _forbidding(rule, (module.name,), lazy=True) is None
    ]


def _origins(modules: dict[str, Module], module: str, name: str) -> list[str]:
    """Where ``module.name`` really comes from, if ``module`` took it from elsewhere (through
    any chain of re-exports, stopping at a published door)."""
    chain: list[str] = []
    seen: set[tuple[str, str]] = set()
    while (module, name) not in seen and module in modules:
        seen.add((module, name))
        binding = modules[module].bindings.get(name)
        if binding is None or PUBLISHED.get(module) == binding[0]:
            break
        module, name = binding[0], binding[1]
        chain += [module, f"{module}.{name}"]
    return chain


def _resolved_sites(modules: dict[str, Module], module: Module) -> Iterator[tuple[ImportSite, str]]:
    """Each import site with what its names really load, and ``alias.name`` reads of
    re-exported names; the text says through which module."""
    for site in module.sites:
        yield site, ""
        if site.base is not None and site.base in modules:
            names = [n for n, _ in site.names]
            if "*" in names:  # every name the module offers, or binds when it lists none
                offered = modules[site.base]
                names = list(offered.exported or offered.bindings)
            for name in names:
                origins = _origins(modules, site.base, name)
                if origins:
                    yield (
                        ImportSite(
                            tuple(origins),
                            site.line,
                            site.in_function,
                            site.typing_only,
                            site.module_level,
                        ),
                        f" through {site.base}",
                    )
    aliases = dict(module.module_aliases)
    for bound, (base, name, _line) in module.bindings.items():
        if f"{base}.{name}" in modules:
            aliases[bound] = f"{base}.{name}"
    for alias, attribute, line, lazy in module.uses:
        head, _, rest = alias.partition(".")
        if head not in aliases:
            continue
        full = ".".join(filter(None, (aliases[head], rest)))
        origins = _origins(modules, full, attribute)
        if origins:
            yield ImportSite(tuple(origins), line, lazy, False, False), f" through {full}"


def layer_problems(modules: dict[str, Module]) -> list[Problem]:
    problems = []
    for module in modules.values():
        rule = RULES[layer_of(module.name, module.is_package)]
        flagged: set[int] = set()  # one problem per line: an import, or where it came through
        for site, through in _resolved_sites(modules, module):
            hit = _forbidding(rule, site.targets, site.lazy)
            if hit is not None and site.line not in flagged:
                flagged.add(site.line)
                target, forbidden = hit
                problems.append(
                    Problem(
                        "layer",
                        module.where,
                        site.line,
                        f"{module.name} imports {target}{through} "
                        f"({rule.why}; {forbidden} is off limits)",
                    )
                )
    return problems


def reexport_problems(modules: dict[str, Module]) -> list[Problem]:
    problems = []
    for module in modules.values():
        bindings = module.bindings
        dependents = _dependents(module)
        for name, line in sorted(module.exported.items()):
            if name not in bindings or PUBLISHED.get(module.name) == bindings[name][0]:
                continue
            base, original, _ = bindings[name]
            for layer in dependents:
                # A layer that may import this module only lazily reads its names lazily.
                lazily = _forbidding(RULES[layer], (module.name,), lazy=False) is not None
                if _forbidding(RULES[layer], (base, f"{base}.{original}"), lazy=lazily):
                    problems.append(
                        Problem(
                            "re-export",
                            module.where,
                            line,
                            f"{module.name} re-exports {name} from {base}, which the {layer} layer "
                            f"may not import ({RULES[layer].why})",
                        )
                    )
                    break
    for door, origin in PUBLISHED.items():
        if door not in modules or origin not in modules:
            continue
        for site in modules[origin].sites:
            for layer in _dependents(modules[door]):
                hit = _forbidding(RULES[layer], site.targets, site.lazy)
                if hit is not None:
                    problems.append(
                        Problem(
                            "published",
                            modules[origin].where,
                            site.line,
                            f"{origin} imports {hit[0]}, which the {layer} layer may not import, "
                            f"yet {door} publishes its names to that layer",
                        )
                    )
    return problems


def cycle_problems(modules: dict[str, Module]) -> list[Problem]:
    """Import cycles among the modules of one package (Tarjan's strongly connected parts)."""
    edges: dict[str, dict[str, int]] = {name: {} for name in modules}
    for module in modules.values():
        for site in module.sites:
            if site.typing_only:
                continue
            for target in site.targets:
                parts = target.split(".")
                known = next(
                    (
                        ".".join(parts[:n])
                        for n in range(len(parts), 0, -1)
                        if ".".join(parts[:n]) in modules
                    ),
                    None,
                )
                if known and known != module.name and modules[known].group == module.group:
                    edges[module.name].setdefault(known, site.line)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    parts_found: list[list[str]] = []

    def connect(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in edges[name]:
            if other not in index:
                connect(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            part = []
            while True:
                top = stack.pop()
                part.append(top)
                if top == name:
                    break
            if len(part) > 1:
                parts_found.append(sorted(part))

    for name in sorted(modules):
        if name not in index:
            connect(name)
    problems = []
    for part in parts_found:
        first = part[0]
        links = [
            f"{a} -> {b} (line {edges[a][b]})" for a in part for b in sorted(edges[a]) if b in part
        ]
        problems.append(
            Problem(
                "cycle",
                modules[first].where,
                min(edges[first][b] for b in edges[first] if b in part),
                f"import cycle in {modules[first].group}: "
                + ", ".join(links)
                + "; move what they share into a module they all import",
            )
        )
    return problems


def check_tree(package_dir: Path) -> list[Problem]:
    modules = read_tree(package_dir)
    return layer_problems(modules) + reexport_problems(modules) + cycle_problems(modules)
