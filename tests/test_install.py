"""The install needs no compiler: fastecdsa comes from a wheel (version 4), which libp2p accepts.

libp2p 0.8.1 pins fastecdsa==2.3.2, a source-only release; uv overrides the pin with
``fastecdsa>=4`` (``[tool.uv]`` in pyproject.toml for ``uv sync``/``uv run``, overrides.txt for
``uv tool install``). libp2p uses fastecdsa only for secio, which lndesk never offers; these
tests pin down what libp2p imports from it when it is imported, so that a Noise-only host builds
with fastecdsa 4.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _overrides_file() -> list[str]:
    lines = (ROOT / "overrides.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_both_overrides_agree() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["uv"]["override-dependencies"] == _overrides_file()
    assert _overrides_file() == ["fastecdsa>=4"]


def _fastecdsa_imports_of_libp2p() -> set[tuple[str, str]]:
    """(module, name) for every ``from fastecdsa... import name`` in the installed libp2p."""
    import libp2p

    found: set[tuple[str, str]] = set()
    for path in Path(libp2p.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fastecdsa"):
                found.update((node.module or "", alias.name) for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(
                    (alias.name, "") for alias in node.names if alias.name.startswith("fastecdsa")
                )
    return found


# What libp2p 0.8.1 imports from fastecdsa (crypto/ecc.py and crypto/key_exchange.py, both
# loaded when libp2p is): each exists in fastecdsa 4.
LIBP2P_USES = {
    ("fastecdsa", "curve"),
    ("fastecdsa", "keys"),
    ("fastecdsa", "point"),
    ("fastecdsa.encoding.sec1", "SEC1Encoder"),
    ("fastecdsa.encoding", "util"),
}


def test_libp2p_imports_only_the_known_fastecdsa_names() -> None:
    assert _fastecdsa_imports_of_libp2p() == LIBP2P_USES


@pytest.mark.skipif(sys.platform == "win32", reason="libp2p uses coincurve on Windows")
def test_every_name_libp2p_imports_exists_in_the_installed_fastecdsa() -> None:
    for module, name in LIBP2P_USES:
        assert hasattr(importlib.import_module(module), name), (module, name)
    from fastecdsa import curve
    from fastecdsa.encoding import util

    # what libp2p evaluates when its modules load (module-level names, annotations)
    assert curve.P256 is not None
    assert util.int_bytelen(2**255) == 32
    importlib.import_module("libp2p.crypto.key_exchange")
    importlib.import_module("libp2p.security.secio.transport")


def _installed_by_uv() -> bool:
    config = Path(sys.prefix) / "pyvenv.cfg"
    return config.exists() and any(
        line.split("=")[0].strip() == "uv" for line in config.read_text().splitlines()
    )


@pytest.mark.skipif(not _installed_by_uv(), reason="installed by pip, which cannot override")
def test_uv_installs_the_wheel_release_of_fastecdsa() -> None:
    major = int(importlib.metadata.version("fastecdsa").split(".")[0])
    assert major >= 4
