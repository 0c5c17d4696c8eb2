"""Kill a publisher and a syncing reader at random points, fill the disk, and count.

    python scripts/fault_runner.py [KILLS] [DISK_FULL_CYCLES] [--seed N]

A publisher process publishes posts one by one and prints each acknowledged entry; a
reader process copies the publisher's feed into a follower's store (the ingest path of
sync). Both are SIGKILLed at random moments, KILLS times. Then, as root, a 16 MB tmpfs is
filled and freed DISK_FULL_CYCLES times under a long-running publisher. Printed at the
end (each must be 0 but ghosts, which are only counted):

    lost          acknowledged entries the store does not hold after a full rebuild
    double-signed positions of a feed where the log holds two different entries
    ghosts        entries stored but never acknowledged (killed before it could say so)
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lndesk.content import Post
from lndesk.errors import DiskFullError
from lndesk.identity import Identity
from lndesk.store.salvage import own_items
from lndesk.store.store import LOG_NAME, Store
from lndesk.store.verify import verify_store

SEED = bytes([7]) * 32
MOUNT = shutil.which("mount") or "/bin/mount"
UMOUNT = shutil.which("umount") or "/bin/umount"
PUBLISHER = """
import sys
from pathlib import Path
from lndesk.content import Post
from lndesk.identity import Identity
from lndesk.store.store import Store
with Store(Path(sys.argv[1])) as store:
    identity = Identity(bytes([7]) * 32)
    while True:
        entry = store.publish(identity, Post("a post " + "x" * 300))
        print(entry.seq, entry.id.hex(), flush=True)
"""
READER = """
import sys
from pathlib import Path
from lndesk.store.salvage import own_items
from lndesk.store.store import LOG_NAME, Store
source, target, key = Path(sys.argv[1]), Path(sys.argv[2]), bytes.fromhex(sys.argv[3])
with Store(target) as store:
    while True:
        items = own_items(source / LOG_NAME, key)
        have = store.feed_state(key).height
        if len(items) > have:
            store.ingest(key, items[have : have + 50])
"""


def run_kills(kills: int, workdir: Path, rng: random.Random) -> dict[str, int]:
    data, follower = workdir / "publisher", workdir / "follower"
    key = Identity(SEED).public_key
    acknowledged: dict[int, str] = {}
    env = dict(os.environ)
    for number in range(kills):
        publisher = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(data)], stdout=subprocess.PIPE, env=env
        )
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(data), str(follower), key.hex()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        time.sleep(rng.uniform(0.3, 0.9))
        for process in (publisher, reader) if number % 2 else (reader, publisher):
            process.send_signal(signal.SIGKILL)
        out, _ = publisher.communicate()
        reader.wait()
        for line in out.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                acknowledged[int(parts[0])] = parts[1]
    return check(data, follower, key, acknowledged)


def check(data: Path, follower: Path, key: bytes, acknowledged: dict[int, str]) -> dict[str, int]:
    with Store(data) as store:
        double = len(verify_store(store).double_signed)
        store.reindex()
        stored = {row.seq: row.id.hex() for row in store.feed_rows(key)}
    lost = sum(1 for seq, entry_id in acknowledged.items() if stored.get(seq) != entry_id)
    ghosts = sum(1 for seq in stored if seq not in acknowledged)
    with Store(follower) as store:
        double += len(verify_store(store).double_signed)
        held = store.feed_state(key).height
        items = own_items(data / LOG_NAME, key)
        store.ingest(key, items[held:])
        synced = store.feed_state(key).height == len(items)
    return {
        "acknowledged": len(acknowledged),
        "lost": lost,
        "double-signed": double,
        "ghosts": ghosts,
        "follower in step": int(synced),
    }


def run_disk_full(cycles: int, workdir: Path) -> dict[str, int]:
    if cycles == 0:
        return {}
    if os.geteuid() != 0:
        print("disk-full cycles need root (a tmpfs); skipped")
        return {}
    mount = workdir / "small"
    mount.mkdir()
    subprocess.run([MOUNT, "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    identity = Identity(bytes([8]) * 32)
    acknowledged: dict[int, str] = {}
    refused = completed = 0
    try:
        with Store(mount / "data", min_free=0) as store:
            for _cycle in range(cycles):
                # Leave a little room, different each time, so the disk fills at a
                # different write (the log's, or the index's) from one cycle to the next.
                room = 100_000 + (completed * 37_000) % 120_000
                filler = mount / "filler"
                filler.write_bytes(bytes(max(store.space.free() - room, 0)))
                failures = 0
                while failures < 3:
                    try:
                        entry = store.publish(identity, Post("y" * 20_000))
                        acknowledged[entry.seq] = entry.id.hex()
                    except DiskFullError:
                        failures += 1
                        refused += 1
                filler.unlink()
                entry = store.publish(identity, Post("room again"))
                acknowledged[entry.seq] = entry.id.hex()
                completed += 1
            behind = sum("stored in the log" in warning for warning in store.warnings)
        result = check(mount / "data", workdir / "follower-full", identity.public_key, acknowledged)
    finally:
        subprocess.run([UMOUNT, "-l", str(mount)], check=False)
    result["cycles"] = completed
    result["refused (disk full)"] = refused
    result["index behind the log"] = behind
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kills", type=int, nargs="?", default=20)
    parser.add_argument("cycles", type=int, nargs="?", default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    # The store's warnings (an index left behind by a full disk) are expected here.
    logging.getLogger("lndesk").setLevel(logging.ERROR)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.monotonic()
        kills = run_kills(args.kills, workdir, rng)
        print(f"{args.kills} kills of a publisher and a reader: {kills}")
        full = run_disk_full(args.cycles, workdir)
        if full:
            print(f"{args.cycles} disk-full cycles: {full}")
        print(f"({time.monotonic() - started:.0f} s)")
        bad = kills["lost"] + kills["double-signed"] + full.get("lost", 0)
        bad += full.get("double-signed", 0)
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
