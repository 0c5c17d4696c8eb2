"""The mutants of what lndesk reads back from its data directory beyond
scripts/mutants_files.py: a repair's pause written before the log is replaced, every cut
own entry counted, the peer list bounded, named pipes refused, the own-log state's
migration, and read-only batches bounded in bytes; scripts/mutants.py adds them to its
list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

REPAIR_CRASH = ("tests/test_repair_crash.py",)
CUTS = ("tests/test_cut_own_entries.py",)
PEERBOOK = ("tests/p2p/test_peerbook_bounds.py",)
KEY_PIPE = ("tests/test_keyfile_pipe.py",)
OWN_LOG = ("tests/test_own_log_missing.py",)
READ_ONLY = ("tests/test_readonly_batches.py",)

_REPLACE_AND_REBUILD = """\
        (directory / (LOG_NAME + ".repaired")).replace(directory / LOG_NAME)
        fsync_directory(directory)
    finally:
        os.close(lock)
    with Store(directory, reindex=True) as store:
        report.entries = store.index.count_entries()
"""
_PAUSE = """\
        if before_replace is not None:
            before_replace(report)
"""

FILES2_MUTANTS = [
    Mutant(
        "repair: the own feed's losses are recorded after the rebuild, not before the swap",
        "lndesk/store/repair.py",
        _PAUSE + _REPLACE_AND_REBUILD,
        _REPLACE_AND_REBUILD
        + "    if before_replace is not None:\n        before_replace(report)\n",
        REPAIR_CRASH,
    ),
    Mutant(
        "cuts: only the first own entry a chunk of a cut tail holds is found",
        "lndesk/app/cuts.py",
        "            at = window.find(pattern, at + 1)",
        "            break",
        CUTS,
    ),
    Mutant(
        "cuts: an entry's start cut in two by a chunk's end is missed",
        "lndesk/app/cuts.py",
        "        keep = min(len(pattern) - 1, len(window))",
        "        keep = 0",
        CUTS,
    ),
    Mutant(
        "cuts: an own entry whose position cannot be read does not count",
        "lndesk/app/cuts.py",
        "        else:\n            unread += 1\n",
        "        else:\n            pass\n",
        CUTS,
    ),
    Mutant(
        "cuts: a tail dealt with is renamed over one kept before",
        "lndesk/atomicfile.py",
        "        if not os.path.lexists(path):\n            return path\n",
        "        return path\n",
        CUTS,
    ),
    Mutant(
        "cuts: a saved tail is opened as any file, a named pipe waited on",
        "lndesk/app/cuts.py",
        "            with open_regular(path) as file:",
        '            with path.open("rb") as file:',
        CUTS,
    ),
    Mutant(
        "peerbook: a deeply nested peers.json crashes the start",
        "lndesk/regularfile.py",
        "    except RecursionError:",
        "    except ZeroDivisionError:",
        PEERBOOK,
    ),
    Mutant(
        "peerbook: a peers.json of any size is read",
        "lndesk/regularfile.py",
        "    if len(data) > limit:",
        "    if False:",
        PEERBOOK,
    ),
    Mutant(
        "peerbook: a peers.json that is a named pipe is waited on",
        "lndesk/regularfile.py",
        "    with open_regular(path) as file:",
        '    with path.open("rb") as file:',
        PEERBOOK,
    ),
    Mutant(
        "peerbook: a saved peers.json may outgrow what is read back",
        "lndesk/p2p/peerbook.py",
        "        while len(data) > MAX_PEERBOOK_BYTES:",
        "        while False:",
        PEERBOOK,
    ),
    Mutant(
        "peerbook: every peer a peers.json names is kept",
        "lndesk/p2p/peerbook.py",
        "            self.peers.clear()\n        self._trim()",
        "            self.peers.clear()",
        PEERBOOK,
    ),
    Mutant(
        "peerbook: an address of any length a peer announces is kept",
        "lndesk/p2p/peerbook.py",
        "        fresh = [a for a in addrs if len(a) <= MAX_ADDR_CHARS]",
        "        fresh = list(addrs)",
        PEERBOOK,
    ),
    Mutant(
        "keyfile: a key file that is a named pipe is waited on",
        "lndesk/keyfile.py",
        "        with open_regular(path) as handle:",
        '        with path.open("rb") as handle:',
        KEY_PIPE,
    ),
    Mutant(
        "ownlog: a missing own-log.json is confirmed unless config.json says restored",
        "lndesk/app/ownlog.py",
        '    flag = raw.get("own_log") if isinstance(raw, dict) else None',
        '    flag = raw.get("own_log", "confirmed") if isinstance(raw, dict) else "confirmed"',
        OWN_LOG,
    ),
    Mutant(
        "ownlog: a paused publish says the identity was restored, whatever the cause",
        "lndesk/app/ownlog.py",
        "        if not self.problem:",
        "        if True:",
        OWN_LOG,
    ),
    Mutant(
        "readonly: a batch of the log's records is bounded in count only, not in bytes",
        "lndesk/store/readonly.py",
        "        if len(batch) >= REINDEX_BATCH or size >= REINDEX_BATCH_BYTES:",
        "        if len(batch) >= REINDEX_BATCH:",
        READ_ONLY,
    ),
]

__all__ = ["FILES2_MUTANTS"]
