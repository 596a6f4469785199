"""Encryption of the storage credentials customers give Pulse for their recordings.

Unlike API secrets (which Pulse only needs to recognise, so it keeps a digest), the
secret access key of a customer's bucket must be usable later by egress, so it is
kept encrypted (AES-GCM, via the eventsourcing library's cipher) in the events and
never shown again; read models only learn whether one is set.
"""

from __future__ import annotations

import base64
from typing import Any

from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

SECRET_FIELD = "secret_access_key"  # noqa: S105 (a field name)
_MARK = "enc:v1:"


class StorageSecrets:
    def __init__(self, key_base64: str) -> None:
        self._cipher = AESCipher(Environment(env={AESCipher.CIPHER_KEY: key_base64}))

    def seal(self, storage: dict[str, Any] | None) -> dict[str, Any] | None:
        """The storage config with its secret replaced by its ciphertext."""
        if storage is None or not storage.get(SECRET_FIELD):
            return storage
        plaintext = str(storage[SECRET_FIELD]).encode()
        ciphertext = base64.b64encode(self._cipher.encrypt(plaintext)).decode()
        return {**storage, SECRET_FIELD: _MARK + ciphertext}

    def open(self, storage: dict[str, Any] | None) -> dict[str, Any] | None:
        """The storage config with its secret decrypted, for the code that uses it."""
        if storage is None or not str(storage.get(SECRET_FIELD, "")).startswith(_MARK):
            return storage
        ciphertext = base64.b64decode(str(storage[SECRET_FIELD])[len(_MARK) :])
        return {**storage, SECRET_FIELD: self._cipher.decrypt(ciphertext).decode()}


def public_storage(storage: dict[str, Any] | None) -> dict[str, Any] | None:
    """What may be shown: everything but the secret, and whether one is set."""
    if storage is None:
        return None
    shown = {k: v for k, v in storage.items() if k != SECRET_FIELD}
    return {**shown, "has_secret_access_key": bool(storage.get(SECRET_FIELD))}
