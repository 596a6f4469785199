"""The network clients a Pulse process holds for its lifetime (API and worker alike)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from arq.connections import ArqRedis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from pulse.config import Settings
from pulse.livekit.gateway import LiveKitGateway

# Bounded so a request waiting on an unreachable server fails instead of hanging
# for PyMongo's default 30 s; readiness applies its own, shorter, timeout on top.
MONGO_SERVER_SELECTION_TIMEOUT_MS = 5_000
LIVEKIT_HTTP_TIMEOUT = httpx.Timeout(10.0)
REDIS_SOCKET_TIMEOUT_SECONDS = 5.0

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Clients:
    mongo: AsyncMongoClient[Document]
    database: AsyncDatabase[Document]
    redis: Redis
    livekit_http: httpx.AsyncClient
    arq: ArqRedis
    """Enqueues worker jobs on ``PULSE_WORKER_QUEUE_NAME``; shares ``redis``' connections."""
    livekit: LiveKitGateway
    """LiveKit's server APIs, one client per region (rooms, egress, ingress)."""


@asynccontextmanager
async def open_clients(settings: Settings, *, app_name: str) -> AsyncIterator[Clients]:
    """Open every client; on exit close them all, even if closing one fails.

    None of the constructors does I/O, so a process starts even when a dependency is
    down; the readiness probe is what reports that.
    """
    async with AsyncExitStack() as stack:
        mongo: AsyncMongoClient[Document] = AsyncMongoClient(
            settings.mongo_uri,
            appname=app_name,
            tz_aware=True,
            uuidRepresentation="standard",
            serverSelectionTimeoutMS=MONGO_SERVER_SELECTION_TIMEOUT_MS,
        )
        stack.push_async_callback(mongo.close)
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
            client_name=app_name,
        )
        stack.push_async_callback(redis.aclose)
        # Built on redis' own pool, which it closes: no second set of connections.
        arq = ArqRedis(redis.connection_pool, default_queue_name=settings.worker_queue_name)
        livekit_http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=settings.livekit_url, timeout=LIVEKIT_HTTP_TIMEOUT)
        )
        livekit = LiveKitGateway(settings)
        stack.push_async_callback(livekit.aclose)
        yield Clients(
            mongo=mongo,
            database=mongo.get_database(settings.mongo_database),
            redis=redis,
            livekit_http=livekit_http,
            arq=arq,
            livekit=livekit,
        )
