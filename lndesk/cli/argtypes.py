"""Argument types for the command line: a bad value is refused with a clear message.

Each raises ``argparse.ArgumentTypeError``, which argparse shows as
``lndesk CMD: error: argument --port: 99999 is not a TCP port ...`` (exit status 2),
before any data directory is touched.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def tcp_port(text: str) -> int:
    port = _integer(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{port} is not a TCP port (use 1024-65535, or 0 for any free port)"
        )
    return port


def positive_int(text: str) -> int:
    number = _integer(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is too small (at least 1)")
    return number


def entry_number(text: str) -> int:
    number = _integer(text)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{number} is not an entry number (0 or more)")
    return number


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds (0 or more)")
    return value


def pixels(text: str) -> int:
    number = _integer(text)
    if not 200 <= number <= 10000:
        raise argparse.ArgumentTypeError(f"{number} pixels is out of range (200-10000)")
    return number


def output_file(text: str) -> Path:
    """A file to write: not an existing folder."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is a folder; give the name of the file to write, e.g. "
            f"{path / 'lndesk-backup.cbor'}"
        )
    return path


def output_dir(text: str) -> Path:
    """A folder to write files into: not an existing file."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return path
