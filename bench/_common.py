"""Helpers shared by the benchmark scripts: signed chains, caching, statistics, tables.

Not part of lndesk. Importing this module puts the project root on ``sys.path`` so the
scripts run from a checkout without installing the package.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import multiprocessing
import os
import pickle
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lndesk.content import Follow, Post, encode_content  # noqa: E402
from lndesk.entry import FORMAT_VERSION, create_entry  # noqa: E402
from lndesk.identity import Identity  # noqa: E402

if TYPE_CHECKING:
    from lndesk.p2p.config import NodeConfig

# Fixed, past timestamps so generated chains are reproducible and cacheable, and no
# entry is "future-dated" (the store holds those back from the timeline).
BASE_MS = 1_700_000_000_000  # 2023-11-14
DAY_MS = 86_400_000
CACHE_FORMAT = 1
FILLER = (
    "Notes from this week's reading group: spaced repetition works best when the "
    "intervals grow with each successful recall, and worked examples beat problem "
    "solving for novices. Links and questions welcome. "
)

Item = tuple[bytes, bytes | None]


# --- identities and payloads ------------------------------------------------------


def seed_for(label: str) -> bytes:
    """A deterministic 32-byte seed, so generated chains can be cached and reused."""
    return hashlib.blake2b(label.encode(), digest_size=32, person=b"lndesk-bench").digest()


def identity_for(label: str) -> Identity:
    return Identity(seed_for(label))


def post_payload(label: str, size: int, tag: str = "bench") -> bytes:
    """A canonical ``post`` payload (text and one tag) of about ``size`` bytes."""
    head = f"[{label}] "
    # Encode once with a rough text length to learn the map's overhead, then fit.
    rough = max(1, size - 24)
    overhead = len(encode_content(Post(_text(head, rough), tags=(tag,)))) - rough
    return encode_content(Post(_text(head, max(1, size - overhead)), tags=(tag,)))


def _text(head: str, length: int) -> str:
    body = head + FILLER * (length // len(FILLER) + 1)
    return body[:length]


# --- chains -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainSpec:
    """One author's chain: ``posts`` post entries after ``follows`` follow entries."""

    label: str
    posts: int
    payload_size: int
    first_ms: int
    span_ms: int
    follows: tuple[bytes, ...] = ()


def make_chain(spec: ChainSpec) -> tuple[bytes, list[Item]]:
    """Sign ``spec``'s chain. Returns (author public key, [(entry bytes, payload)])."""
    identity = identity_for(spec.label)
    items: list[Item] = []
    prev = None
    total = len(spec.follows) + spec.posts
    step = spec.span_ms / max(total, 1)
    # Per-author phase, so authors' timestamps interleave instead of colliding.
    phase = int.from_bytes(seed_for(spec.label + "/phase")[:4], "big") / 2**32
    for position in range(total):
        seq = position + 1
        claimed = spec.first_ms + int((position + phase) * step)
        if position < len(spec.follows):
            type_ = "follow"
            payload = encode_content(Follow(spec.follows[position]))
        else:
            type_ = "post"
            payload = post_payload(f"{spec.label}#{seq}", spec.payload_size)
        entry = create_entry(
            identity, seq=seq, prev=prev, claimed_ms=claimed, type=type_, payload=payload
        )
        items.append((entry.raw, payload))
        prev = entry.id
    return identity.public_key, items


def generate_chains(specs: Sequence[ChainSpec], workers: int) -> list[tuple[bytes, list[Item]]]:
    """Sign every chain, one chain per task, in a pool of ``workers`` processes."""
    if workers <= 1 or len(specs) <= 1:
        return [make_chain(spec) for spec in specs]
    context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    with context.Pool(workers) as pool:
        return pool.map(make_chain, specs, chunksize=1)


def load_or_generate(
    specs: Sequence[ChainSpec], workers: int, cache_dir: Path, name: str
) -> tuple[list[tuple[bytes, list[Item]]], float, str]:
    """Chains from the cache file for exactly these specs, or freshly signed (and cached).

    Returns (chains, seconds spent, "generated" or "loaded from cache").
    """
    key = hashlib.blake2b(
        repr((CACHE_FORMAT, FORMAT_VERSION, list(specs))).encode(), digest_size=8
    ).hexdigest()
    path = cache_dir / f"{name}-{key}.pickle"
    started = time.perf_counter()
    if path.exists():
        with path.open("rb") as handle:
            chains = pickle.load(handle)
        return chains, time.perf_counter() - started, "loaded from cache"
    chains = generate_chains(specs, workers)
    elapsed = time.perf_counter() - started
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as handle:
        pickle.dump(chains, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)
    return chains, elapsed, "generated"


# --- statistics and output ----------------------------------------------------------


def loopback_config(**overrides: object) -> NodeConfig:
    """A node's settings for a bench whose nodes all run on this machine: 127.0.0.1, a
    port the system picks, no mDNS, no DHT, no relay client (``overrides`` on top)."""
    from lndesk.p2p.config import NodeConfig  # noqa: PLC0415 - only network benches

    settings: dict[str, Any] = {
        "listen_host": "127.0.0.1",
        "listen_port": 0,
        "mdns": False,
        "dht": False,
        "relay_client": False,
        "dht_loopback": True,
        **overrides,
    }
    return NodeConfig(**settings)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (need not be sorted)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_row(label: str, seconds: Sequence[float]) -> list[str]:
    """[label, n, p50, p99, max, mean] with times in milliseconds."""
    return [
        label,
        str(len(seconds)),
        ms(percentile(seconds, 50)),
        ms(percentile(seconds, 99)),
        ms(max(seconds)),
        ms(sum(seconds) / len(seconds)),
    ]


LATENCY_HEADER = ["operation", "n", "p50 ms", "p99 ms", "max ms", "mean ms"]


def ms(seconds: float) -> str:
    value = seconds * 1000
    if value >= 100:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "inf"


def print_table(title: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A plain-text table: first column left-aligned, the rest right-aligned."""
    body = [list(map(str, row)) for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    print()
    print(title)
    print("-" * len(title))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in body:
        print(line(row))


SETUP_WIDTH = 14


def print_setup(title: str, pairs: Sequence[tuple[str, object]]) -> None:
    print(title)
    print("=" * len(title))
    for key, value in pairs:
        print_setup_line(key, value)


def print_setup_line(key: str, value: object) -> None:
    print(f"{key.ljust(SETUP_WIDTH)}  {value}")


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def drop_os_cache(paths: Iterable[Path]) -> bool:
    """Ask the kernel to evict the files' pages from the page cache (best effort)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return False
    for path in paths:
        if not path.exists():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by the scripts that sign chains and build a temporary store."""
    parser.add_argument("--workers", type=int, default=2, help="signing processes (default 2)")
    parser.add_argument(
        "--cache", type=Path, default=None, help="keep signed chains here between runs"
    )
    parser.add_argument(
        "--dir", type=Path, default=None, help="parent of the temporary store (default: system)"
    )
