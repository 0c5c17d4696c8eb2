"""Running ``lndesk`` in-process in tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from lndesk.cli.main import main


class Cli:
    """Runs ``lndesk`` in-process against one data directory and captures its output."""

    def __init__(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data_dir = data_dir
        self.capsys = capsys

    def __call__(self, *args: str, expect: int | None = 0) -> str:
        """Run ``lndesk ARGS``; check the exit code is ``expect`` (None: any)."""
        self.capsys.readouterr()
        code = main(["--data-dir", str(self.data_dir), *args])
        out, err = self.capsys.readouterr()
        assert expect is None or code == expect, (
            f"lndesk {' '.join(args)} exited {code}\n{out}\n{err}"
        )
        self.out = out
        self.err = err
        return out
