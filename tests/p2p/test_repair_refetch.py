"""After `lndesk repair` lost entries of the own feed, peers give them back.

Ann's log is damaged in the middle (entry 3 of 6): repair keeps every valid record,
names entry 3 as lost, and pauses publishing. Her node then
syncs with a follower that holds her whole feed: entry 3 comes back, the survey learns
height 6, and after she confirms it her next post is entry 7, linked to the real 6.
"""

from __future__ import annotations

from pathlib import Path

import trio
from node_helpers import make_data_dir, running_node

from lndesk.app.restore import restore_status
from lndesk.app.service import Service
from lndesk.store.logfile import LogFile, ScanEnd
from lndesk.store.store import LOG_NAME

WAIT = 60.0


def damage_record(path: Path, number: int) -> None:
    log = LogFile(path, read_only=True)
    try:
        offsets = [item.offset for item in log.scan() if not isinstance(item, ScanEnd)]
    finally:
        log.close()
    with path.open("r+b") as file:
        file.seek(offsets[number] + 20)
        byte = file.read(1)
        file.seek(offsets[number] + 20)
        file.write(bytes([byte[0] ^ 0x40]))


async def test_entries_lost_to_damage_come_back_from_a_peer(tmp_path: Path) -> None:
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    with Service(ann_dir) as ann:
        for number in range(6):
            ann.post(f"field note {number}")
        ann_key = ann.public_key
        items = list(ann.store.feed_items(ann_key))
        sixth = ann.store.feed_state(ann_key).head_id
    with Service(bo_dir) as bo:
        assert bo.store.ingest(ann_key, items).stored == 6

    damage_record(ann_dir / LOG_NAME, 2)  # entry 3
    with Service(ann_dir, lazy=True) as ann:
        report = ann.repair()
        assert report.lost == {ann_key: [3]}
        assert not ann.own_log.confirmed  # publishing waits

    async with running_node(bo_dir) as bo_node:
        async with running_node(
            ann_dir, bootstrap=(bo_node.address,), survey_window=20
        ) as ann_node:
            await ann_node.wait_height(ann_key, 6, WAIT)
            with trio.fail_after(WAIT):
                await ann_node.app.survey.finished.wait()
            status = restore_status(ann_node.service)
            assert status.latest == 6 and status.held == 6
            ann_node.app.survey.confirm(6)
            entry = await ann_node.post("after the repair")
    assert entry.seq == 7 and entry.prev == sixth
