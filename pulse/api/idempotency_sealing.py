"""Encryption of the answers kept for idempotent replays.

A replay must give back exactly what the first request got, including secrets shown
once (a new key's ``sk_...``, an invitation token). Those answers sit in Redis for a
day, so they are sealed with AES-GCM under a key derived from the server's pepper
and the client's own Idempotency-Key. Redis holds only a hash of that key: what it
stores cannot be read without both the pepper and the key only the client knows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from Crypto.Cipher import AES

_NONCE_BYTES = 12
_TAG_BYTES = 16


class ResponseSealer:
    def __init__(self, pepper: bytes, caller: str, idempotency_key: str) -> None:
        material = b"\0".join((b"pulse-idempotency-v1", caller.encode(), idempotency_key.encode()))
        self._key = hmac.new(pepper, material, hashlib.sha256).digest()

    def seal(self, plaintext: bytes) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        ciphertext, tag = cipher.encrypt_and_digest(plaintext)
        return base64.b64encode(nonce + tag + ciphertext).decode("ascii")

    def open(self, sealed: str) -> bytes:
        """The plaintext; ``ValueError`` if it was not sealed under this key."""
        raw = base64.b64decode(sealed)
        nonce, tag = raw[:_NONCE_BYTES], raw[_NONCE_BYTES : _NONCE_BYTES + _TAG_BYTES]
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        return cipher.decrypt_and_verify(raw[_NONCE_BYTES + _TAG_BYTES :], tag)
