"""AES-256-GCM encryption of single database fields, bound to their table, column and row.

Blob layout: version (1) | algorithm (1) | data-key id (16) | nonce (12) | ciphertext | tag (16).
Associated data: the 18-byte header, then table, column and row id, each as a 4-byte big-endian length
followed by its UTF-8 bytes. A value copied to another row or column, or under another key id, fails.
"""

from __future__ import annotations

import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.context import FieldContext
from crypto.errors import DecryptionError
from crypto.keys import DataKey

FORMAT_VERSION = 0x01
ALGORITHM_AES_256_GCM = 0x01

VERSION_SIZE = 1
ALGORITHM_SIZE = 1
KEY_ID_SIZE = 16
HEADER_SIZE = VERSION_SIZE + ALGORITHM_SIZE + KEY_ID_SIZE
NONCE_SIZE = 12
TAG_SIZE = 16
LENGTH_PREFIX_SIZE = 4
OVERHEAD = HEADER_SIZE + NONCE_SIZE + TAG_SIZE

_PREFIX = bytes((FORMAT_VERSION, ALGORITHM_AES_256_GCM))
_KEY_ID_START = VERSION_SIZE + ALGORITHM_SIZE
_NONCE_END = HEADER_SIZE + NONCE_SIZE
_urandom = os.urandom


def associated_data(key_id: uuid.UUID, context: FieldContext) -> bytes:
    """The associated data authenticated with a field: header, then the length-prefixed context."""
    return _PREFIX + key_id.bytes + context._encoded


def _bind(key: DataKey) -> tuple[AESGCM, bytes]:
    # DataKey is frozen; this one-time fill of its private cache slot is the only mutation it sees.
    state = (AESGCM(key.material), _PREFIX + key.id.bytes)
    object.__setattr__(key, "_cipher_state", state)
    return state


def _parse_key_id(blob: bytes) -> uuid.UUID:
    if len(blob) < OVERHEAD:
        raise DecryptionError(f"encrypted field is truncated ({len(blob)} bytes, at least {OVERHEAD} needed)")
    if blob[0] != FORMAT_VERSION:
        raise DecryptionError(f"unsupported encrypted-field format version {blob[0]}")
    if blob[1] != ALGORITHM_AES_256_GCM:
        raise DecryptionError(f"unsupported encrypted-field algorithm {blob[1]}")
    return uuid.UUID(bytes=bytes(blob[_KEY_ID_START:HEADER_SIZE]))


def _header_problem(key: DataKey, blob: bytes) -> DecryptionError:
    # Only reached on failure, so it may be slow; it gives operators a precise reason.
    try:
        found = _parse_key_id(blob)
    except DecryptionError as exc:
        return exc
    return DecryptionError(f"field was encrypted under data key {found}, not {key.id}")


class FieldCipher:
    """Stateless field encryption; per-key setup is cached on the `DataKey` itself."""

    @staticmethod
    def encrypt(key: DataKey, plaintext: bytes, context: FieldContext) -> bytes:
        """Encrypt `plaintext` for the field at `context`."""
        aead, header = key._cipher_state or _bind(key)
        nonce = _urandom(NONCE_SIZE)
        return header + nonce + aead.encrypt(nonce, plaintext, header + context._encoded)

    @staticmethod
    def decrypt(key: DataKey, blob: bytes, context: FieldContext) -> bytes:
        """Decrypt a blob made by `encrypt`; any mismatch or tampering raises `DecryptionError`."""
        aead, header = key._cipher_state or _bind(key)
        if len(blob) < OVERHEAD or blob[:HEADER_SIZE] != header:
            raise _header_problem(key, blob)
        try:
            return aead.decrypt(blob[HEADER_SIZE:_NONCE_END], blob[_NONCE_END:], header + context._encoded)
        except InvalidTag:
            raise DecryptionError(
                "encrypted field failed authentication (tampered, or wrong key, table, column or row)"
            ) from None

    @staticmethod
    def encrypt_text(key: DataKey, text: str, context: FieldContext) -> bytes:
        """Encrypt `text` as UTF-8."""
        return FieldCipher.encrypt(key, text.encode("utf-8"), context)

    @staticmethod
    def decrypt_text(key: DataKey, blob: bytes, context: FieldContext) -> str:
        """Decrypt a blob made by `encrypt_text`."""
        data = FieldCipher.decrypt(key, blob, context)
        # Raised outside the except block so the UnicodeDecodeError, which quotes the plaintext bytes,
        # is not attached to our exception as __context__ and cannot reach a log.
        try:
            text: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None:
            raise DecryptionError("decrypted field is not valid UTF-8")
        return text

    @staticmethod
    def key_id_of(blob: bytes) -> uuid.UUID:
        """The data-key id in a blob's header (no decryption, no authentication)."""
        return _parse_key_id(blob)
