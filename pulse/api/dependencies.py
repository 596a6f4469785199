"""FastAPI dependencies giving endpoints what the application factory set up."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from pulse.clients import Clients
from pulse.config import Settings
from pulse.services.application import PulseApplication
from pulse.services.credentials import Digester, digester_of
from pulse.services.provider import ApplicationProvider
from pulse.services.storage_secrets import StorageSecrets


def get_clients(request: Request) -> Clients:
    # Set by the lifespan; app.state is untyped, hence the cast.
    return cast(Clients, request.app.state.clients)


def get_app_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_pulse(request: Request) -> PulseApplication:
    """The event-sourced application (built on first use; see ApplicationProvider)."""
    return cast(ApplicationProvider, request.app.state.pulse).get()


def get_digester(request: Request) -> Digester:
    return digester_of(get_app_settings(request))


def get_storage_secrets(request: Request) -> StorageSecrets:
    return StorageSecrets(get_app_settings(request).storage_secrets_key.get_secret_value())


ClientsDep = Annotated[Clients, Depends(get_clients)]
DigesterDep = Annotated[Digester, Depends(get_digester)]
StorageSecretsDep = Annotated[StorageSecrets, Depends(get_storage_secrets)]
PulseDep = Annotated[PulseApplication, Depends(get_pulse)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
