"""Pull requests for one durable consumer, and the credit they hold on the server.

A pull request (``$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>`` with
``{"batch": N, "expires": ns}``) asks the server for up to N messages, sent to the
reply inbox until it has delivered N or expired. ``pending`` counts messages asked
for and not yet delivered. Each delivery takes one off; the status message that
ends a request (408 expired, 409 conflict, 404 none) carries in
``Nats-Pending-Messages`` how many it did not deliver, which gives that credit back.
With several requests open the server serves them in turn, so deliveries cannot be
matched to requests; only the totals matter.

Credit the server no longer holds is written off: after a reconnect (the server
drops the old connection's requests) and when no request has been sent for longer
than a request lives.
"""

from __future__ import annotations

import time
from typing import Any

import nats.errors
import orjson
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, Header

from central.streams import StreamSpec
from central_archiver.settings import ArchiverSettings

# How long a request may be silent past its expiry before its credit is written off.
_GRACE_S = 2.0
_NATS_ERRORS = (nats.errors.Error, OSError, TimeoutError)


def consumer_config(spec: StreamSpec, settings: ArchiverSettings) -> ConsumerConfig:
    """The archiver's durable pull consumer on ``spec``'s stream."""
    subjects = list(spec.subjects)
    return ConsumerConfig(
        name=spec.durable,
        durable_name=spec.durable,
        description="Central archiver: every event into the archive database",
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_s,
        max_ack_pending=settings.max_ack_pending,
        filter_subject=subjects[0] if len(subjects) == 1 else None,
        filter_subjects=subjects if len(subjects) > 1 else None,
    )


class PullCredit:
    """Sends pull requests on ``nc`` so that at most ``window`` messages are out.

    ``inbox`` is the reply subject the caller subscribes to; ``top_up`` sends
    requests of ``batch_size`` while a whole batch fits beside what is in hand.
    """

    def __init__(
        self, nc: Any, spec: StreamSpec, settings: ArchiverSettings, log: Any
    ) -> None:
        self._nc = nc
        self._log = log
        self.batch_size = settings.batch_size
        self.window = settings.batch_size * settings.prefetch_batches
        self._expires_s = settings.pull_expires_s
        self._subject = f"$JS.API.CONSUMER.MSG.NEXT.{spec.name}.{spec.durable}"
        self._request = orjson.dumps(
            {"batch": self.batch_size, "expires": int(self._expires_s * 1e9)}
        )
        self.inbox: str = nc.new_inbox()
        self.pending = 0
        self._last_request = 0.0
        self._reconnects = nc.stats.get("reconnects", 0)

    def delivered(self) -> None:
        """One message arrived for an open request."""
        if self.pending:
            self.pending -= 1

    def ended(self, headers: dict[str, str]) -> bool:
        """Account for a status message; True when the consumer needs setting up.

        A 503 (no responders: no such consumer or stream) and a 409 saying the
        consumer was deleted call for a new set-up; other 409s (server shutdown,
        leadership change, limits) are logged and only return credit.
        """
        code = headers.get("Status", "")
        if code == "100":
            return False  # idle heartbeat or flow control: no credit changes hands
        left = headers.get("Nats-Pending-Messages", "")
        # Without the count, assume the whole request ended undelivered: pulling a
        # little too much is harmless, pulling too little stalls until the grace.
        returned = int(left) if left.isdigit() else self.batch_size
        self.pending = max(0, self.pending - returned)
        if code in ("404", "408"):
            return False
        description = (headers.get(Header.DESCRIPTION, "") or "").strip()
        self._log.warning("pull_request_ended", status=code, description=description)
        return code == "503" or "deleted" in description.lower()

    async def top_up(self, in_hand: int) -> None:
        """Send requests while a whole batch fits beside ``in_hand`` and pending."""
        while self.window - self.pending - in_hand >= self.batch_size:
            try:
                await self._nc.publish(self._subject, self._request, reply=self.inbox)
            except _NATS_ERRORS as exc:
                self._log.warning("pull_request_failed", error=repr(exc))
                return
            self.pending += self.batch_size
            self._last_request = time.monotonic()

    def audit(self) -> None:
        """Write off credit the server cannot hold any more."""
        reconnects = self._nc.stats.get("reconnects", 0)
        if reconnects != self._reconnects:
            self._reconnects = reconnects
            self.pending = 0
            self._log.info("pull_credit_reset", reason="reconnected")
        elif (
            self.pending
            and time.monotonic() - self._last_request > self._expires_s + _GRACE_S
        ):
            self.pending = 0
            self._log.info("pull_credit_reset", reason="requests_silent")
