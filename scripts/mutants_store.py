"""The mutants of the store's and the app's crash and file-handling checks (a full disk,
damaged files, index compaction, an index file swapped in, the request journal);
scripts/mutants.py adds them to its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

FAULTS = ("tests/test_faults.py", "tests/test_damage.py", "tests/p2p/test_disk_full_sync.py")
COMPACT = ("tests/test_index_compact.py",)
SWAP = ("tests/test_index_compact.py", "tests/test_store_rebuild_swap.py")
JOURNAL = ("tests/test_request_journal.py",)
FORGET = ("tests/test_store_forget.py",)

STORE_MUTANTS = [
    # --- faults: a full disk, damaged files (lndesk/store, lndesk/app) -----------------
    Mutant(
        "store: publish takes the next seq from an index that missed an append",
        "lndesk/store/store.py",
        "        self.level_index()\n        self.space.check()\n        state = self.index",
        "        self.space.check()\n        state = self.index",
        FAULTS,
    ),
    Mutant(
        "store: publishing does not check the disk's free space first",
        "lndesk/store/store.py",
        "        self.level_index()\n        self.space.check()\n",
        "        self.level_index()\n",
        FAULTS,
    ),
    Mutant(
        "store: storing synced entries does not check the disk's free space first",
        "lndesk/store/store.py",
        "        self.space.check(2 * sum(",
        "        (2 * sum(",
        FAULTS,
    ),
    Mutant(
        "log: a failed append is not taken back (a ghost may surface later)",
        "lndesk/store/logfile.py",
        "                os.ftruncate(self._fd, self._end)\n            raise",
        "                pass\n            raise",
        FAULTS,
    ),
    Mutant(
        "verify: two different entries at one position are not noticed",
        "lndesk/store/verify.py",
        "        elif first.id != entry.id:",
        "        elif False:",
        FAULTS,
    ),
    Mutant(
        "rebuild: a purge of a record the new index holds leaves it held as it was",
        "lndesk/store/rebuild.py",
        "        if any(offset < self.position for offset in offsets):",
        "        if False:",
        ("tests/test_store_rebuild.py",),
    ),
    Mutant(
        "recovery: a damaged complete last record is cut as if it never completed",
        "lndesk/store/recovery.py",
        'if problem in _UNFINISHED or not tail.strip(b"\\x00"):',
        "if True:",
        ("tests/test_logfile.py",),
    ),
    Mutant(
        "app: a cut entry of the own feed does not pause publishing",
        "lndesk/app/cuts.py",
        "    for path, seq in own_cut_entries(data_dir, own):",
        "    for path, seq in own_cut_entries(data_dir, own)[:0]:",
        ("tests/test_damage.py",),
    ),
    Mutant(
        "app: room on the disk again does not resume syncing until the next round",
        "lndesk/app/diskwatch.py",
        "            self._resume()",
        "            pass",
        ("tests/p2p/test_disk_full_sync.py",),
    ),
    # --- index compaction (lndesk/store/compact.py) -------------------------------------
    Mutant(
        "index compaction: a copy made while the index was written takes its place",
        "lndesk/store/compact.py",
        "conn.total_changes != job.changes",
        "False",
        COMPACT,
    ),
    Mutant(
        "compact: the index is swapped with its write-ahead log unfolded",
        "lndesk/store/compact.py",
        "        or not fold_wal(conn)\n",
        "",
        COMPACT,
    ),
    Mutant(
        "compact: the copy is moved over the index unsynced",
        "lndesk/store/compact.py",
        "            sync_file(self.target)  # SQLite syncs it, but does not promise to\n",
        "",
        COMPACT,
    ),
    Mutant(
        "compact: a failed swap leaves its copy",
        "lndesk/store/compact.py",
        "    except BaseException:\n        job.discard()\n        raise",
        "    except BaseException:\n        raise",
        COMPACT,
    ),
    Mutant(
        "compact: an index closed by a failed close is not opened again",
        "lndesk/store/rebuild.py",
        "            except sqlite3.ProgrammingError:  # closed after all\n"
        "                self.index = self._open_index()",
        "            except sqlite3.ProgrammingError:  # closed after all\n                pass",
        COMPACT,
    ),
    Mutant(
        "compact: the index is read through an unquoted file: URI",
        "lndesk/store/compact.py",
        'source = f"file:{quote(str(self.source))}?mode=ro"',
        'source = f"file:{self.source}?mode=ro"',
        COMPACT,
    ),
    Mutant(
        "compact: a copy of the index replaces one rebuilt meanwhile",
        "lndesk/store/compact.py",
        "        conn is not job.index\n        or store.rebuilding",
        "        store.rebuilding",
        COMPACT,
    ),
    # --- an index file swapped in (lndesk/store/swap.py, lndesk/store/rebuild.py) -------
    Mutant(
        "swap: the new index is moved in before the old write-ahead log's removal is synced",
        "lndesk/store/swap.py",
        ".unlink()\n    fsync_directory(path.parent)\n",
        ".unlink()\n",
        SWAP,
    ),
    Mutant(
        "rebuild swap: the rebuilt index is moved over the index unsynced",
        "lndesk/store/rebuild.py",
        "        sync_file(self.path)\n",
        "",
        SWAP[1:],
    ),
    Mutant(
        "rebuild swap: a failed swap leaves the rebuilt index's file",
        "lndesk/store/rebuild.py",
        "        except BaseException as exc:\n            rebuild.abort()\n",
        "        except BaseException as exc:\n",
        SWAP[1:],
    ),
    Mutant(
        "rebuild swap: an old index a failed swap left behind is taken as caught up",
        "lndesk/store/rebuild.py",
        "                self._indexed_end = int(raw.decode()) if raw else HEADER_SIZE",
        "                pass",
        SWAP[1:],
    ),
    Mutant(
        "rebuild swap: an old index this process still reads is opened again after a failure",
        "lndesk/store/rebuild.py",
        "            self.reopen_index(put, put)",
        "            self.reopen_index(put, None)",
        SWAP[1:],
    ),
    Mutant(
        "purge: a new purge's journal replaces the one a failed purge left",
        "lndesk/store/purge.py",
        "    replay_journal(log_file)\n    overwrites: list[Overwrite] = []",
        "    overwrites: list[Overwrite] = []",
        ("tests/test_store_purge.py",),
    ),
    Mutant(
        "store: a rebuilt index or compact copy a stopped process left stays on the disk",
        "lndesk/store/store.py",
        "            remove_leftovers(directory, (REBUILT_NAME, COMPACT_NAME))",
        "            pass",
        SWAP[1:],
    ),
    Mutant(
        "store: a finished rebuild drops the purges queued while it was built",
        "lndesk/store/store.py",
        "            queued = self.index.pending_purges()\n",
        "            queued = []\n",
        FORGET,
    ),
    Mutant(
        "store: a finished rebuild keeps records it read before their queued purge ran",
        "lndesk/store/store.py",
        "                rebuild.rewritten([offset for offset, _ in queued])",
        "                pass",
        FORGET,
    ),
    Mutant(
        "store: a stale index is removed with forgotten entries' purges still queued",
        "lndesk/store/store.py",
        "self._purge_first(queued_purges(path))",
        "queued_purges(path)",
        FORGET,
    ),
    Mutant(
        "store: lndesk reindex drops forgotten entries' queued purges",
        "lndesk/store/store.py",
        "self._purge_first(queued_purges(directory / INDEX_NAME))",
        "queued_purges(directory / INDEX_NAME)",
        FORGET,
    ),
    Mutant(
        "store: a rebuild of the open index reads records whose purges are still queued",
        "lndesk/store/store.py",
        "self._purge_first(self.index.pending_purges())",
        "self.index.pending_purges()",
        FORGET,
    ),
    Mutant(
        "requests: a line the disk wrote only part of is taken as written",
        "lndesk/app/requests.py",
        "                view = view[os.write(fd, view) :]",
        "                os.write(fd, view)\n                break",
        JOURNAL,
    ),
    Mutant(
        "requests: an intent line that cannot be written is a bare OSError",
        "lndesk/app/requests.py",
        "        raise journal.error(exc) from exc",
        "        raise",
        JOURNAL,
    ),
    Mutant(
        "requests: a journal line after the append that cannot be written fails the request",
        "lndesk/app/requests.py",
        "record, exc)\n            return False",
        "            raise",
        ("tests/p2p/test_request_journal_full.py",),
    ),
    Mutant(
        "pseudonyms: a pseudonym whose profile was not stored asks without one",
        "lndesk/app/pseudonyms.py",
        "    elif service.store.feed_state(identity.public_key).height == 0:",
        "    elif False:",
        ("tests/test_cli_pseudonyms.py",),
    ),
    Mutant(
        "own key: two installs of a key in one directory run at once",
        "lndesk/app/own_key.py",
        "            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)",
        "            pass",
        ("tests/test_own_log.py",),
    ),
    Mutant(
        "own key: a key installed before the lock is not looked for again under it",
        "lndesk/app/own_key.py",
        "    with _installing(data_dir):\n        if key_path.exists():",
        "    with _installing(data_dir):\n        if False:",
        ("tests/test_own_log.py",),
    ),
    Mutant(
        "pseudonyms: a key file that cannot be looked at stops every read of their keys",
        "lndesk/pseudonyms.py",
        "            except OSError:\n                continue  # removed while",
        "            except FileNotFoundError:\n                continue  # removed while",
        ("tests/test_pseudonyms.py",),
    ),
    Mutant(
        "requests: a journal line nested too deep stops every read of the journal",
        "lndesk/app/requests.py",
        "    except (ValueError, RecursionError):",
        "    except ValueError:",
        JOURNAL,
    ),
    Mutant(
        "requests: a journal line's flag or huge number is taken as a seq or height",
        "lndesk/app/requests.py",
        "    return type(value) is int and least <= value <= MAX_SEQ",
        "    return isinstance(value, int)",
        JOURNAL,
    ),
    Mutant(
        "requests: the whole journal is read, however large",
        "lndesk/app/requests.py",
        "                start = max(0, size - READ_LIMIT - 1)\n"
        "                file.seek(start)\n"
        "                data = file.read(READ_LIMIT + 1)",
        "                start = 0\n                data = file.read()",
        JOURNAL,
    ),
    Mutant(
        "requests: a journal line of any field or type is merged into its request's",
        "lndesk/app/requests.py",
        "    return record if valid else None",
        "    return record",
        JOURNAL,
    ),
    Mutant(
        "requests: a journal line with part of a group of fields is merged",
        "lndesk/app/requests.py",
        "    if any(group & fields and not group <= fields for group in _GROUPS):",
        "    if False:",
        JOURNAL,
    ),
    Mutant(
        "pseudonyms: a key file the disk refused is a bare OSError",
        "lndesk/app/pseudonyms.py",
        "        raise disk_full_error(service.data_dir, exc) or KeyFileError(",
        "        raise exc or KeyFileError(",
        ("tests/test_cli_pseudonyms.py",),
    ),
    Mutant(
        "compact: a copy is made on a disk without room for it",
        "lndesk/store/compact.py",
        "    if not worth_copying(free, size) or store.space.low(size - free):",
        "    if not worth_copying(free, size):",
        COMPACT,
    ),
    Mutant(
        "requests: a line is appended to a line a crash tore",
        "lndesk/app/requests.py",
        'if size and os.pread(fd, 1, size - 1) != b"\\n":',
        "if False:",
        JOURNAL,
    ),
]
