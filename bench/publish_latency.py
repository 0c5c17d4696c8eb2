"""Publish latency: sign a ~500-byte post and append it durably (Store.publish).

Each publish encodes the post, signs a new entry (create_entry), writes one log record
with fdatasync and indexes it in one SQLite transaction. The same run measures the
signing step alone (create_entry), raw Ed25519 signing and payload encoding, so the
share of the publish spent signing is visible.

    python bench/publish_latency.py            # N=2000
    python bench/publish_latency.py --quick    # N=200
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import (
    BASE_MS,
    LATENCY_HEADER,
    latency_row,
    ms,
    percentile,
    post_payload,
    print_setup,
    print_table,
)

from lndesk.content import Post, encode_content, parse_content
from lndesk.entry import SIGNATURE_CONTEXT, create_entry
from lndesk.identity import Identity
from lndesk.store.store import Store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=2000, help="publishes (default 2000)")
    parser.add_argument("--payload-bytes", type=int, default=500, help="payload size (default 500)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="parent of the temporary store (default: system)"
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run (N=200)")
    args = parser.parse_args()
    count = 200 if args.quick else args.count

    identity = Identity.generate()
    payload = post_payload("publish", args.payload_bytes)
    post = parse_content("post", payload)
    assert isinstance(post, Post)
    posts = [Post(f"{i} {post.text}"[: len(post.text)], post.tags) for i in range(count)]

    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        print_setup(
            "publish latency (Store.publish: encode + sign + fdatasync'd append + index)",
            [
                ("publishes", f"{count:,}"),
                ("payload", f"{len(payload)} bytes (post: text + 1 tag)"),
                ("store", "fresh, in a temporary directory"),
            ],
        )
        store = Store(Path(tmp) / "data")
        try:
            # A few untimed publishes first: open files, prepare statements.
            for i in range(5):
                store.publish(identity, Post(f"warm-up {i}"))
            publish = []
            for item in posts:
                started = time.perf_counter()
                store.publish(identity, item)
                publish.append(time.perf_counter() - started)
            height = store.feed_state(identity.public_key).height
        finally:
            store.close()

        # The durability step alone: one ~record-sized pwrite + fdatasync per publish.
        record = b"\x00" * (len(payload) + 210)
        sync = []
        fd = os.open(Path(tmp) / "sync-probe", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            position = 0
            for _ in range(count):
                started = time.perf_counter()
                os.pwrite(fd, record, position)
                os.fdatasync(fd)
                sync.append(time.perf_counter() - started)
                position += len(record)
        finally:
            os.close(fd)

    # Signing alone, same identity, same payload size, same number of entries.
    sign_entry = []
    prev = None
    for seq in range(1, count + 1):
        started = time.perf_counter()
        entry = create_entry(
            identity, seq=seq, prev=prev, claimed_ms=BASE_MS + seq, type="post", payload=payload
        )
        sign_entry.append(time.perf_counter() - started)
        prev = entry.id

    message = SIGNATURE_CONTEXT + entry.raw[1:-66]
    raw_sign = []
    for _ in range(count):
        started = time.perf_counter()
        identity.sign(message)
        raw_sign.append(time.perf_counter() - started)

    encode = []
    for item in posts:
        started = time.perf_counter()
        encode_content(item)
        encode.append(time.perf_counter() - started)

    print_table(
        "latency per entry",
        LATENCY_HEADER,
        [
            latency_row("Store.publish (total)", publish),
            latency_row("create_entry (signing only)", sign_entry),
            latency_row("  Identity.sign (raw Ed25519)", raw_sign),
            latency_row("encode_content (post)", encode),
            latency_row("pwrite + fdatasync (~record)", sync),
        ],
    )
    p50_publish = percentile(publish, 50)
    p50_sign = percentile(sign_entry, 50)
    mean_publish = sum(publish) / len(publish)
    mean_sign = sum(sign_entry) / len(sign_entry)
    mean_sync = sum(sync) / len(sync)
    print_table(
        "signing vs publish",
        ["figure", "value"],
        [
            ["publish p50 / create_entry p50", f"{p50_publish / p50_sign:.1f}x"],
            ["create_entry share of publish (mean)", f"{100 * mean_sign / mean_publish:.1f}%"],
            ["publish - create_entry (p50, ms)", ms(p50_publish - p50_sign)],
            [
                "pwrite + fdatasync share of publish (mean)",
                f"{100 * mean_sync / mean_publish:.1f}%",
            ],
            ["publishes/s (sequential)", f"{len(publish) / sum(publish):,.0f}"],
            ["own feed height after run", f"{height:,}"],
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
