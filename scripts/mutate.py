"""Mutation testing of the checks that keep forged, broken and hostile data out.

Each mutant below is a one-line (or one-condition) change to a security or integrity
check in the entry format, deterministic CBOR, batch checks and store ingest, or the
sync reader and server. For each, this script writes the mutated file into a temporary copy of the
source tree (never the working tree), runs only the tests named for it there, and
reports whether they failed (the mutant is *killed*) or passed (it *survived*: no test
protects that check). A mutant whose original text is no longer found exactly once is
reported *stale*: update its snippet.

Run from the project root::

    python scripts/mutate.py            # every mutant
    python scripts/mutate.py -k sync    # mutants whose name contains "sync"
    python scripts/mutate.py --list

It exits non-zero unless every mutant is killed. It is not part of CI: it runs the
named test files once per mutant (a few minutes in all).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300  # seconds per mutant; a mutant that hangs the tests counts as killed

from mutants import MUTANTS  # noqa: E402 - scripts/ is on the path


def copy_tree(target: Path) -> None:
    """The parts of the project the tests read: code, tests, docs and configuration."""
    for name in ("lndesk", "tests", "docs", "resources", "scripts"):
        shutil.copytree(
            ROOT / name,
            target / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)


def run_tests(tree: Path, tests: tuple[str, ...]) -> tuple[bool, str]:
    """Whether ``tests`` pass in ``tree`` (with lndesk imported from it), and the tail
    of their output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return False, f"timed out after {TIMEOUT} s"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, lines[-1] if lines else ""


def check_import(tree: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-c", "import lndesk; print(lndesk.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(out).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"the copy would test {out}, not the mutated tree: stopping")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", default="", help="only mutants whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args()
    mutants = [m for m in MUTANTS if args.k in m.name]
    if args.list:
        for mutant in mutants:
            print(f"{mutant.path}: {mutant.name}")
        return 0
    with tempfile.TemporaryDirectory(prefix="lndesk-mutants-") as temp:
        tree = Path(temp)
        copy_tree(tree)
        check_import(tree)
        baseline = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
        passed, tail = run_tests(tree, baseline)
        if not passed:
            print(f"the tests fail without any mutant: {tail}")
            return 2
        killed, survived, stale = [], [], []
        for number, mutant in enumerate(mutants, 1):
            path = tree / mutant.path
            source = path.read_text(encoding="utf-8")
            if source.count(mutant.original) != 1:
                stale.append(mutant)
                print(f"[{number}/{len(mutants)}] STALE    {mutant.name}", flush=True)
                continue
            path.write_text(source.replace(mutant.original, mutant.replacement), "utf-8")
            started = time.monotonic()
            try:
                passed, tail = run_tests(tree, mutant.tests)
            finally:
                path.write_text(source, encoding="utf-8")
            seconds = time.monotonic() - started
            verdict = "SURVIVED" if passed else "killed  "
            (survived if passed else killed).append(mutant)
            print(
                f"[{number}/{len(mutants)}] {verdict} {mutant.name} ({seconds:.0f} s)", flush=True
            )
            if passed:
                print(f"    {mutant.path}: no test in {', '.join(mutant.tests)} fails")
    tested = len(killed) + len(survived)
    rate = 100 * len(killed) / tested if tested else 0.0
    print(
        f"\n{len(killed)} killed, {len(survived)} survived, {len(stale)} stale"
        f" of {len(mutants)} mutants: kill rate {rate:.1f}%"
    )
    return 0 if not survived and not stale else 1


if __name__ == "__main__":
    raise SystemExit(main())
