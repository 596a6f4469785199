from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from pulse.config import PROJECT_ROOT, Settings, eventstore_environment, get_settings
from pulse.projections.options import ProjectionSettings
from pulse.services.delivery_log import ReplaySettings
from pulse.services.reconciliation import ReconciliationSettings


@pytest.fixture(autouse=True)
def no_pulse_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PULSE_"):
            monkeypatch.delenv(key)


def test_defaults_match_the_local_services() -> None:
    settings = Settings(_env_file=None)

    assert settings.environment == "development"
    assert (settings.api_host, settings.api_port) == ("127.0.0.1", 8000)
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert settings.mongo_uri == "mongodb://127.0.0.1:27017"
    assert settings.mongo_database == "pulse"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.livekit_url == "http://127.0.0.1:7880"
    assert settings.livekit_api_key == "devkey"
    assert settings.livekit_api_secret.get_secret_value() == "secret"
    assert (settings.log_level, settings.log_format) == ("INFO", "json")
    assert settings.cors_origins == []
    assert settings.eventstore_name == "pulse"
    assert settings.readiness_timeout_seconds == 2.0
    assert settings.migrations_dir == PROJECT_ROOT / "migrations"


def test_environment_variables_use_the_pulse_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_API_PORT", "9001")
    monkeypatch.setenv("PULSE_LOG_LEVEL", "debug")
    monkeypatch.setenv("PULSE_LIVEKIT_API_SECRET", "s3cr3t")
    monkeypatch.setenv("PULSE_CORS_ORIGINS", "https://a.example, https://b.example")

    settings = Settings(_env_file=None)

    assert settings.api_port == 9001
    assert settings.log_level == "DEBUG"
    assert settings.livekit_api_secret.get_secret_value() == "s3cr3t"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


def test_cors_origins_also_accept_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_CORS_ORIGINS", '["https://a.example"]')

    assert Settings(_env_file=None).cors_origins == ["https://a.example"]


def test_a_dotenv_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PULSE_MONGO_DATABASE=from_dotenv\nPULSE_ENVIRONMENT=test\n")

    settings = Settings(_env_file=env_file)

    assert settings.mongo_database == "from_dotenv"
    assert settings.environment == "test"


@pytest.mark.parametrize("field", ["jwt_secret", "credential_pepper", "storage_secrets_key"])
def test_production_refuses_the_public_development_secrets(field: str) -> None:
    real = {
        "jwt_secret": "j" * 40,
        "credential_pepper": "p" * 40,
        "storage_secrets_key": "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=",
    }
    del real[field]

    with pytest.raises(ValueError, match=f"PULSE_{field.upper()} must be set in production"):
        Settings(_env_file=None, environment="production", **real)

    assert Settings(_env_file=None, environment="production", **{field: "x" * 40}, **real)


def test_secrets_and_connection_strings_stay_out_of_repr() -> None:
    settings = Settings(
        _env_file=None,
        livekit_api_secret="top-secret",
        mongo_uri="mongodb://user:mongo-pw@db:27017",
        redis_url="redis://:redis-pw@cache:6379/0",
    )

    text = repr(settings) + str(settings)
    for secret in ("top-secret", "mongo-pw", "redis-pw"):
        assert secret not in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mongo_uri", "postgres://x"),
        ("redis_url", "http://x"),
        ("livekit_url", "ws://x"),
        ("environment", "staging"),
        ("log_format", "xml"),
        ("api_port", 0),
        ("eventstore_name", "Bad-Name"),
        ("readiness_timeout_seconds", 0),
    ],
)
def test_invalid_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **{field: value})


def test_urls_lose_a_trailing_slash() -> None:
    settings = Settings(_env_file=None, livekit_url="http://lk:7880/")

    assert settings.livekit_url == "http://lk:7880"


def test_get_settings_is_cached() -> None:
    get_settings.cache_clear()
    try:
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


def test_eventstore_environment_selects_the_mongo_persistence_module() -> None:
    settings = Settings(_env_file=None, mongo_uri="mongodb://db:27017", mongo_database="events_db")

    assert eventstore_environment(settings) == {
        "PERSISTENCE_MODULE": "pulse.eventstore",
        "MONGO_URI": "mongodb://db:27017",
        "MONGO_DATABASE": "events_db",
        "CREATE_TABLE": "yes",
    }


def test_eventstore_environment_passes_tunings_only_when_set() -> None:
    settings = Settings(
        _env_file=None,
        eventstore_lease_timeout_seconds=3,
        eventstore_acquire_timeout_seconds=20.5,
        eventstore_poll_interval_seconds=0.05,
        eventstore_insert_chunk_size=100,
        eventstore_create_collections=False,
    )

    env = eventstore_environment(settings)

    assert env["MONGO_LEASE_TIMEOUT"] == "3.0"
    assert env["MONGO_ACQUIRE_TIMEOUT"] == "20.5"
    assert env["MONGO_POLL_INTERVAL"] == "0.05"
    assert env["MONGO_INSERT_CHUNK_SIZE"] == "100"
    assert env["CREATE_TABLE"] == "no"


ENV_EXAMPLE = PROJECT_ROOT / ".env.example"


def test_env_example_documents_every_setting() -> None:
    documented = {
        line.split("=", 1)[0].removeprefix("PULSE_").lower()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.startswith("PULSE_")
    }

    runner = {f"projections_{name}" for name in ProjectionSettings.model_fields}
    reconciliation = {f"reconciliation_{name}" for name in ReconciliationSettings.model_fields}
    replay = {f"webhook_replay_{name}" for name in ReplaySettings.model_fields}
    assert documented == set(Settings.model_fields) | runner | reconciliation | replay


def test_env_example_as_a_dotenv_gives_the_defaults() -> None:
    assert Settings(_env_file=ENV_EXAMPLE) == Settings(_env_file=None)
