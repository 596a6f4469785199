"""Request and response bodies of the webhook endpoint routes and the event catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from pulse.api.management_schemas import Input
from pulse.domain.webhook_endpoint import MAX_EVENT_TYPES
from pulse.outbound.guard import MAX_URL_LENGTH
from pulse.services.webhook_endpoints import MAX_DESCRIPTION

Url = Field(
    min_length=1,
    max_length=MAX_URL_LENGTH,
    description="Where deliveries are POSTed: https (http outside production), a public address.",
)


class WebhookEndpointCreate(Input):
    url: str = Url
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    event_types: list[str] = Field(default_factory=list, max_length=MAX_EVENT_TYPES)


class WebhookEndpointUpdate(Input):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"url"})
    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    event_types: list[str] | None = Field(default=None, max_length=MAX_EVENT_TYPES)


class WebhookRotate(Input):
    grace_seconds: int = Field(
        default=86_400,
        ge=0,
        description=(
            "How long the previous secret also signs deliveries (0: stops now); capped "
            "by the server's maximum key-rotation grace."
        ),
    )


class WebhookEndpointOut(BaseModel):
    id: str
    project_id: str
    url: str
    description: str
    event_types: list[str] = Field(description="Empty: every event type.")
    enabled: bool
    disabled_by: Literal["user", "gone", "failing"] | None = Field(
        description="Who disabled it: a user, the receiver (`410 Gone`), or failing too long."
    )
    disabled_reason: str | None
    failing_since: datetime | None = Field(
        description="Start of the current run of failed attempts (reset by a success)."
    )
    created_at: datetime
    updated_at: datetime


class IssuedWebhookEndpointOut(WebhookEndpointOut):
    secret: str = Field(
        description="The signing secret (`whsec_…`). Shown in this response only, never again."
    )


class EventTypeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    version: int
    description: str
    data_schema: dict[str, Any] = Field(
        alias="schema", description="JSON Schema (draft 2020-12) of the payload's `data`."
    )


class EventCatalogOut(BaseModel):
    items: list[EventTypeOut]
