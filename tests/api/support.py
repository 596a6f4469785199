"""The application under test, with test-only routes for the error paths."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from pulse.api.app import create_app
from pulse.config import Settings
from pulse.logging import get_logger


def build_app(settings: Settings) -> FastAPI:
    application = create_app(settings)
    add_test_routes(application)
    return application


@contextmanager
def app_client(app_or_settings: FastAPI | Settings) -> Iterator[TestClient]:
    app = app_or_settings if isinstance(app_or_settings, FastAPI) else build_app(app_or_settings)
    # As a context manager, so the lifespan opens (and then closes) the clients.
    with TestClient(app) as client:
        yield client


class Item(BaseModel):
    name: str = Field(min_length=1)
    quantity: int = Field(ge=1)


def add_test_routes(application: FastAPI) -> None:
    @application.get("/_test/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @application.get("/_test/search")
    async def search(limit: Annotated[int, Query(ge=1, le=100)]) -> dict[str, int]:
        return {"limit": limit}

    @application.post("/_test/items")
    async def create_item(item: Item) -> Item:
        return item

    @application.get("/_test/log")
    async def log_something() -> dict[str, str]:
        get_logger("tests.api").info("inside_endpoint", note="hello")
        return {"logged": "yes"}
