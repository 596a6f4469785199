"""Webhook signing secrets: ``whsec_`` + base64 of 32 random bytes (Standard Webhooks).

Pulse must sign every later delivery with the secret, so unlike API keys (kept as a
digest) it is kept sealed with AES-GCM under ``storage_secrets_key`` in the events,
shown in plain once (at creation or rotation), and opened only by the sender.
"""

from __future__ import annotations

import base64
import secrets

from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

from pulse.config import Settings

PREFIX = "whsec_"
SECRET_BYTES = 32
_MARK = "whsec-enc:v1:"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class WebhookSecrets:
    def __init__(self, settings: Settings) -> None:
        key = settings.storage_secrets_key.get_secret_value()
        self._cipher = AESCipher(Environment(env={AESCipher.CIPHER_KEY: key}))

    def seal(self, secret: str) -> str:
        ciphertext = self._cipher.encrypt(secret.encode())
        return _MARK + base64.b64encode(ciphertext).decode()

    def open(self, sealed: str) -> str:
        if not sealed.startswith(_MARK):
            raise ValueError("Not a sealed webhook secret")
        return self._cipher.decrypt(base64.b64decode(sealed[len(_MARK) :])).decode()
