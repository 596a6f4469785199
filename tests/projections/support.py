"""Helpers for comparing read models and for building variant projections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bson import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.database import Database

from pulse.projections.model import Document, Handler, Projection
from pulse.projections.registry import PROJECTIONS

READ_MODELS = tuple(name for projection in PROJECTIONS for name in projection.collections)


def raw_documents(database: Database[Document], collection: str) -> list[bytes]:
    """The documents exactly as stored (field order and types included), by ``_id``."""
    raw = database.get_collection(
        collection, codec_options=CodecOptions(document_class=RawBSONDocument)
    )
    return [document.raw for document in raw.find().sort("_id")]


def snapshot(database: Database[Document]) -> dict[str, list[bytes]]:
    return {name: raw_documents(database, name) for name in READ_MODELS}


def wrapped(projection: Projection, wrap: Callable[[Handler], Handler]) -> Projection:
    """The same projection (same name, same collections) with every handler wrapped."""
    return replace(
        projection, handlers={topic: wrap(h) for topic, h in projection.handlers.items()}
    )


class CrashError(Exception):
    """Raised by a test handler to stand for a runner dying mid-page."""


def crashing_after(count: int) -> Callable[[Handler], Handler]:
    """Handlers that apply ``count`` events, then raise on the next one (once)."""
    state = {"calls": 0}

    def wrap(handler: Handler) -> Handler:
        def handle(database: Database[Document], event: Any) -> None:
            state["calls"] += 1
            if state["calls"] == count + 1:
                raise CrashError(f"crash before event {state['calls']}")
            handler(database, event)

        return handle

    return wrap
