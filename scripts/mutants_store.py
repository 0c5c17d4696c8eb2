"""The mutants of the store's and the app's crash and file-handling checks (index
compaction, the request journal); scripts/mutants.py adds them to its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

COMPACT = ("tests/test_index_compact.py",)
JOURNAL = ("tests/test_request_journal.py",)
FORGET = ("tests/test_store_forget.py",)

STORE_MUTANTS = [
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
        "store: a rebuild of the open index drops forgotten entries' queued purges",
        "lndesk/store/store.py",
        "self._purge_first(self.index.pending_purges())",
        "self.index.pending_purges()",
        FORGET,
    ),
    Mutant(
        "requests: a line is appended to a line a crash tore",
        "lndesk/app/requests.py",
        'if size and os.pread(fd, 1, size - 1) != b"\\n":',
        "if False:",
        JOURNAL,
    ),
]
