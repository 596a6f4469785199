"""``rm_webhook_deliveries`` and ``rm_webhook_attempts``: the delivery log.

One document per delivery (its current state) and one per attempt, ``_id``
``<delivery_id>:<n>`` where ``n`` counts every attempt of the delivery across resends.
Attempt events carry the attempt's number within its round, not ``n``: the handler
reads ``n`` off the delivery's document, under the version guard, so a replayed event
finds the same ``n`` (the delivery's document only moves on once the attempt's is
written) and rewrites the same attempt document.

Beyond the spec's fields the delivery document keeps ``round`` and ``claimed_until``:
the sweeper needs them to re-enqueue a lost attempt under its own job id.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pulse.domain.webhook_delivery import DeliveryStatus, WebhookDelivery, message_id_of
from pulse.projections.collections import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES
from pulse.projections.model import Document, Projection, event_topic
from pulse.projections.writes import change, create, due, text, utc


def attempt_id(delivery_id: str, number: int) -> str:
    return f"{delivery_id}:{number}"


def _created(database: Database[Document], event: Any) -> None:
    at = utc(event.timestamp)
    create(
        database[WEBHOOK_DELIVERIES],
        text(event.originator_id),
        event.originator_version,
        {
            "endpoint_id": text(event.endpoint_id),
            "project_id": text(event.project_id),
            "event_id": text(event.event_id),
            "event_type": event.event_type,
            "message_id": message_id_of(event.originator_id),
            "status": str(DeliveryStatus.PENDING),
            "round": 1,
            "attempts": 0,
            "total_attempts": 0,
            "next_attempt_at": utc(event.first_attempt_at),
            "claimed_until": None,
            "last_status_code": None,
            "last_error": None,
            "occurred_at": utc(event.occurred_at),
            "created_at": at,
            "succeeded_at": None,
            "failed_at": None,
            "updated_at": at,
        },
    )


def _current(database: Database[Document], event: Any) -> Document | None:
    """The delivery's document if this event is still to be applied to it."""
    document = database[WEBHOOK_DELIVERIES].find_one({"_id": text(event.originator_id)})
    return document if due(document, event.originator_version) else None


def _started(database: Database[Document], event: Any) -> None:
    document = _current(database, event)
    if document is None:
        return
    delivery_id = str(document["_id"])
    number = int(document["total_attempts"]) + 1
    attempt = {
        "delivery_id": delivery_id,
        "endpoint_id": document["endpoint_id"],
        "project_id": document["project_id"],
        "attempt": event.attempt,
        "started_at": utc(event.at),
        "finished_at": None,
        "outcome": None,
        "status_code": None,
        "latency_ms": None,
        "error": None,
        "response_body": None,
    }
    # An insert (FerretDB inserts without reading the collection); a replayed event
    # finds its attempt there already and writes the same values again.
    try:
        database[WEBHOOK_ATTEMPTS].insert_one({"_id": attempt_id(delivery_id, number), **attempt})
    except DuplicateKeyError:
        database[WEBHOOK_ATTEMPTS].update_one(
            {"_id": attempt_id(delivery_id, number)}, {"$set": attempt}
        )
    change(
        database[WEBHOOK_DELIVERIES],
        delivery_id,
        event.originator_version,
        {
            "status": str(DeliveryStatus.SENDING),
            "attempts": event.attempt,
            "total_attempts": number,
            "next_attempt_at": None,
            "claimed_until": utc(event.until),
            "updated_at": utc(event.timestamp),
        },
    )


def _finished(database: Database[Document], event: Any, outcome: str, fields: Document) -> None:
    document = _current(database, event)
    if document is None:
        return
    delivery_id = str(document["_id"])
    database[WEBHOOK_ATTEMPTS].update_one(
        {"_id": attempt_id(delivery_id, int(document["total_attempts"]))},
        {
            "$set": {
                "finished_at": utc(event.at),
                "outcome": outcome,
                "status_code": event.status_code,
                "latency_ms": event.latency_ms,
                "error": None if outcome == "succeeded" else event.error,
                "response_body": event.response_body,
            }
        },
    )
    change(
        database[WEBHOOK_DELIVERIES],
        delivery_id,
        event.originator_version,
        {
            **fields,
            "claimed_until": None,
            "last_status_code": event.status_code,
            "updated_at": utc(event.timestamp),
        },
    )


def _succeeded(database: Database[Document], event: Any) -> None:
    _finished(
        database,
        event,
        "succeeded",
        {
            "status": str(DeliveryStatus.SUCCEEDED),
            "last_error": None,
            "succeeded_at": utc(event.at),
        },
    )


def _failed(database: Database[Document], event: Any) -> None:
    final = event.next_attempt_at is None
    _finished(
        database,
        event,
        "failed",
        {
            "status": str(DeliveryStatus.FAILED if final else DeliveryStatus.PENDING),
            "last_error": event.error,
            "next_attempt_at": utc(event.next_attempt_at),
            **({"failed_at": utc(event.at)} if final else {}),
        },
    )


def _abandoned(database: Database[Document], event: Any) -> None:
    change(
        database[WEBHOOK_DELIVERIES],
        text(event.originator_id),
        event.originator_version,
        {
            "status": str(DeliveryStatus.FAILED),
            "next_attempt_at": None,
            "claimed_until": None,
            "last_error": event.reason,
            "failed_at": utc(event.at),
            "updated_at": utc(event.timestamp),
        },
    )


def _resent(database: Database[Document], event: Any) -> None:
    document = _current(database, event)
    if document is None:
        return
    change(
        database[WEBHOOK_DELIVERIES],
        str(document["_id"]),
        event.originator_version,
        {
            "status": str(DeliveryStatus.PENDING),
            "round": int(document.get("round", 1)) + 1,
            "attempts": 0,
            "next_attempt_at": utc(event.at),
            "claimed_until": None,
            "succeeded_at": None,
            "failed_at": None,
            "updated_at": utc(event.timestamp),
        },
    )


PROJECTION = Projection(
    name="webhook_deliveries",
    collections=(WEBHOOK_DELIVERIES, WEBHOOK_ATTEMPTS),
    handlers={
        event_topic(WebhookDelivery, "Created"): _created,
        event_topic(WebhookDelivery, "AttemptStarted"): _started,
        event_topic(WebhookDelivery, "AttemptSucceeded"): _succeeded,
        event_topic(WebhookDelivery, "AttemptFailed"): _failed,
        event_topic(WebhookDelivery, "Abandoned"): _abandoned,
        event_topic(WebhookDelivery, "Resent"): _resent,
    },
)
