"""The mutants of the bounds on files a user is handed or a settings file lists: the
bootstrap peers of config.json and of `lndesk network`, the backup file read by
`lndesk import`, and what is refused where a file read back is not a regular file;
scripts/mutants.py adds them to its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

BOOTSTRAP = ("tests/test_bootstrap_limit.py",)
BACKUP = ("tests/test_backup_bounds.py",)
NOT_REGULAR = ("tests/test_not_regular_files.py",)
REPAIR = ("tests/test_repair_bounds.py",)

FILES_MUTANTS = [
    # --- bootstrap peers (lndesk/app/addresses.py, datadir.py, desk_network.py, cli) -----
    Mutant(
        "bootstrap: any number of bootstrap peers is kept",
        "lndesk/app/addresses.py",
        "    if count > MAX_BOOTSTRAP:",
        "    if False:",
        BOOTSTRAP,
    ),
    Mutant(
        "bootstrap: lndesk network --add-bootstrap adds past the limit",
        "lndesk/cli/network.py",
        "    check_bootstrap_count(len(config.bootstrap), _TOO_MANY_BOOTSTRAP)",
        "    len(config.bootstrap)",
        BOOTSTRAP,
    ),
    Mutant(
        "bootstrap: the Network screen saves past the limit",
        "lndesk/app/desk_network.py",
        "            len(cleaned),",
        "            0,",
        BOOTSTRAP,
    ),
    Mutant(
        "bootstrap: a settings file's bootstrap peers are all taken, however many",
        "lndesk/app/datadir.py",
        "    return kept[:MAX_BOOTSTRAP]",
        "    return kept",
        BOOTSTRAP,
    ),
    Mutant(
        "bootstrap: a settings file's address of any length is taken",
        "lndesk/app/datadir.py",
        "isinstance(a, str) and len(a) <= MAX_ADDRESS_CHARS]",
        "isinstance(a, str)]",
        BOOTSTRAP,
    ),
    Mutant(
        "bootstrap: a typed address of any length is parsed and echoed",
        "lndesk/app/addresses.py",
        "    if len(address) > MAX_ADDRESS_CHARS:",
        "    if False:",
        BOOTSTRAP,
    ),
    # --- backup files read by lndesk import (lndesk/backup.py, lndesk/app/importing.py) --
    Mutant(
        "backup: a backup file is read whole, whatever its size",
        "lndesk/backup.py",
        "    return read_backup_file(lambda: open_regular(path))",
        "    return decode_backup(path.read_bytes())",
        BACKUP,
    ),
    Mutant(
        "backup: an import's batches are bounded in count only, not in bytes",
        "lndesk/app/importing.py",
        "        if len(batch) >= IMPORT_BATCH or size >= IMPORT_BATCH_BYTES:",
        "        if len(batch) >= IMPORT_BATCH:",
        BACKUP,
    ),
    Mutant(
        "backup: an entry of a backup may be of any length",
        "lndesk/backup.py",
        "        self._skip(self._length(MAX_ENTRY_SIZE, what), what)",
        "        self._skip(self._length(1 << 62, what), what)",
        BACKUP,
    ),
    Mutant(
        "backup: a payload of a backup may be of any length",
        "lndesk/backup.py",
        "            self._skip(self._length(MAX_PAYLOAD_SIZE, payload, first), payload)",
        "            self._skip(self._length(1 << 62, payload, first), payload)",
        BACKUP,
    ),
    Mutant(
        "backup: the key file of a backup may be of any length",
        "lndesk/backup.py",
        '        key_file = reader.byte_string(MAX_KEY_FILE, "the key file")',
        '        key_file = reader.byte_string(1 << 62, "the key file")',
        BACKUP,
    ),
    Mutant(
        "backup: a backup may say it holds any number of entries",
        "lndesk/backup.py",
        "        if count > MAX_BACKUP_ENTRIES:",
        "        if False:",
        BACKUP,
    ),
    Mutant(
        "backup: a head longer than needed is taken",
        "lndesk/backup.py",
        "        if argument < (24 if size == 1 else 1 << (4 * size)):",
        "        if False:",
        BACKUP,
    ),
    Mutant(
        "backup: an indefinite length is read as a length",
        "lndesk/backup.py",
        "        if info > 27 or major >= 6:",
        "        if major >= 6:",
        BACKUP,
    ),
    Mutant(
        "backup: bytes after the backup are ignored",
        "lndesk/backup.py",
        "        if reader.left():",
        "        if False:",
        BACKUP,
    ),
    Mutant(
        "backup: a file changed between the check and the import is read on",
        "lndesk/backup.py",
        "                if reader.size != self._size:",
        "                if False:",
        BACKUP,
    ),
    Mutant(
        "backup: a pipe is opened as a backup file",
        "lndesk/app/importing.py",
        "        if not stat.S_ISREG(path.stat().st_mode):",
        "        if False:",
        BACKUP,
    ),
    Mutant(
        "bootstrap: serve's --bootstrap addresses are not counted",
        "lndesk/cli/network.py",
        "    check_bootstrap_count(len(peers), _TOO_MANY_SERVE_BOOTSTRAP)\n    return peers",
        "    return peers",
        ("tests/test_bootstrap_limit.py",),
    ),
    # --- a named pipe, a directory or a device where a file is read back ----------
    Mutant(
        "files: a named pipe, a directory or a device is read as a regular file",
        "lndesk/regularfile.py",
        "    if not stat.S_ISREG(mode):",
        "    if False:",
        NOT_REGULAR,
    ),
    Mutant(
        "files: config.json and own-log.json are opened however they are made",
        "lndesk/regularfile.py",
        "    with open_regular(path) as file:",
        '    with path.open("rb") as file:',
        NOT_REGULAR,
    ),
    Mutant(
        "files: the request journal is opened however it is made",
        "lndesk/app/requests.py",
        "            with open_regular(self.path) as file:",
        '            with self.path.open("rb") as file:',
        NOT_REGULAR,
    ),
    Mutant(
        "files: the purge journal is opened however it is made",
        "lndesk/store/purge.py",
        "        with open_regular(journal) as file:",
        '        with journal.open("rb") as file:',
        NOT_REGULAR,
    ),
    Mutant(
        "files: a backup file is opened however it is made",
        "lndesk/backup.py",
        "    return read_backup_file(lambda: open_regular(path))",
        '    return read_backup_file(lambda: path.open("rb"))',
        NOT_REGULAR,
    ),
    Mutant(
        "files: own-log.json is written over a directory found in its place",
        "lndesk/app/ownlog.py",
        "    _move_directory_aside(path)\n",
        "",
        NOT_REGULAR,
    ),
    # --- lndesk repair and the rebuild of the index (lndesk/store/repair.py, recovery.py)
    Mutant(
        "repair: the damaged ranges are held whole to be moved aside",
        "lndesk/store/repair.py",
        "            atomic_write_chunks(report.saved, _damaged_chunks(log_file, report.damaged))",
        "            atomic_write_chunks(report.saved, [b''.join(log_file.tail(d.start, d.size)"
        " for d in report.damaged)])",
        REPAIR,
    ),
    Mutant(
        "repair: every valid record of the log is held at once to be copied",
        "lndesk/store/repair.py",
        "            records = (item for item in salvage_scan(log_file) if isinstance(item, Record))",  # noqa: E501
        "            records = [item for item in salvage_scan(log_file) if isinstance(item, Record)]",  # noqa: E501
        REPAIR,
    ),
    Mutant(
        "repair: the damage of an earlier repair in the same second is written over",
        "lndesk/atomicfile.py",
        "        if not os.path.lexists(path):\n            return path\n",
        "        return path\n",
        REPAIR,
    ),
    Mutant(
        "reindex: a batch of the log's records is bounded in count only, not in bytes",
        "lndesk/store/recovery.py",
        "        if len(batch) >= REINDEX_BATCH or size >= REINDEX_BATCH_BYTES:",
        "        if len(batch) >= REINDEX_BATCH:",
        REPAIR,
    ),
    Mutant(
        "repair: a record whose CRC holds but whose entry cannot be read is kept",
        "lndesk/store/salvage.py",
        "            problem = _unreadable(item)",
        "            problem = None",
        ("tests/test_unreadable_record.py",),
    ),
    Mutant(
        "repair: a purge a crash interrupted is not finished before the log is salvaged",
        "lndesk/store/repair.py",
        "        _finish_purge(directory)\n",
        "",
        ("tests/test_repair_purge.py",),
    ),
    Mutant(
        "requests: a lost request takes the entry another request appended",
        "lndesk/app/requests.py",
        "                seq not in held\n",
        "                True\n",
        ("tests/test_request_journal.py",),
    ),
    Mutant(
        "recovery: a damaged tail is saved over one cut earlier at the same offset",
        "lndesk/store/recovery.py",
        '        if not os.path.lexists(path) and not os.path.lexists(f"{path}{SEEN}"):',
        "        if True:",
        ("tests/test_torn_tail_bounds.py",),
    ),
    Mutant(
        "recovery: a damaged tail is saved over one cut earlier and dealt with",
        "lndesk/store/recovery.py",
        '        if not os.path.lexists(path) and not os.path.lexists(f"{path}{SEEN}"):',
        "        if not os.path.lexists(path):",
        ("tests/test_torn_tail_bounds.py",),
    ),
]

__all__ = ["FILES_MUTANTS"]
