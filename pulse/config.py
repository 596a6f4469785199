"""Process configuration: every setting comes from ``PULSE_*`` variables or ``.env``.

``.env.example`` documents each variable; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, TypeAdapter, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout holding ``pulse/`` and ``migrations/`` (valid for source and editable installs)."""

_URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "http": ("http://", "https://"),
    "mongodb": ("mongodb://", "mongodb+srv://"),
    "redis": ("redis://", "rediss://", "unix://"),
}


def _scheme_check(kind: str) -> AfterValidator:
    schemes = _URL_SCHEMES[kind]

    def check(value: str) -> str:
        if not value.startswith(schemes):
            msg = f"must start with one of {', '.join(schemes)}"
            raise ValueError(msg)
        # Callers join paths onto these; a trailing slash would double up.
        return value.rstrip("/") if kind == "http" else value

    return AfterValidator(check)


HttpURL = Annotated[str, _scheme_check("http")]
MongoURI = Annotated[str, _scheme_check("mongodb")]
RedisURL = Annotated[str, _scheme_check("redis")]

_ORIGINS = TypeAdapter(list[str])


class Settings(BaseSettings):
    """All of Pulse's settings; construct directly in tests to bypass the environment."""

    model_config = SettingsConfigDict(
        env_prefix="PULSE_",
        env_file=".env",
        env_file_encoding="utf-8",
        # `NAME=` means "use the default", as in .env.example, not "set to empty".
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    environment: Literal["development", "test", "production"] = "development"

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: HttpURL = "http://127.0.0.1:8000"

    # Connection strings may embed credentials, hence repr=False.
    mongo_uri: MongoURI = Field(default="mongodb://127.0.0.1:27017", repr=False)
    mongo_database: str = Field(default="pulse", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    redis_url: RedisURL = Field(default="redis://127.0.0.1:6379/0", repr=False)

    livekit_url: HttpURL = "http://127.0.0.1:7880"
    livekit_api_key: str = "devkey"
    livekit_api_secret: SecretStr = SecretStr("secret")

    eventstore_name: str = Field(default="pulse", pattern=r"^[a-z][a-z0-9_]{0,39}$")
    eventstore_lease_timeout_seconds: float | None = Field(default=None, gt=0)
    eventstore_acquire_timeout_seconds: float | None = Field(default=None, gt=0)
    eventstore_poll_interval_seconds: float | None = Field(default=None, gt=0)
    eventstore_insert_chunk_size: int | None = Field(default=None, gt=0)
    eventstore_create_collections: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    max_request_body_bytes: int = Field(default=1_048_576, ge=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    worker_queue_name: str = "pulse:queue"
    worker_max_jobs: int = Field(default=10, ge=1)
    worker_job_timeout_seconds: float = Field(default=300.0, gt=0)

    migrations_dir: Path = PROJECT_ROOT / "migrations"
    migration_lock_stale_seconds: float = Field(default=300.0, gt=0)
    migration_lock_wait_seconds: float = Field(default=60.0, ge=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # Accept both a JSON list and the friendlier "a,b,c" form in the environment.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return _ORIGINS.validate_json(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def eventstore_environment(settings: Settings) -> dict[str, str]:
    """The eventsourcing library's environment for ``Application(env=...)``.

    Optional tunings are left out when unset so the persistence module's own
    defaults (documented in ``pulse/eventstore/factory.py``) apply.
    """
    env = {
        "PERSISTENCE_MODULE": "pulse.eventstore",
        "MONGO_URI": settings.mongo_uri,
        "MONGO_DATABASE": settings.mongo_database,
        "CREATE_TABLE": "yes" if settings.eventstore_create_collections else "no",
    }
    optional: dict[str, float | int | None] = {
        "MONGO_LEASE_TIMEOUT": settings.eventstore_lease_timeout_seconds,
        "MONGO_ACQUIRE_TIMEOUT": settings.eventstore_acquire_timeout_seconds,
        "MONGO_POLL_INTERVAL": settings.eventstore_poll_interval_seconds,
        "MONGO_INSERT_CHUNK_SIZE": settings.eventstore_insert_chunk_size,
    }
    env.update({key: str(value) for key, value in optional.items() if value is not None})
    return env
