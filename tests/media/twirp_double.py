"""A stand-in for LiveKit's egress and ingress services, speaking LiveKit's own protocol.

LiveKit's egress and ingress workers need Chrome and GStreamer and cannot run in this
environment: the real livekit-server here answers every start with "no response from
servers" (no egress worker) and every ingress call with "ingress not connected". To
test the lifecycles (start -> active -> complete/failed; ingress create -> publishing
-> ended -> deleted), this double serves the same Twirp API the real server does:

- ``POST /twirp/livekit.Egress/<Method>`` and ``POST /twirp/livekit.Ingress/<Method>``;
- bodies are ``livekit.protocol`` messages, as protobuf (``application/protobuf``, what
  livekit-api sends) or protobuf JSON (``application/json``), answered in the same
  encoding;
- the ``Authorization`` token is verified with the API secret and must carry the grant
  LiveKit requires (``roomRecord`` for egress, ``ingressAdmin`` for ingress);
- errors are Twirp errors: JSON ``{"code", "msg"}`` with the matching HTTP status.

It keeps what it started in memory and records every request (``calls``), so a test can
check what Pulse sent (storage keys, stream URLs) and build the ``EgressInfo`` /
``IngressInfo`` of later webhooks from the state LiveKit would report. ``egress_info``
and ``ingress_info`` also change what ``ListEgress`` / ``ListIngress`` answer (by id,
as LiveKit does: ``not_found`` for an id it does not have), so a test can move an
egress on without delivering the webhook; ``forget_egress`` makes LiveKit lose one.
``refuse_next`` makes the next call fail with a given Twirp code, as the real server
does.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.api import TokenVerifier
from livekit.protocol import egress as eg
from livekit.protocol import ingress as ig

API_KEY = "devkey"
API_SECRET = "secret"

_STATUS_OF_CODE = {
    "invalid_argument": 400,
    "malformed": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "failed_precondition": 412,
    "internal": 500,
    "unavailable": 503,
}


def now_ns() -> int:
    return time.time_ns()


class TwirpFailureError(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


@dataclass
class Call:
    service: str
    method: str
    request: Message


Method = tuple[type[Message], Callable[[Any], Message], str]


@dataclass
class LiveKitMediaDouble:
    api_key: str = API_KEY
    api_secret: str = API_SECRET
    egresses: dict[str, eg.EgressInfo] = field(default_factory=dict)
    ingresses: dict[str, ig.IngressInfo] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    _refusals: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse_next(self, code: str, msg: str) -> None:
        """The next call fails with this Twirp error (e.g. "unavailable")."""
        with self._lock:
            self._refusals.append((code, msg))

    # -- egress -----------------------------------------------------------------------

    def _start(self, room_name: str, fill: Callable[[eg.EgressInfo], None]) -> eg.EgressInfo:
        info = eg.EgressInfo(
            egress_id=f"EG_{uuid.uuid4().hex[:12]}",
            room_id=f"RM_{uuid.uuid4().hex[:12]}",
            room_name=room_name,
            status=eg.EgressStatus.EGRESS_STARTING,
            updated_at=now_ns(),
        )
        fill(info)
        self.egresses[info.egress_id] = info
        return info

    def start_room_composite(self, request: eg.RoomCompositeEgressRequest) -> eg.EgressInfo:
        if not request.room_name:
            raise TwirpFailureError("invalid_argument", "room_name is required")
        return self._start(request.room_name, lambda i: i.room_composite.CopyFrom(request))

    def start_track_composite(self, request: eg.TrackCompositeEgressRequest) -> eg.EgressInfo:
        return self._start(request.room_name, lambda i: i.track_composite.CopyFrom(request))

    def start_track(self, request: eg.TrackEgressRequest) -> eg.EgressInfo:
        return self._start(request.room_name, lambda i: i.track.CopyFrom(request))

    def stop(self, request: eg.StopEgressRequest) -> eg.EgressInfo:
        info = self.egresses.get(request.egress_id)
        if info is None:
            raise TwirpFailureError("not_found", "egress not found")
        if info.status not in (eg.EgressStatus.EGRESS_STARTING, eg.EgressStatus.EGRESS_ACTIVE):
            raise TwirpFailureError("failed_precondition", "egress is not active")
        info.status = eg.EgressStatus.EGRESS_ENDING
        info.updated_at = now_ns()
        return info

    def list_egress(self, request: eg.ListEgressRequest) -> eg.ListEgressResponse:
        if request.egress_id:
            # As LiveKit's store answers an id it does not have (or no longer has).
            if request.egress_id not in self.egresses:
                raise TwirpFailureError("not_found", "egress does not exist")
            return eg.ListEgressResponse(items=[self.egresses[request.egress_id]])
        found = [
            i
            for i in self.egresses.values()
            if not request.room_name or i.room_name == request.room_name
        ]
        return eg.ListEgressResponse(items=found)

    def forget_egress(self, egress_id: str) -> None:
        """LiveKit loses the egress (expired from its store, or its state was lost)."""
        with self._lock:
            del self.egresses[egress_id]

    def egress_info(self, egress_id: str, status: int, **fields: Any) -> eg.EgressInfo:
        """LiveKit's report of the egress at a new status, as a webhook would carry it."""
        info = eg.EgressInfo()
        info.CopyFrom(self.egresses[egress_id])
        info.status = status  # type: ignore[assignment]
        info.updated_at = now_ns()
        for name, value in fields.items():
            target = getattr(info, name)
            if isinstance(value, list):
                target.extend(value)
            else:
                setattr(info, name, value)
        self.egresses[egress_id].CopyFrom(info)
        return info

    # -- ingress ----------------------------------------------------------------------

    def create_ingress(self, request: ig.CreateIngressRequest) -> ig.IngressInfo:
        if not request.room_name or not request.participant_identity:
            raise TwirpFailureError("invalid_argument", "room_name and participant_identity needed")
        kind = request.input_type
        ingress_id = f"IN_{uuid.uuid4().hex[:12]}"
        info = ig.IngressInfo(
            ingress_id=ingress_id,
            name=request.name,
            input_type=kind,
            room_name=request.room_name,
            participant_identity=request.participant_identity,
            participant_name=request.participant_name,
            reusable=kind != ig.IngressInput.URL_INPUT,
            state=ig.IngressState(
                status=ig.IngressState.Status.ENDPOINT_INACTIVE, updated_at=now_ns()
            ),
        )
        if kind == ig.IngressInput.URL_INPUT:
            info.url = request.url
        else:
            info.stream_key = uuid.uuid4().hex
            info.url = (
                "rtmp://127.0.0.1:1935/x"
                if kind == ig.IngressInput.RTMP_INPUT
                else "http://127.0.0.1:8080/w"
            )
        self.ingresses[ingress_id] = info
        return info

    def delete_ingress(self, request: ig.DeleteIngressRequest) -> ig.IngressInfo:
        info = self.ingresses.pop(request.ingress_id, None)
        if info is None:
            raise TwirpFailureError("not_found", "ingress not found")
        return info

    def list_ingress(self, request: ig.ListIngressRequest) -> ig.ListIngressResponse:
        if request.ingress_id:
            if request.ingress_id not in self.ingresses:
                raise TwirpFailureError("not_found", "ingress does not exist")
            return ig.ListIngressResponse(items=[self.ingresses[request.ingress_id]])
        return ig.ListIngressResponse(items=list(self.ingresses.values()))

    def ingress_info(self, ingress_id: str, status: int, **state: Any) -> ig.IngressInfo:
        """LiveKit's report of the ingress at a new state, as a webhook would carry it."""
        info = ig.IngressInfo()
        info.CopyFrom(self.ingresses[ingress_id])
        info.state.status = status  # type: ignore[assignment]
        info.state.updated_at = now_ns()
        for name, value in state.items():
            setattr(info.state, name, value)
        self.ingresses[ingress_id].CopyFrom(info)
        info.stream_key = ""  # Webhooks do not need it; Pulse never reads it there.
        return info

    # -- dispatch ---------------------------------------------------------------------

    def methods(self) -> dict[tuple[str, str], Method]:
        return {
            ("Egress", "StartRoomCompositeEgress"): (
                eg.RoomCompositeEgressRequest,
                self.start_room_composite,
                "room_record",
            ),
            ("Egress", "StartTrackCompositeEgress"): (
                eg.TrackCompositeEgressRequest,
                self.start_track_composite,
                "room_record",
            ),
            ("Egress", "StartTrackEgress"): (
                eg.TrackEgressRequest,
                self.start_track,
                "room_record",
            ),
            ("Egress", "StopEgress"): (eg.StopEgressRequest, self.stop, "room_record"),
            ("Egress", "ListEgress"): (eg.ListEgressRequest, self.list_egress, "room_record"),
            ("Ingress", "CreateIngress"): (
                ig.CreateIngressRequest,
                self.create_ingress,
                "ingress_admin",
            ),
            ("Ingress", "DeleteIngress"): (
                ig.DeleteIngressRequest,
                self.delete_ingress,
                "ingress_admin",
            ),
            ("Ingress", "ListIngress"): (ig.ListIngressRequest, self.list_ingress, "ingress_admin"),
        }

    def authorize(self, header: str | None, grant: str) -> None:
        if not header or not header.startswith("Bearer "):
            raise TwirpFailureError("unauthenticated", "missing authorization")
        try:
            claims = TokenVerifier(self.api_key, self.api_secret).verify(
                header.removeprefix("Bearer ")
            )
        except Exception as error:
            raise TwirpFailureError("unauthenticated", f"invalid token: {error}") from None
        if not getattr(claims.video, grant, False):
            raise TwirpFailureError("permission_denied", f"the token lacks {grant}")

    def serve(self, path: str, headers: Any, body: bytes) -> tuple[int, str, bytes]:
        json_body = headers.get("Content-Type", "").startswith("application/json")
        try:
            prefix, _, method = path.removeprefix("/twirp/livekit.").partition("/")
            known = self.methods().get((prefix, method))
            if not path.startswith("/twirp/livekit.") or known is None:
                raise TwirpFailureError("bad_route", f"no handler for {path}")
            message_class, handler, grant = known
            self.authorize(headers.get("Authorization"), grant)
            try:
                request = (
                    json_format.Parse(body, message_class())
                    if json_body
                    else message_class.FromString(body)
                )
            except (DecodeError, json_format.ParseError) as error:
                raise TwirpFailureError("malformed", str(error)) from None
            with self._lock:
                self.calls.append(Call(prefix, method, request))
                if self._refusals:
                    raise TwirpFailureError(*self._refusals.pop(0))
                answer = handler(request)
        except TwirpFailureError as failure:
            payload = json.dumps({"code": failure.code, "msg": failure.msg}).encode()
            return _STATUS_OF_CODE.get(failure.code, 500), "application/json", payload
        if json_body:
            return 200, "application/json", json_format.MessageToJson(answer).encode()
        return 200, "application/protobuf", answer.SerializeToString()


def _handler_for(double: LiveKitMediaDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, content_type, payload = double.serve(
                self.path, self.headers, self.rfile.read(length)
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running_double() -> Iterator[LiveKitMediaDouble]:
    """A double listening on 127.0.0.1 (a free port), for the duration of the block."""
    double = LiveKitMediaDouble()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(double))
    double.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
