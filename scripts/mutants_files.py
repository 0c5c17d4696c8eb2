"""The mutants of the bounds on files a user is handed or a settings file lists: the
bootstrap peers of config.json and of `lndesk network`, and the backup file read by
`lndesk import`; scripts/mutants.py adds them to its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

BOOTSTRAP = ("tests/test_bootstrap_limit.py",)

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
]

__all__ = ["FILES_MUTANTS"]
