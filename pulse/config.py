"""Process configuration: every setting comes from ``PULSE_*`` variables or ``.env``.

``.env.example`` documents each variable; keep the two in step.
"""

from __future__ import annotations

import json
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    field_validator,
    model_validator,
)
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
_STRINGS = TypeAdapter(list[str])


def _split_list(value: object) -> object:
    """A JSON list or the friendlier "a,b,c" form, as environment variables give them."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return _STRINGS.validate_json(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


# Public placeholders so `make dev` works out of the box; `environment=production`
# refuses to start with them (see ``_no_development_secrets_in_production``).
DEVELOPMENT_ONLY_SECRET = "pulse-development-only-secret-do-not-use-in-production"  # noqa: S105
DEVELOPMENT_ONLY_CIPHER_KEY = "cHVsc2UtZGV2LW9ubHkta2V5LTMyLWJ5dGVzLWxvbmc="


class RegionEndpoint(BaseModel):
    """Where a region's LiveKit is and how Pulse authenticates to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: HttpURL
    api_key: str
    api_secret: SecretStr


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
    # Per-region LiveKit deployments, as JSON: {"eu-west": {"url": ..., "api_key": ...,
    # "api_secret": ...}, ...}. A region left out uses livekit_url and its credentials.
    livekit_regions: Annotated[dict[str, RegionEndpoint], NoDecode] = Field(default_factory=dict)
    token_default_ttl_seconds: int = Field(default=4 * 3600, ge=60)
    token_max_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    region_health_interval_seconds: int = Field(default=30, ge=1)

    # Webhooks to customers (Standard Webhooks): per-attempt timeout, the delays before
    # each retry (modelled on Svix's), their jitter, how long an endpoint may fail every
    # delivery before it is disabled, how much of a response body is kept, and whether
    # endpoints on loopback addresses are allowed (for local receivers; never in production).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_schedule_seconds: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [5, 300, 1800, 7200, 18000, 36000, 36000]
    )
    webhook_retry_jitter: float = Field(default=0.2, ge=0, lt=1)
    webhook_disable_after_seconds: int = Field(default=5 * 86_400, ge=60)
    webhook_response_body_max_bytes: int = Field(default=4096, ge=0, le=65_536)
    webhook_allow_loopback: bool = False

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
    worker_poll_delay_seconds: float = Field(default=0.05, gt=0, le=5)

    migrations_dir: Path = PROJECT_ROOT / "migrations"
    migration_lock_stale_seconds: float = Field(default=300.0, gt=0)
    migration_lock_wait_seconds: float = Field(default=60.0, ge=0)

    # API conventions shared by every route: idempotency keys and rate limits, both
    # kept in Redis under this prefix (pulse/api/idempotency.py, pulse/api/ratelimit.py).
    redis_key_prefix: str = Field(default="pulse:", pattern=r"^[A-Za-z0-9:._-]{0,100}$")
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1)
    idempotency_lease_seconds: float = Field(default=30.0, gt=0)
    idempotency_wait_seconds: float = Field(default=10.0, ge=0)
    idempotency_exempt_prefixes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["/v1/auth/", "/v1/webhooks/livekit"]
    )
    rate_limit_ip_requests: int = Field(default=100, ge=0)
    rate_limit_ip_window_seconds: int = Field(default=60, ge=1)
    rate_limit_project_requests: int = Field(default=1000, ge=0)
    rate_limit_project_window_seconds: int = Field(default=60, ge=1)
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )

    # Security material. The development defaults are public; production refuses them.
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_ONLY_SECRET)
    credential_pepper: SecretStr = SecretStr(DEVELOPMENT_ONLY_SECRET)
    storage_secrets_key: SecretStr = SecretStr(DEVELOPMENT_ONLY_CIPHER_KEY)
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300)
    key_rotation_max_grace_seconds: int = Field(default=7 * 86_400, ge=0)
    api_key_cache_seconds: int = Field(default=60, ge=1, le=3_600)

    # Usage, billing and the audit log.
    usage_gate_cache_seconds: float = Field(default=30.0, ge=0, le=3_600)
    billing_finalize_after_hours: int = Field(default=72, ge=0, le=24 * 31)
    audit_retention_days: int = Field(default=365, ge=1)
    stripe_api_key: SecretStr | None = Field(default=None, repr=False)
    stripe_api_base: str | None = None

    @field_validator("livekit_regions", mode="before")
    @classmethod
    def _regions_from_json(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator("webhook_retry_schedule_seconds", mode="before")
    @classmethod
    def _schedule_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [int(part) for part in text.split(",") if part.strip()]
        return value

    @field_validator("webhook_retry_schedule_seconds")
    @classmethod
    def _positive_delays(cls, value: list[int]) -> list[int]:
        if any(delay < 0 for delay in value):
            raise ValueError("retry delays must not be negative")
        return value

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

    @model_validator(mode="after")
    def _no_development_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            defaults = {DEVELOPMENT_ONLY_SECRET, DEVELOPMENT_ONLY_CIPHER_KEY}
            for name in ("jwt_secret", "credential_pepper", "storage_secrets_key"):
                value: SecretStr = getattr(self, name)
                if value.get_secret_value() in defaults:
                    msg = f"PULSE_{name.upper()} must be set in production"
                    raise ValueError(msg)
            if self.webhook_allow_loopback:
                msg = "PULSE_WEBHOOK_ALLOW_LOOPBACK must not be set in production"
                raise ValueError(msg)
        return self

    @field_validator("idempotency_exempt_prefixes", "trusted_proxies", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("idempotency_exempt_prefixes")
    @classmethod
    def _absolute_prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not prefix.startswith("/"):
                msg = f"path prefixes must start with '/': {prefix!r}"
                raise ValueError(msg)
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
