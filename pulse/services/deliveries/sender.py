"""One attempt of one delivery: claim it, sign it, POST it, record what happened.

The claim (``AttemptStarted``) is saved *before* anything is sent. Two workers
holding the same job (a duplicate enqueue, a job arq ran again after a worker died)
cannot both send: the second claim conflicts on the aggregate's version. A worker
that dies after its claim leaves the delivery ``sending`` until the claim expires
(the request's deadline plus a margin); then the sweeper enqueues it again and the
next claimant counts the lost attempt as failed and sends again, with the same
``webhook-id``: the only way a receiver sees a message twice is as such a retry.

Outcomes: a 2xx succeeds. Anything else fails the attempt: another status (3xx
included: redirects are not followed), a timeout (a total deadline over connecting,
sending and reading the answer), a connection error, or a destination the SSRF
guard refuses (the error says why; retried, since DNS may change back). ``410 Gone``
fails the delivery for good and disables the endpoint. Every failure extends the
endpoint's failure streak, and an endpoint failing for longer than
``webhook_disable_after_seconds`` is disabled (its ``Disabled`` event is what the
project's other endpoints hear as ``webhook_endpoint.disabled``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import httpx
from eventsourcing.persistence import IntegrityError

from pulse.config import Settings
from pulse.domain.context import CommandContext
from pulse.domain.webhook_delivery import WebhookDelivery
from pulse.domain.webhook_endpoint import DisabledBy, WebhookEndpoint
from pulse.logging import get_logger
from pulse.outbound.resolver import Resolver
from pulse.outbound.transport import ForbiddenDestinationError, GuardedTransport
from pulse.services.application import PulseApplication
from pulse.services.clock import utc_now
from pulse.services.deliveries.schedule import claim_seconds, next_attempt_at
from pulse.services.deliveries.signing import body_of, signed_headers
from pulse.services.errors import NotFoundError
from pulse.services.webhook_secrets import WebhookSecrets

log = get_logger(__name__)

CONTEXT = CommandContext.system("webhook-sender")
_ENDPOINT_SAVE_TRIES = 5

Clock = Callable[[], datetime]


def delivery_client(
    settings: Settings,
    resolver: Resolver | None = None,
    inner_transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None,
) -> httpx.AsyncClient:
    """The HTTP client of deliveries: every request through the SSRF guard, no redirects."""
    transport = (
        GuardedTransport(settings, resolver)
        if inner_transport_factory is None
        else GuardedTransport(settings, resolver, inner_transport_factory)
    )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        timeout=settings.webhook_timeout_seconds,
    )


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int | None
    error: str | None
    latency_ms: float
    body: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    body: str,
    settings: Settings,
) -> Response:
    """POST within a total deadline; the answer's body is read up to the configured size."""
    limit = settings.webhook_response_body_max_bytes
    deadline = settings.webhook_timeout_seconds
    started = time.perf_counter()
    status: int | None = None
    kept = bytearray()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    try:
        async with asyncio.timeout(deadline):
            async with client.stream("POST", url, content=body.encode(), headers=headers) as answer:
                status = answer.status_code
                if limit:
                    async for chunk in answer.aiter_bytes():
                        kept += chunk
                        if len(kept) >= limit:
                            break
    except (TimeoutError, httpx.TimeoutException):
        return Response(status, f"timed out after {deadline:g} s", elapsed(), _text(kept, limit))
    except ForbiddenDestinationError as refused:
        return Response(None, f"destination refused: {refused.reason}", elapsed(), None)
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        return Response(status, f"{type(error).__name__}: {reason}", elapsed(), _text(kept, limit))
    latency = elapsed()
    error_text = None
    if status is not None and not 200 <= status < 300:
        error_text = f"answered {status}"
        if 300 <= status < 400:
            error_text += " (redirects are not followed)"
    return Response(status, error_text, latency, _text(kept, limit))


def _text(kept: bytearray, limit: int) -> str | None:
    if not kept:
        return None
    return bytes(kept[:limit]).decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class SendResult:
    result: str
    """sent, failed, gone, abandoned, not_due, missing, claimed_elsewhere, claim_lost."""
    delivery: WebhookDelivery | None = None
    """The delivery as this attempt left it (to enqueue its next attempt)."""


class Sender:
    def __init__(
        self,
        app: PulseApplication,
        settings: Settings,
        client: httpx.AsyncClient,
        clock: Clock = utc_now,
    ) -> None:
        self.app = app
        self.settings = settings
        self.client = client
        self.clock = clock
        self.secrets = WebhookSecrets(settings)

    async def send(self, delivery_id: UUID) -> SendResult:
        try:
            delivery = await asyncio.to_thread(self.app.load, delivery_id, WebhookDelivery)
        except NotFoundError:
            return SendResult("missing")
        now = self.clock()
        if not delivery.is_due(now):
            return SendResult("not_due", delivery)
        endpoint = await asyncio.to_thread(self._endpoint, delivery.endpoint_id)
        if endpoint is None or endpoint.deleted or not endpoint.enabled:
            gone_for_good = endpoint is None or endpoint.deleted
            reason = "endpoint deleted" if gone_for_good else "endpoint disabled"
            if delivery.abandon(now, reason, CONTEXT) and not await self._save(delivery):
                return SendResult("claimed_elsewhere", delivery)
            return SendResult("abandoned", delivery)
        attempt = delivery.claim(
            now, now + timedelta(seconds=claim_seconds(self.settings)), CONTEXT
        )
        if not await self._save(delivery):
            return SendResult("claimed_elsewhere")
        try:
            secrets = [self.secrets.open(sealed) for sealed in endpoint.signing_secrets(now)]
            body = body_of(delivery.payload)
            headers = signed_headers(secrets, delivery.message_id, self.clock(), body)
        except Exception as error:
            # E.g. a secret sealed under another key: a failed attempt (retried, then
            # failed for good), not a claim left to expire again and again.
            log.exception("webhook_signing_failed", delivery_id=str(delivery.id))
            response = Response(None, f"could not sign: {type(error).__name__}", 0.0, None)
        else:
            response = await post(self.client, endpoint.url, headers, body, self.settings)
        finished = self.clock()
        gone = response.status_code == 410
        if response.ok:
            assert response.status_code is not None
            delivery.succeed(
                attempt, finished, response.status_code, response.latency_ms, response.body, CONTEXT
            )
        else:
            delivery.fail_attempt(
                attempt,
                finished,
                response.status_code,
                response.error or "failed",
                response.latency_ms,
                response.body,
                None if gone else next_attempt_at(self.settings, attempt, finished),
                CONTEXT,
            )
        if not await self._save(delivery):
            # Our claim expired and another worker took the attempt over: its outcome
            # stands. (Only when saving ours took longer than the claim's margin.)
            log.warning("webhook_claim_lost", delivery_id=str(delivery.id), attempt=attempt)
            return SendResult("claim_lost")
        if not (response.ok and endpoint.failing_since is None):
            # A success of an endpoint not failing changes nothing: no reload, no save.
            await asyncio.to_thread(self._update_endpoint, endpoint.id, response.ok, gone, finished)
        result = "sent" if response.ok else ("gone" if gone else "failed")
        log.info(
            "webhook_attempt",
            delivery_id=str(delivery.id),
            endpoint_id=str(endpoint.id),
            attempt=attempt,
            result=result,
            status_code=response.status_code,
            error=response.error,
            latency_ms=response.latency_ms,
        )
        return SendResult(result, delivery)

    def _endpoint(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        try:
            return self.app.load(endpoint_id, WebhookEndpoint)
        except NotFoundError:
            return None

    async def _save(self, delivery: WebhookDelivery) -> bool:
        try:
            await asyncio.to_thread(self.app.save, delivery)
        except IntegrityError:
            return False
        return True

    def _update_endpoint(self, endpoint_id: UUID, ok: bool, gone: bool, at: datetime) -> None:
        """The endpoint's failure streak, and disabling; retried over concurrent changes."""
        span = self.settings.webhook_disable_after_seconds
        for _ in range(_ENDPOINT_SAVE_TRIES):
            endpoint = self._endpoint(endpoint_id)
            if endpoint is None or endpoint.deleted:
                return
            if ok:
                endpoint.record_success(at, CONTEXT)
            else:
                endpoint.record_failure(at, CONTEXT)
                if gone:
                    endpoint.disable(DisabledBy.GONE, "The endpoint answered 410 Gone", at, CONTEXT)
                elif endpoint.failing_longer_than(span, at):
                    endpoint.disable(
                        DisabledBy.FAILING,
                        f"Every delivery failed for more than {span} s",
                        at,
                        CONTEXT,
                    )
            if not endpoint.pending_events:
                return
            try:
                self.app.save(endpoint)
            except IntegrityError:
                continue  # Changed meanwhile (another attempt, a user): apply again.
            else:
                if not endpoint.enabled:
                    log.warning(
                        "webhook_endpoint_disabled",
                        endpoint_id=str(endpoint_id),
                        disabled_by=str(endpoint.disabled_by),
                    )
                return
        log.warning("webhook_endpoint_update_gave_up", endpoint_id=str(endpoint_id))
