"""The running node's side of exactly-once publishing: each request id is acted on at most
once (the journal and its answers: :mod:`lndesk.app.requests`)."""

from __future__ import annotations

import logging
from typing import Any

from lndesk.app.actions import run_action
from lndesk.app.requests import Outcome, RequestJournal, outcome_json
from lndesk.errors import UsageError

logger = logging.getLogger(__name__)


class OnceOnly:
    """The running node's side: each request id is acted on at most once (trio thread)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.journal = RequestJournal(app.data_dir)
        self._running: set[str] = set()

    def _outcome(self, request_id: str) -> Outcome | None:
        service = self.app.service
        return self.journal.outcome(request_id, service.store, service.public_key)

    async def act(self, request_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        if request_id in self._running:
            raise UsageError(
                "that request is still being carried out", "Wait for the first attempt."
            )
        done = self._outcome(request_id)
        if done is not None and (done.published or done.result is not None):
            logger.info("request %s was carried out before; not repeated", request_id)
            return done.as_result()
        self._running.add(request_id)
        try:

            def action(service: Any) -> dict[str, Any]:
                service.publishing_request = (self.journal, request_id)
                try:
                    return run_action(service, name, args)
                finally:
                    service.publishing_request = None

            result: dict[str, Any] = await self.app.publish(action)
            self.journal.finished(request_id, result)
            return result
        finally:
            self._running.discard(request_id)

    def status(self, request_id: str) -> dict[str, Any]:
        if request_id in self._running:
            return {"state": "running"}
        return outcome_json(self._outcome(request_id))
