"""The strings of lndesk's source that a person may see, read from the source (nothing runs).

Everything in a string literal counts, except what no person sees: docstrings, log records
(they go to the log file), SQL, regular expressions, dictionary keys and other bare
identifiers. An f-string is read with each ``{...}`` shown as ``N``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "lndesk"

_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
_SQL = re.compile(r"\b(SELECT|INSERT|CREATE|UPDATE|DELETE|PRAGMA|REPLACE INTO|WHERE)\b")
_IDENTIFIER = re.compile(r"^[\w.:/-]*$")  # keys, names of fields, types and modules
_REGEX_CALLS = {"compile", "match", "search", "fullmatch", "sub", "findall", "split"}


@dataclass(frozen=True)
class Shown:
    path: Path
    line: int
    text: str

    def where(self) -> str:
        return f"{self.path.relative_to(PACKAGE_DIR.parent)}:{self.line}"


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                parts.append("N")
        return "".join(parts)
    return None


def _hidden_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()

    def hide(node: ast.AST) -> None:
        hidden.update(id(sub) for sub in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, (ast.Constant, ast.JoinedStr)):
            hide(node.value)  # docstrings and bare string statements
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in _LOG_METHODS and not isinstance(node.func.value, ast.Call):
                owner = node.func.value
                name = owner.id if isinstance(owner, ast.Name) else ""
                if name in {"logger", "log", "logging", "_log", "LOG", "_logger"}:
                    hide(node)
            if node.func.attr in _REGEX_CALLS and isinstance(node.func.value, ast.Name):
                if node.func.value.id == "re":
                    hide(node)
        elif isinstance(node, ast.Subscript):
            hide(node.slice)
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if key is not None:
                    hide(key)
    return hidden


def shown_strings(*parts: str) -> Iterator[Shown]:
    """Every shown string under ``lndesk/<part>`` (a package or a module file)."""
    for part in parts:
        target = PACKAGE_DIR / part
        paths = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for path in paths:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            hidden = _hidden_nodes(tree)
            for node in ast.walk(tree):
                if id(node) in hidden or not isinstance(node, (ast.Constant, ast.JoinedStr)):
                    continue
                text = _text(node)
                if text is None or _IDENTIFIER.match(text) or _SQL.search(text):
                    continue
                hidden.update(id(sub) for sub in ast.walk(node))  # an f-string's pieces
                yield Shown(path, node.lineno, text)
