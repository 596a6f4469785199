"""Query parameters and response shape shared by every list."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import BaseModel

from pulse.api.management_schemas import Page
from pulse.queries import Page as FoundPage

M = TypeVar("M", bound=BaseModel)

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
]


def from_document(document: dict[str, Any]) -> dict[str, Any]:
    """A read-model document as a resource: ``_id`` becomes ``id``."""
    return {"id": document["_id"], **{k: v for k, v in document.items() if k != "_id"}}


def page_of(found: FoundPage, model: type[M]) -> Page[M]:
    return Page[model](  # type: ignore[valid-type]
        items=[model.model_validate(from_document(d)) for d in found.items],
        total=found.total,
        next_cursor=found.next_cursor,
    )
