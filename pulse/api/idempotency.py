"""Idempotency-Key on POST: a retried request gets the first one's answer, not a rerun.

Modelled on Stripe's idempotent requests. A POST carrying ``Idempotency-Key``:

1. reserves the key in Redis (``SET NX``) together with the request's fingerprint
   (method, path, query and a SHA-256 of the body);
2. runs the route, passing its response straight through to the client while keeping
   a copy;
3. stores that response (status, body, the headers in ``STORED_HEADERS``, the request
   id) for ``idempotency_ttl_seconds`` (24 h).

A later request with the same key and fingerprint gets the stored response replayed
byte for byte with ``Idempotent-Replayed: true`` and ``Idempotent-Original-Request-ID``;
the route does not run. Same key, other fingerprint: 422. Same key while the first
request still runs: wait for it (up to ``idempotency_wait_seconds``) and replay, or 409.
A response with status >= 500 is not stored: the reservation is dropped so that the
client's retry runs again.

The reservation is a lease (``idempotency_lease_seconds``) that the running request
renews, rather than a 24 h lock: a process that dies mid-request must not leave its
key answering 409 for a day; once its lease lapses a retry runs.

Keys are scoped to the caller by ``app.state.idempotency_scope(request)`` (sync or
async; None means anonymous). It runs before the route, so it sees headers and
``request.state`` but not the body. The default, ``credential_scope``, gives one
scope per credential presented; authentication will replace it with the
authenticated principal's id (so a rotated credential keeps its keys). Scope and key
are stored only as SHA-256 digests, so no credential reaches Redis or the logs.

If Redis is unreachable a keyed POST is refused with 503 rather than run: the client
asked for at-most-once, and running it unguarded could do the work twice. Requests
without a key are unaffected.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse.api.context import request_id_of
from pulse.api.idempotency_sealing import ResponseSealer
from pulse.api.problems import BLANK_TYPE, problem_response
from pulse.config import Settings
from pulse.logging import get_logger

log = get_logger(__name__)

ScopeOf = Callable[[Request], Awaitable[str | None] | str | None]

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
ORIGINAL_REQUEST_ID_HEADER = "Idempotent-Original-Request-ID"

KEY_INVALID_TYPE = "/problems/idempotency-key-invalid"
KEY_REUSED_TYPE = "/problems/idempotency-key-reused"
KEY_IN_PROGRESS_TYPE = "/problems/idempotency-key-in-progress"

METHODS = frozenset({"POST"})
ANONYMOUS_SCOPE = "anonymous"

# Printable ASCII: anything else could not travel back in a header or a log line.
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")

# What a replay must reproduce. The request id, security, cache and rate-limit
# headers are added afresh by the outer middleware for the replaying request.
STORED_HEADERS = frozenset(
    {
        b"cache-control",
        b"content-encoding",
        b"content-language",
        b"content-location",
        b"content-type",
        b"etag",
        b"last-modified",
        b"link",
        b"location",
    }
)

# A waiting request polls the key, backing off from the first delay to the longest.
_POLL_FIRST_SECONDS = 0.01
_POLL_LONGEST_SECONDS = 0.2

_STORE_ERRORS = (RedisError, OSError)

# KEYS[1]: the key; ARGV[1]: the claim this process wrote. Each script acts only if the
# key still holds that claim, so a request whose lease lapsed (and was taken over)
# can neither extend, overwrite nor delete its successor's reservation.
_RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_COMPLETE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def credential_scope(request: Request) -> str | None:
    """Default scope: a digest of the credentials presented, None when there are none."""
    authorization = request.headers.get("authorization")
    api_key = request.headers.get("x-pulse-key")
    if authorization is None and api_key is None:
        return None
    return "credential:" + _sha256(json.dumps([authorization, api_key]))


async def scope_of(scope: Scope) -> str | None:
    app = scope.get("app")
    hook = cast(
        ScopeOf, getattr(getattr(app, "state", None), "idempotency_scope", credential_scope)
    )
    result = hook(Request(scope))
    if isinstance(result, Awaitable):
        return await result
    return result


def redis_key(prefix: str, caller: str, idempotency_key: str) -> str:
    """Where a caller's key lives: digests only, so no credential or key text is stored."""
    return f"{prefix}idempotency:{_sha256(caller)}:{_sha256(idempotency_key)}"


def request_fingerprint(scope: Scope, body: bytes) -> str:
    parts = [
        scope["method"],
        scope.get("root_path", "") + scope["path"],
        scope.get("query_string", b"").decode("latin-1"),
        _sha256(body),
    ]
    return _sha256(json.dumps(parts))


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    request_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            # Header bytes are Latin-1 in ASGI; base64 keeps the body exact.
            "headers": [
                [name.decode("latin-1"), value.decode("latin-1")] for name, value in self.headers
            ],
            "body": base64.b64encode(self.body).decode("ascii"),
            "request_id": self.request_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredResponse:
        return cls(
            status=int(data["status"]),
            headers=tuple(
                (name.encode("latin-1"), value.encode("latin-1")) for name, value in data["headers"]
            ),
            body=base64.b64decode(data["body"]),
            request_id=data.get("request_id"),
        )


@dataclass(frozen=True, slots=True)
class Record:
    """What Redis holds for a key: the request's fingerprint, and its response once done."""

    fingerprint: str
    response: StoredResponse | None

    @classmethod
    def decode(cls, raw: bytes, sealer: ResponseSealer) -> Record:
        data = json.loads(raw)
        sealed = data.get("response")
        response = None
        if sealed is not None:
            response = StoredResponse.from_json(json.loads(sealer.open(sealed)))
        return cls(fingerprint=str(data["fingerprint"]), response=response)


@dataclass(frozen=True, slots=True)
class Reservation:
    """A key this request holds: ``claim`` is the exact value it wrote there."""

    key: str
    claim: str
    fingerprint: str


class IdempotencyStore:
    """The Redis side: reserve a key, renew, complete or release the reservation."""

    def __init__(self, redis: Redis, settings: Settings, sealer: ResponseSealer) -> None:
        self.redis = redis
        self.sealer = sealer
        self.ttl_ms = settings.idempotency_ttl_seconds * 1000
        self.lease_ms = max(1, math.ceil(settings.idempotency_lease_seconds * 1000))
        self._renew = redis.register_script(_RENEW_SCRIPT)
        self._complete = redis.register_script(_COMPLETE_SCRIPT)
        self._release = redis.register_script(_RELEASE_SCRIPT)

    async def reserve(self, key: str, fingerprint: str) -> Reservation | None:
        """The reservation if the key was free, else None."""
        # The random owner makes each claim unique, so only its writer can match it.
        claim = json.dumps({"fingerprint": fingerprint, "owner": secrets.token_hex(16)})
        reserved = await self.redis.set(key, claim, nx=True, px=self.lease_ms)
        return Reservation(key, claim, fingerprint) if reserved else None

    async def read(self, key: str) -> Record | None:
        raw = await self.redis.get(key)
        return Record.decode(raw, self.sealer) if raw is not None else None

    async def renew(self, held: Reservation) -> bool:
        return bool(await self._renew(keys=[held.key], args=[held.claim, self.lease_ms]))

    async def complete(self, held: Reservation, response: StoredResponse) -> bool:
        sealed = self.sealer.seal(json.dumps(response.to_json()).encode())
        value = json.dumps({"fingerprint": held.fingerprint, "response": sealed})
        return bool(await self._complete(keys=[held.key], args=[held.claim, value, self.ttl_ms]))

    async def release(self, held: Reservation) -> bool:
        return bool(await self._release(keys=[held.key], args=[held.claim]))


@dataclass
class _ResponseCapture:
    """Passes the response on as it comes and keeps what a replay needs."""

    downstream: Send
    status: int | None = None
    headers: tuple[tuple[bytes, bytes], ...] = ()
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False
    replayable: bool = True

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = tuple(
                (name.lower(), value)
                for name, value in message.get("headers", [])
                if name.lower() in STORED_HEADERS
            )
            # Trailers would arrive after the body, where a replay has no room for them.
            self.replayable = not message.get("trailers", False)
        elif kind == "http.response.body":
            self.chunks.append(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        else:  # An ASGI extension (pathsend, zerocopy, ...): not a plain stored body.
            self.replayable = False
        await self.downstream(message)

    def response(self, request_id: str | None) -> StoredResponse | None:
        if self.status is None or not self.complete or not self.replayable:
            return None
        return StoredResponse(self.status, self.headers, b"".join(self.chunks), request_id)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)


def _receive_buffered(body: bytes, receive: Receive) -> Receive:
    """Feeds the buffered body to the app once; after that, the client's own messages."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _replay(send: Send, response: StoredResponse) -> None:
    headers = [
        *response.headers,
        (b"content-length", str(len(response.body)).encode("ascii")),
        (REPLAYED_HEADER.lower().encode("ascii"), b"true"),
    ]
    if response.request_id is not None:
        headers.append(
            (ORIGINAL_REQUEST_ID_HEADER.lower().encode("ascii"), response.request_id.encode())
        )
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})


async def _finish_anyway(work: Coroutine[Any, Any, None]) -> None:
    # Settling the key must not be cut short by the cancellation that may be the very
    # reason we are here; a dropped release would leave the key blocked until its lease ends.
    await asyncio.shield(asyncio.ensure_future(work))


class IdempotencyMiddleware:
    """Pure ASGI: buffers a keyed POST's body once, replays or runs and records it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.exempt_prefixes = tuple(settings.idempotency_exempt_prefixes)
        self.lease_seconds = settings.idempotency_lease_seconds
        self.wait_seconds = settings.idempotency_wait_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in METHODS
            or scope["path"].startswith(self.exempt_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        idempotency_keys = Headers(scope=scope).getlist(IDEMPOTENCY_KEY_HEADER)
        if not idempotency_keys:
            await self.app(scope, receive, send)
            return
        if len(idempotency_keys) > 1 or not _VALID_KEY.fullmatch(idempotency_keys[0]):
            await _answer_problem(
                scope,
                receive,
                send,
                HTTPStatus.BAD_REQUEST,
                "Idempotency-Key must be one header of 1 to 255 printable ASCII characters.",
                type_=KEY_INVALID_TYPE,
            )
            return
        try:
            body = await _read_body(receive)
        except HTTPException as exc:  # The body limit, counted while we read.
            await self._body_refused(scope, receive, send, exc)
            return
        if body is None:
            return  # The client is gone; there is nobody to answer.
        await self._handle(scope, receive, send, idempotency_keys[0], body)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, idempotency_key: str, body: bytes
    ) -> None:
        caller = await scope_of(scope) or ANONYMOUS_SCOPE
        key = redis_key(self.settings.redis_key_prefix, caller, idempotency_key)
        fingerprint = request_fingerprint(scope, body)
        try:
            store = self._store(scope, caller, idempotency_key)
            outcome = await self._claim(store, key, fingerprint)
        except _STORE_ERRORS as error:
            log.warning("idempotency_unavailable", error=repr(error))
            await _answer_problem(
                scope,
                receive,
                send,
                HTTPStatus.SERVICE_UNAVAILABLE,
                "Idempotency keys cannot be honoured right now; retry the request later.",
            )
            return
        if isinstance(outcome, Reservation):
            await self._run(scope, receive, send, body, store, outcome)
        elif outcome.fingerprint != fingerprint:
            log.info("idempotency_key_reused", key_digest=_short(key))
            await _answer_problem(
                scope,
                receive,
                send,
                HTTPStatus.UNPROCESSABLE_ENTITY,
                "This Idempotency-Key was already used with a different request "
                "(method, path, query or body); use a new key for a new request.",
                type_=KEY_REUSED_TYPE,
            )
        elif outcome.response is not None:
            log.info("idempotency_replayed", key_digest=_short(key))
            await _replay(send, outcome.response)
        else:
            log.info("idempotency_key_in_progress", key_digest=_short(key))
            await _answer_problem(
                scope,
                receive,
                send,
                HTTPStatus.CONFLICT,
                "A request with this Idempotency-Key is still being processed; "
                "retry after it has finished.",
                type_=KEY_IN_PROGRESS_TYPE,
            )

    def _store(self, scope: Scope, caller: str, idempotency_key: str) -> IdempotencyStore:
        clients = getattr(getattr(scope.get("app"), "state", None), "clients", None)
        if clients is None:  # Outside the lifespan: as good as Redis being down.
            raise RedisError("no Redis client on app.state")
        pepper = self.settings.credential_pepper.get_secret_value().encode()
        sealer = ResponseSealer(pepper, caller, idempotency_key)
        return IdempotencyStore(clients.redis, self.settings, sealer)

    async def _claim(
        self, store: IdempotencyStore, key: str, fingerprint: str
    ) -> Reservation | Record:
        """The key, reserved for us, or the record of the request that holds it.

        While that request runs with the same fingerprint, wait for it to finish: a
        client retrying on a timeout should get the answer, not an error.
        """
        deadline = time.monotonic() + self.wait_seconds
        delay = _POLL_FIRST_SECONDS
        while True:
            reservation = await store.reserve(key, fingerprint)
            if reservation is not None:
                return reservation
            record = await store.read(key)
            if record is None:
                continue  # Released or lapsed since our SET; try to take it at once.
            if record.fingerprint != fingerprint or record.response is not None:
                return record
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return record
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, _POLL_LONGEST_SECONDS)

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: bytes,
        store: IdempotencyStore,
        held: Reservation,
    ) -> None:
        capture = _ResponseCapture(send)
        renewing = asyncio.ensure_future(self._renew_while_running(store, held))
        try:
            await self.app(scope, _receive_buffered(body, receive), capture.send)
        except BaseException:
            renewing.cancel()
            await _finish_anyway(self._settle(store, held, None))
            raise
        renewing.cancel()
        response = capture.response(request_id_of(scope))
        if response is not None and response.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            response = None  # A server error is worth retrying: do not pin it to the key.
        await _finish_anyway(self._settle(store, held, response))

    async def _settle(
        self, store: IdempotencyStore, held: Reservation, response: StoredResponse | None
    ) -> None:
        """Store the response, or give the key back; the client has its answer either way."""
        try:
            if response is None:
                await store.release(held)
            elif not await store.complete(held, response):
                log.warning("idempotency_lease_lost_before_store", key_digest=_short(held.key))
        except _STORE_ERRORS as error:
            # The reservation lapses after its lease; until then a retry waits or gets 409.
            log.warning("idempotency_store_failed", key_digest=_short(held.key), error=repr(error))

    async def _renew_while_running(self, store: IdempotencyStore, held: Reservation) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                if not await store.renew(held):
                    log.warning("idempotency_lease_lost", key_digest=_short(held.key))
                    return
            except _STORE_ERRORS as error:
                # Keep trying: about two thirds of the lease are still left.
                log.warning("idempotency_lease_renewal_failed", error=repr(error))

    async def _body_refused(
        self, scope: Scope, receive: Receive, send: Send, exc: HTTPException
    ) -> None:
        detail = (
            f"The request body exceeds the limit of {self.settings.max_request_body_bytes} bytes."
            if exc.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            else str(exc.detail)
        )
        await _answer_problem(scope, receive, send, exc.status_code, detail)


def _short(key: str) -> str:
    """A log-friendly handle on a Redis key: the tail of the key's digest."""
    return key[-16:]


async def _answer_problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    detail: str,
    *,
    type_: str = BLANK_TYPE,
) -> None:
    await problem_response(scope, status, detail, type_=type_)(scope, receive, send)
