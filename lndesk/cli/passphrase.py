"""The passphrase of a sealed key file, asked in the terminal with three tries.

It is asked only when the secret key is needed (publishing, `key backup`, `export` of a
sealed key, a running node): commands that read, `id` among them, use the public key,
which the key file holds in clear. ``LNDESK_PASSPHRASE`` answers without asking.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable

from lndesk.app.datadir import ENV_PASSPHRASE
from lndesk.errors import PassphraseError

TRIES = 3


class TerminalPassphrase:
    """A passphrase source (``() -> str``) that may be asked again after a wrong answer.

    :attr:`tries` tells the service how often to ask: three times at a terminal, once
    when the answer comes from ``LNDESK_PASSPHRASE`` (asking again gives the same).
    """

    def __init__(
        self,
        ask: Callable[[str], str] = getpass.getpass,
        interactive: Callable[[], bool] | None = None,
    ) -> None:
        self._ask = ask
        self._interactive = interactive
        self._asked = 0

    @property
    def tries(self) -> int:
        return 1 if os.environ.get(ENV_PASSPHRASE) is not None else TRIES

    def __call__(self) -> str:
        value = os.environ.get(ENV_PASSPHRASE)
        if value is not None:
            return value
        at_terminal = self._interactive() if self._interactive else sys.stdin.isatty()
        if not at_terminal:
            raise PassphraseError(
                "the key file is protected by a passphrase and there is no terminal to ask for it",
                f"Set {ENV_PASSPHRASE} for non-interactive use.",
            )
        if self._asked:
            left = TRIES - self._asked
            print(
                f"That passphrase does not open the key file ({left} "
                f"{'try' if left == 1 else 'tries'} left).",
                file=sys.stderr,
            )
        self._asked += 1
        return self._ask("Passphrase: ")
