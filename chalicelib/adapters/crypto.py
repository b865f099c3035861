"""Personal data at rest: envelope encryption under the KMS key, and blind indexes.

``FieldCipher`` encrypts each field with AES-256-GCM under a data key that KMS generates
and wraps; the wrapped key travels with the ciphertext, so KMS is called once per data
key (rotated hourly) to encrypt and once per distinct wrapped key to decrypt. The field's
name is bound as associated data, so a ciphertext cannot be moved to another field.

``KeyRing`` holds the keys derived (HKDF-SHA256) from the application master secret:
one for access tokens, one for blind indexes (keyed hashes used to look a phone number
or an ID number up without storing it in clear), one for one-time-code hashes, one for
signing list cursors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_ENCRYPTION_CONTEXT = {"app": "member-points", "purpose": "field-encryption"}


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


@dataclass(frozen=True)
class KeyRing:
    key_version: str
    token_key: bytes
    blind_index_key: bytes
    otp_key: bytes
    cursor_key: bytes

    @classmethod
    def from_master(cls, master_key: str, key_version: str = "1") -> KeyRing:
        master = master_key.encode()
        return cls(
            key_version=key_version,
            token_key=_derive(master, "access-token"),
            blind_index_key=_derive(master, "blind-index"),
            otp_key=_derive(master, "one-time-code"),
            cursor_key=_derive(master, "list-cursor"),
        )

    def blind_index(self, kind: str, normalized_value: str) -> str:
        """A keyed hash for equality look-ups; the same value always gives the same index."""
        digest = hmac.new(self.blind_index_key, f"{kind}:{normalized_value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:40]


class FieldCipher:
    """AES-256-GCM field encryption under KMS-generated data keys."""

    def __init__(self, kms_client: Any, key_id: str, data_key_uses: int = 100_000) -> None:
        self._kms = kms_client
        self._key_id = key_id
        self._data_key_uses = data_key_uses
        self._lock = threading.Lock()
        self._current: tuple[bytes, bytes] | None = None  # (plaintext key, wrapped key)
        self._uses = 0
        self._unwrapped: OrderedDict[bytes, bytes] = OrderedDict()

    def _data_key(self) -> tuple[bytes, bytes]:
        with self._lock:
            if self._current is None or self._uses >= self._data_key_uses:
                response = self._kms.generate_data_key(
                    KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=_ENCRYPTION_CONTEXT
                )
                self._current = (response["Plaintext"], response["CiphertextBlob"])
                self._remember(response["CiphertextBlob"], response["Plaintext"])
                self._uses = 0
            self._uses += 1
            return self._current

    def _remember(self, wrapped: bytes, plain: bytes) -> None:
        self._unwrapped[wrapped] = plain
        self._unwrapped.move_to_end(wrapped)
        while len(self._unwrapped) > 256:
            self._unwrapped.popitem(last=False)

    def _unwrap(self, wrapped: bytes) -> bytes:
        with self._lock:
            plain = self._unwrapped.get(wrapped)
        if plain is None:
            plain = self._kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=_ENCRYPTION_CONTEXT)["Plaintext"]
            with self._lock:
                self._remember(wrapped, plain)
        return plain

    def encrypt(self, plaintext: str, *, field: str) -> str:
        key, wrapped = self._data_key()
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), field.encode())
        return ".".join((_VERSION, base64.b64encode(wrapped).decode(), base64.b64encode(nonce + sealed).decode()))

    def decrypt(self, token: str, *, field: str) -> str:
        version, wrapped_b64, sealed_b64 = token.split(".")
        if version != _VERSION:
            raise ValueError(f"unknown ciphertext version {version!r}")
        sealed = base64.b64decode(sealed_b64)
        key = self._unwrap(base64.b64decode(wrapped_b64))
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], field.encode()).decode()
